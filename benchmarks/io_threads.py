"""The orchestrator's I/O threads, 1 against 2: ``python -m benchmarks.io_threads [--pairs K]``.

The orchestrator alone (the no-work runner, ``benchmarks.null_runner``) over 20,000 one-item files,
on two cores, with its cache on tmpfs (``/dev/shm``) and on the work disk (the system's temp
folder): per place, one run fills the cache, then ``run.io_threads = 1`` and ``= 2`` run over it in
turn, K pairs; prints each pair's files/s and the median of the ratios. What the default
(``RunSettings.io_thread_count``: 1 for a cache in memory, 2 on a disk) rests on. The work disk's
figures depend on its state: after many deletions, creating a file costs more for minutes
(BENCHMARKS.md section 8, round 4), and each run here frees 20,000 entries' inodes.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
from pathlib import Path

import anyio

from benchmarks.common import removals_held, remove_tree, render_listing, use_cores, write_extracted_corpus


def _rate(listing: Path, where: Path, io_threads: int) -> float:
    done = anyio.run(functools.partial(render_listing, listing, where / "cache", where / "out", 2, null=True,
                                       io_threads=io_threads))
    return float(done["files"] / done["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--pairs", type=int, default=4)
    args = ap.parse_args()
    use_cores(2)
    places = [("tmpfs", "/dev/shm")] if os.path.isdir("/dev/shm") else []
    places.append(("work disk", tempfile.gettempdir()))
    with removals_held():
        for label, base in places:
            where = Path(tempfile.mkdtemp(dir=base))
            listing = write_extracted_corpus(where / "in", 20_000, 1, ["x"])
            _rate(listing, where, 2)  # fills the cache
            ratios = []
            for k in range(args.pairs):
                one, two = _rate(listing, where, 1), _rate(listing, where, 2)
                ratios.append(one / two)
                print(f"{label} pair {k + 1}: 1 thread {one:,.0f} files/s, 2 threads {two:,.0f}", flush=True)
            print(f"{label}: median ratio, 1 thread / 2 threads: {statistics.median(ratios):.3f}", flush=True)
            remove_tree(where)


if __name__ == "__main__":
    main()
