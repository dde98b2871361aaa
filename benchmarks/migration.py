"""Items 5 and 6 at scale: migrating a legacy cache of N entries (streamed; peak RSS), then
``save_summary`` over the N entries the migration wrote. Each runs in a fresh process
(``python -m benchmarks.migration migrate|summary ...``) that reports its own peak RSS."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from asyncrender.cache.manager import DistributedCacheManager
from benchmarks.common import Section, formulas, peak_rss_mib, run_child


def write_legacy(path: Path, n: int) -> None:
    """A legacy cache.json of ``n`` entries, written as a stream (the old tool's entry shape)."""
    pool = formulas()[:100]
    with open(path, "w", encoding="utf-8") as f:
        f.write("{")
        for i in range(n):
            entry = {"images": [f"/data/rendered/p{i:07d}/{j}.png" for j in range(3)], "status": "success",
                     "errors": [], "latex": pool[i % len(pool)]}
            key = json.dumps(f"papers/p{i:07d}_extracted.json")
            f.write(("," if i else "") + key + ":" + json.dumps(entry))
        f.write("}")


def run(work: Path, quick: bool) -> Section:
    n = 50_000 if quick else 1_000_000
    legacy, cache = work / f"legacy_{n}.json", work / f"migrated_{n}"
    if not legacy.exists():
        write_legacy(legacy, n)
    shutil.rmtree(cache, ignore_errors=True)
    m = run_child("benchmarks.migration", "migrate", str(legacy), str(cache))
    s_ = run_child("benchmarks.migration", "summary", str(cache))
    shutil.rmtree(cache, ignore_errors=True)
    size_mib = legacy.stat().st_size / 2**20
    s = Section("6. Migration, and save_summary at scale")
    s.lines += [
        f"A legacy `cache.json` of {n:,} entries ({size_mib:,.0f} MiB) migrated by "
        f"`migrate_legacy` (streamed: one entry in memory at a time): {m['migrated']:,} entries in "
        f"{m['seconds']:.0f} s ({m['migrated'] / m['seconds']:,.0f}/s), **peak RSS {m['rss_mib']:.0f} MiB** "
        f"(the file is {size_mib / m['rss_mib']:.1f}x that; `json.load` would need several times the file).",
        "",
        f"`save_summary` over those {n:,} entries (flat `file_caches/`, page cache warm): "
        f"**{s_['seconds']:.1f} s** ({n / s_['seconds']:,.0f} entries/s), peak RSS {s_['rss_mib']:.0f} MiB."]
    s.headlines[f"migration of {n:,} legacy entries: peak RSS"] = (
        f"{m['rss_mib']:.0f} MiB for a {size_mib:,.0f} MiB file")
    s.headlines[f"save_summary over {n:,} entries"] = f"{s_['seconds']:.1f} s"
    return s


def child(args: list[str]) -> dict[str, float]:
    start = time.perf_counter()
    if args[0] == "migrate":
        report = DistributedCacheManager(args[2]).migrate_legacy(args[1])
        seconds = time.perf_counter() - start
        return {"migrated": report.migrated, "seconds": seconds, "rss_mib": peak_rss_mib()}
    DistributedCacheManager(args[1]).save_summary()
    return {"seconds": time.perf_counter() - start, "rss_mib": peak_rss_mib()}


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1:])))
