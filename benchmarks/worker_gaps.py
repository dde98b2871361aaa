"""Do the workers wait for the orchestrator? ``python -m benchmarks.worker_gaps [--jobs 2] [--repeat 20]``.

Renders the shared corpus ``--repeat`` times over (every copy typeset, in ``/dev/shm``) with the
real latex backend through ``AsyncRenderer`` and a ``LocalPoolRunner`` whose job function also
notes when each job began and ended in its worker. Prints, per worker, its jobs, the time they took,
and the gaps between one job's end and the next one's start: the time the worker had nothing to
do while the run went on (BENCHMARKS.md section 8, round 4). Needs TeX and ``../shared/corpus``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import anyio

from asyncrender.config import Config, RunSettings
from asyncrender.executors.local_pool import LocalPoolRunner
from asyncrender.inputs.filelist import read_file_list
from asyncrender.model import FileOutcome, RenderJob
from asyncrender.run.renderer import AsyncRenderer
from benchmarks import tex_corpus

_TIMES = "ASYNCRENDER_BENCH_JOB_TIMES"  # the file each worker appends "pid start end" lines to


def timed_render_job(job: RenderJob) -> list[FileOutcome]:
    """``render_job``, noting the job's start and end (module level: workers import it by name)."""
    from asyncrender.worker.process import render_job

    start = time.time()
    outcomes = render_job(job)
    with open(os.environ[_TIMES], "a") as f:
        f.write(f"{os.getpid()} {start:.6f} {time.time():.6f}\n")
    return outcomes


async def _render(listing: Path, work: Path, jobs: int) -> float:
    runner = LocalPoolRunner(jobs, render=timed_render_job)
    config = Config(run=RunSettings(share_images=False))
    start = time.perf_counter()
    async with AsyncRenderer(work / "cache", work / "out", jobs, config=config, runner=runner) as r:
        async for _ in r.render_listed(read_file_list(listing)):
            pass
    seconds = time.perf_counter() - start
    await runner.aclose()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.worker_gaps", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        listing = tex_corpus.write_repeated(tex_corpus.load_corpus(), work, args.repeat)
        os.environ[_TIMES] = str(work / "times.txt")  # the workers inherit it
        seconds = anyio.run(_render, listing, work, args.jobs)
        spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for line in (work / "times.txt").read_text().splitlines():
            pid, start, end = line.split()
            spans[pid].append((float(start), float(end)))
        print(f"{args.repeat * 1200:,} formulas, -j {args.jobs}: {seconds:.2f} s from the renderer's start to its end")
        for pid, jobs in sorted(spans.items()):
            jobs.sort()
            gaps = [b[0] - a[1] for a, b in itertools.pairwise(jobs)]
            print(f"worker {pid}: {len(jobs)} jobs, {sum(e - s for s, e in jobs):.2f} s in them; gaps between "
                  f"jobs {sum(gaps) * 1000:.0f} ms in all, the longest {max(gaps, default=0) * 1000:.1f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
