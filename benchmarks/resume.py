"""Item 5: ``--resume`` over a fully cached list: files skipped per second.

Runs in a fresh process (``python -m benchmarks.resume LIST CACHE OUT``) over the cache and output
the memory benchmark left (every file rendered, so every file is skipped). ``save_summary`` over a
million entries is measured by the migration benchmark, on the cache the migration writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio

from benchmarks.common import Section, peak_rss_mib, render_listing, run_child


def run(work: Path, listing: Path, n: int) -> Section:
    cache, out = work / f"mem_cache_{n}", work / f"mem_out_{n}"
    f = run_child("benchmarks.resume", str(listing), str(cache), str(out))
    rate = f["skipped"] / f["seconds"]
    s = Section("5. Resume")
    s.lines += [f"`--resume` over {n:,} files, all cached and valid (stat + entry read + decision per "
                f"file, through the orchestrator, list streamed): {f['skipped']:,} skipped in "
                f"{f['seconds']:.1f} s = **{rate:,.0f} files/s** (aim ≥ 30,000/s, issue 15; ≥ 20,000 before it); "
                f"peak RSS {f['rss_mib']:.0f} MiB."]
    s.headlines[f"resume skip rate ({n:,} cached files)"] = f"{rate:,.0f} files/s"
    return s


def child(listing: str, cache: str, out: str) -> dict[str, float]:
    result = anyio.run(lambda: render_listing(Path(listing), Path(cache), Path(out), 2, resume=True))
    return {**result, "rss_mib": peak_rss_mib()}


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2], sys.argv[3])))
