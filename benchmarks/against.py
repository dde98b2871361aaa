"""This checkout against another, in pairs: ``python -m benchmarks.against DIR [--jobs N] [--pairs K]
[--tripled]``, or the orchestrator alone with ``--orchestrator``.

DIR is another source tree of asyncrender (``git archive <commit> | tar -x -C DIR``, then
``python -m compileall -q DIR/asyncrender``). Each pair renders the shared corpus five times over
(6,000 formulas in 150 papers), every copy typeset (``run.share_images = false``), or with
``--tripled`` row 3's corpus (``benchmarks.perf``: 1,197 formulas three times each, as shipped),
inputs, cache and output in ``/dev/shm`` (so that the disk's file creation cost is not measured),
with the installed ``asyncrender render -j N`` on N cores: this tree, then DIR (``PYTHONPATH``
picks the tree). Prints each pair and the median of the ratios. Needs TeX and ``../shared/corpus``.

``--orchestrator``: each side runs ``benchmarks.common.render_listing`` with the no-work runner
(``benchmarks.null_runner``, this tree's) over 20,000 one-item files on tmpfs in a process of its
own whose ``asyncrender`` is that side's: once to fill the cache, once more (timed: files/s), then
``--resume`` (timed). Prints each pair and the medians of both ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import tex_corpus
from benchmarks.common import console_script

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 5


def _render(tree: Path, work: Path, listing: Path, jobs: int, n: int, config: Path) -> float:
    """Formulas/s of one whole ``asyncrender render`` run from the source tree ``tree``."""
    shutil.rmtree(work / "cache", ignore_errors=True)
    shutil.rmtree(work / "out", ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([*console_script(), "render", str(listing), "-c", str(work / "cache"), "-o", str(work / "out"),
                    "-j", str(jobs), "--quiet", "--config", str(config)],
                   check=True, env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tempfile.gettempdir(),
                   stdout=subprocess.DEVNULL)
    return n / (time.perf_counter() - start)


# One side of --orchestrator, run as ``python -c`` with PYTHONPATH = that side's tree: asyncrender
# is imported from there first; this tree's benchmarks come after (their asyncrender imports then
# find the package already loaded, and its submodules in its own folder).
_ORCHESTRATOR_SIDE = """
import functools, json, shutil, sys, tempfile
from pathlib import Path
import anyio, asyncrender
sys.path.insert(0, {root!r})
from benchmarks.common import render_listing, write_extracted_corpus
work = Path(tempfile.mkdtemp(dir="/dev/shm"))
try:
    listing = write_extracted_corpus(work / "in", 20_000, 1, ["x"])
    run = functools.partial(render_listing, listing, work / "cache", work / "out", 2, null=True)
    anyio.run(run)
    second = anyio.run(run)
    resume = anyio.run(functools.partial(run, resume=True))
    print(json.dumps([second["files"] / second["seconds"], resume["skipped"] / resume["seconds"]]))
finally:
    shutil.rmtree(work, ignore_errors=True)
"""


def _orchestrator(tree: Path) -> tuple[float, float]:
    """(second run, --resume) files/s of the orchestrator alone, with ``tree``'s asyncrender."""
    out = subprocess.run([sys.executable, "-c", _ORCHESTRATOR_SIDE.format(root=str(ROOT))], check=True,
                         env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
                         cwd=tempfile.gettempdir())  # not a checkout: "-c" puts the cwd first on sys.path
    second, resume = json.loads(out.stdout.splitlines()[-1])
    return float(second), float(resume)


def _compare_orchestrators(against: Path, pairs: int) -> None:
    runs, resumes = [], []
    for k in range(pairs):
        (a, a_resume), (b, b_resume) = _orchestrator(ROOT), _orchestrator(against)
        runs.append(a / b)
        resumes.append(a_resume / b_resume)
        print(f"pair {k + 1}: second run {a:,.0f} vs {b:,.0f} files/s; --resume {a_resume:,.0f} vs "
              f"{b_resume:,.0f}", flush=True)
    print(f"median ratios: second run {statistics.median(runs):.3f}, --resume {statistics.median(resumes):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("against", type=Path, help="the other source tree")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--orchestrator", action="store_true", help="the orchestrator alone (no TeX)")
    ap.add_argument("--tripled", action="store_true", help="row 3's corpus: each formula three times, shared")
    args = ap.parse_args()
    if args.orchestrator:
        _compare_orchestrators(args.against, args.pairs)
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.jobs]))
    work = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        formulas = tex_corpus.load_corpus()
        config = work / "settings.toml"
        if args.tripled:
            items = tex_corpus.tripled(formulas, REPEAT * len(formulas) // 3)
            (work / "in").mkdir()
            listing = tex_corpus.write_papers(items, work / "in")
            config.write_text("")
            n = len(items)
        else:
            listing = tex_corpus.write_repeated(formulas, work, REPEAT)
            config.write_text(tex_corpus.NO_SHARING)
            n = REPEAT * len(formulas)
        ratios = []
        for k in range(args.pairs):
            a = _render(ROOT, work, listing, args.jobs, n, config)
            b = _render(args.against, work, listing, args.jobs, n, config)
            ratios.append(a / b)
            print(f"pair {k + 1}: this tree {a:,.0f} formulas/s, {args.against} {b:,.0f}: {a / b:.3f}", flush=True)
        print(f"median ratio {statistics.median(ratios):.3f} (-j {args.jobs}, {n:,} formulas)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
