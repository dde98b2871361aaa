"""``python -m benchmarks all [--quick] [--work DIR] [--out BENCHMARKS.md]``, or one benchmark by name."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import cache_writes, end_to_end, export, memory, migration, perf, report, resume, styles, tex_corpus
from benchmarks.common import ROOT, Section

NAMES = ("tex", "perf", "styles", "writes", "end_to_end", "scaling", "memory", "migration", "export")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("which", choices=("all", *NAMES))
    parser.add_argument("--quick", action="store_true", help="scaled-down sizes (about 2-3 minutes)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temp folder, removed after)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="asyncrender-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    q = args.quick
    steps: list[tuple[str, Callable[[], list[Section]]]] = [
        ("tex", lambda: [tex_corpus.run(work, q)]),
        ("styles", lambda: [styles.run(work, q)]),
        ("writes", lambda: [cache_writes.run(work, q)]),
        ("end_to_end", lambda: [end_to_end.run(work, q)]),
        ("scaling", lambda: [end_to_end.run_scaling(work, q)]),
        ("memory", lambda: _memory_and_resume(work, q)),
        ("migration", lambda: [migration.run(work, q)]),
        ("export", lambda: [export.run(work, q)]),
        # Last: it removes its tens of thousands of files only when it ends, and for minutes after
        # such a removal every file created on this disk costs far more (common.removals_held).
        ("perf", lambda: [perf.run(work, q)]),
    ]
    sections: list[Section] = []
    try:
        for name, step in steps:
            if args.which in ("all", name):
                start = time.perf_counter()
                made = step()
                for s in made:
                    s.seconds = (time.perf_counter() - start) / len(made)
                    print(f"[{s.seconds:6.0f} s] {s.title}: {s.headlines}", flush=True)
                sections += made
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    mode = " --quick" if q else ""
    report.write(args.out, sections, q, f"python -m benchmarks {args.which}{mode}", load)
    print(f"wrote {args.out}")


def _memory_and_resume(work: Path, quick: bool) -> list[Section]:
    mem, listings = memory.run(work, quick)
    n = max(listings)
    return [mem, resume.run(work, listings[n], n)]


if __name__ == "__main__":
    main()
