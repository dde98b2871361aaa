"""What two cores of this machine give TeX: ``python -m benchmarks.two_cores [--pairs K]``.

The ceiling for perf row 2 (``-j 2`` against ``-j 1``): the bare batch-500 loop (latex + dvipng,
preamble precompiled, in ``/dev/shm``) on the corpus three times over, alone on one core, then two
such loops at once, one per core; each pair prints both rates and their ratio, then the median of
the ratios. Needs TeX and ``../shared/corpus``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from multiprocessing import get_context
from multiprocessing.queues import Queue
from pathlib import Path

from benchmarks import tex_corpus
from benchmarks.perf import _good


def _loop(core: int, formulas: list[str], fmt: Path, rates: Queue[float]) -> None:
    os.sched_setaffinity(0, {core})
    rates.put(tex_corpus.bare_loop(formulas, 500, fmt, "/dev/shm" if os.path.isdir("/dev/shm") else None))


def _together(cores: list[int], formulas: list[str], fmt: Path) -> float:
    """Formulas/s of one loop per core, all at once, summed."""
    ctx = get_context("fork")
    rates: Queue[float] = ctx.Queue()
    procs = [ctx.Process(target=_loop, args=(core, formulas, fmt, rates)) for core in cores]
    for p in procs:
        p.start()
    total = sum(rates.get() for _ in procs)
    for p in procs:
        p.join()
    return total


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.two_cores", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--pairs", type=int, default=4)
    args = ap.parse_args()
    cores = sorted(os.sched_getaffinity(0))[:2]
    if len(cores) < 2:
        raise SystemExit("needs two cores")
    formulas = _good(tex_corpus.load_corpus()) * 3
    ratios = []
    with tempfile.TemporaryDirectory() as fmt_dir:
        fmt = tex_corpus.build_format(Path(fmt_dir))
        for _ in range(args.pairs):
            one, two = _together(cores[:1], formulas, fmt), _together(cores, formulas, fmt)
            ratios.append(two / one)
            print(f"one core {one:,.0f} formulas/s, two cores {two:,.0f} formulas/s: {two / one:.2f}", flush=True)
    print(f"median ratio {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
