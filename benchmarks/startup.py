"""Start-up of a run, this checkout against another: ``python -m benchmarks.startup --against DIR``.

DIR is another source tree of asyncrender (e.g. ``git archive <commit> | tar -x -C /tmp/base``,
then ``python -m compileall -q /tmp/base/asyncrender``). Each pair runs ``python -m asyncrender
render`` on a one-formula list, this tree then DIR (``PYTHONPATH`` picks the tree), and times
launch to the run log's ``run_start`` (the first job is sent) and launch to exit (the image is
drawn and the run has ended). Prints every pair and the medians of the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.common import timed_render, write_extracted_corpus

ROOT = Path(__file__).resolve().parents[1]


def one_run(tree: Path, work: Path, listing: Path, renderer: str) -> tuple[float, float]:
    """(launch to run_start, launch to exit) in seconds, for the source tree ``tree``."""
    for name in ("c", "o"):
        shutil.rmtree(work / name, ignore_errors=True)
    (work / "log.jsonl").unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return timed_render([sys.executable, "-m", "asyncrender", "render", str(listing), "-c", str(work / "c"),
                         "-o", str(work / "o"), "-j", "1", "--quiet", "--renderer", renderer],
                        work / "log.jsonl", env=env, cwd=work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", type=Path, required=True, help="the other source tree")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--renderer", default="latex")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    try:
        listing = write_extracted_corpus(work / "in", 1, 1, ["x"])
        one_run(ROOT, work, listing, args.renderer)  # formats and tool versions cached, as after a first run
        one_run(args.against, work, listing, args.renderer)
        rows = []
        for k in range(args.pairs):
            a, b = one_run(ROOT, work, listing, args.renderer), one_run(args.against, work, listing, args.renderer)
            rows.append((a, b))
            print(f"pair {k + 1}: first job {a[0]:.3f} s vs {b[0]:.3f} s; whole run {a[1]:.3f} s vs {b[1]:.3f} s",
                  flush=True)
        print(f"first job: median {statistics.median(a[0] for a, _ in rows):.3f} s vs "
              f"{statistics.median(b[0] for _, b in rows):.3f} s, median ratio "
              f"{statistics.median(a[0] / b[0] for a, b in rows):.2f}")
        print(f"whole one-formula run: median {statistics.median(a[1] for a, _ in rows):.3f} s vs "
              f"{statistics.median(b[1] for _, b in rows):.3f} s, median ratio "
              f"{statistics.median(a[1] / b[1] for a, b in rows):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
