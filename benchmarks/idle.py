"""Where a run leaves cores idle: ``python -m benchmarks.idle [--jobs N] [--runs K]``.

Runs ``asyncrender render -j N`` on N cores over the corpus five times (6,000 formulas in 150
papers, every copy typeset, everything in ``/dev/shm``), sampling each of those cores' idle time in
``/proc/stat`` every 0.1 s. Prints, per run: the wall time, the CPU of the run and everything it
started (``getrusage`` of the reaped children: the CLI forks its workers, so they and their TeX
are among them), and the idle core-seconds in the first 0.2 s, in the last 0.2 s and in between.
What BENCHMARKS.md section 8 (round 5) says about row 2 rests on it. Linux only; needs TeX and
``../shared/corpus``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks import tex_corpus
from benchmarks.common import console_script, use_cores

TICK = os.sysconf("SC_CLK_TCK")


def _idle(cores: list[int]) -> float:
    """Seconds the ``cores`` have been idle (idle + iowait) since boot."""
    total = 0
    with open("/proc/stat") as stat:
        for line in stat:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cores:
                total += int(fields[3]) + int(fields[4])
    return total / TICK


def _run(cmd: list[str], cores: list[int]) -> tuple[float, float, list[tuple[float, float]]]:
    """Wall seconds, CPU seconds of the run's processes, and (time, idle so far) samples."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start, idle0 = time.perf_counter(), _idle(cores)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    samples = [(0.0, 0.0)]
    while proc.poll() is None:
        time.sleep(0.1)
        samples.append((time.perf_counter() - start, _idle(cores) - idle0))
    wall = time.perf_counter() - start
    samples.append((wall, _idle(cores) - idle0))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, samples


def _idle_between(samples: list[tuple[float, float]], start: float, end: float) -> float:
    """Idle core-seconds between two moments, from the nearest samples at or after them."""
    def at(t: float) -> float:
        return next((idle for when, idle in samples if when >= t), samples[-1][1])

    return at(end) - at(start)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    use_cores(args.jobs)
    cores = sorted(os.sched_getaffinity(0))
    work = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        formulas = tex_corpus.load_corpus()
        listing = tex_corpus.write_repeated(formulas, work, 5)
        (work / "noshare.toml").write_text(tex_corpus.NO_SHARING)
        for k in range(args.runs):
            shutil.rmtree(work / "cache", ignore_errors=True)
            shutil.rmtree(work / "out", ignore_errors=True)
            wall, cpu, samples = _run([*console_script(), "render", str(listing), "-c", str(work / "cache"),
                                       "-o", str(work / "out"), "-j", str(args.jobs), "--quiet",
                                       "--config", str(work / "noshare.toml")], cores)
            first = _idle_between(samples, 0, 0.2)
            last = _idle_between(samples, wall - 0.2, wall)
            middle = samples[-1][1] - first - last
            print(f"run {k + 1}, -j {args.jobs} on {len(cores)} cores: {wall:.3f} s, CPU {cpu:.2f} s "
                  f"({cpu / wall / len(cores):.0%} of the cores); idle core-seconds: first 0.2 s {first:.2f}, "
                  f"between {middle:.2f}, last 0.2 s {last:.2f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
