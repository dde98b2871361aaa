"""End to end, this checkout against another: ``python -m benchmarks.against DIR [--jobs N] [--pairs K]``.

DIR is another source tree of asyncrender (``git archive <commit> | tar -x -C DIR``, then
``python -m compileall -q DIR/asyncrender``). Each pair renders the shared corpus five times over
(6,000 formulas in 150 papers), every copy typeset (``run.share_images = false``), inputs, cache
and output in ``/dev/shm`` (so that the disk's file creation cost is not measured), with
``python -m asyncrender render -j N`` on N cores: this tree, then DIR (``PYTHONPATH`` picks the
tree). Prints each pair and the median of the ratios. Needs TeX and ``../shared/corpus``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import tex_corpus

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 5


def _render(tree: Path, work: Path, listing: Path, jobs: int, n: int) -> float:
    """Formulas/s of one whole ``asyncrender render`` run from the source tree ``tree``."""
    shutil.rmtree(work / "cache", ignore_errors=True)
    shutil.rmtree(work / "out", ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "asyncrender", "render", str(listing), "-c", str(work / "cache"),
                    "-o", str(work / "out"), "-j", str(jobs), "--quiet", "--config", str(work / "noshare.toml")],
                   check=True, env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tempfile.gettempdir(),
                   stdout=subprocess.DEVNULL)
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("against", type=Path, help="the other source tree")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=4)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.jobs]))
    work = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        formulas = tex_corpus.load_corpus()
        lists = []
        for r in range(REPEAT):
            (work / f"copy{r}").mkdir()
            lists.append(tex_corpus.write_papers(formulas, work / f"copy{r}").read_text())
        listing = work / "all.lst"
        listing.write_text("".join(lists))
        (work / "noshare.toml").write_text("[run]\nshare_images = false\n")
        n = REPEAT * len(formulas)
        ratios = []
        for k in range(args.pairs):
            a = _render(ROOT, work, listing, args.jobs, n)
            b = _render(args.against, work, listing, args.jobs, n)
            ratios.append(a / b)
            print(f"pair {k + 1}: this tree {a:,.0f} formulas/s, {args.against} {b:,.0f}: {a / b:.3f}", flush=True)
        print(f"median ratio {statistics.median(ratios):.3f} (-j {args.jobs}, {n:,} formulas)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
