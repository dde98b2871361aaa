"""Item 1: cache writes per second, per-file cache vs the old single-file design vs diskcache.

Every cell: W writer processes (1, 4, 16) write new entries for a fixed time into a cache that
already holds N entries (500, 5,000, 50,000); the figure is entries written per second, all writers
together. Writers start together (a shared event) and stop at a shared deadline; a writer that
got the old design's lock after the deadline gives it back without writing, so the last queued
writers do not stretch a cell. Entries are shaped like real ones (``common.sample_entry``).
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from pathlib import Path
from typing import Any, cast

from asyncrender.cache.entry import encode_entry
from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.model import CacheEntry
from benchmarks.common import Section, formulas, ratio, sample_entry
from benchmarks.legacy_model import LegacyJsonCache, LockTimeout

IMAGES_PER_ENTRY = 3
DESIGNS = ("per-file", "per-file --fsync", "old single-file", "diskcache (SQLite)")


def _writer(design: str, target: str, index: int, start: Any, go: Any, budget: float,
            out: Any) -> None:
    pool = formulas()[:200]
    if design.startswith("per-file"):
        manager = DistributedCacheManager(target, fsync=design.endswith("--fsync"))

        def write(key: str, entry: dict[str, Any], deadline: float) -> bool:
            manager.save_file_cache(key, cast(CacheEntry, entry))
            return True
    elif design == "old single-file":
        legacy = LegacyJsonCache(Path(target) / "cache.json")

        def write(key: str, entry: dict[str, Any], deadline: float) -> bool:
            try:
                return legacy.update(key, entry, deadline)
            except LockTimeout:
                return False
    else:
        import diskcache

        dc = diskcache.Cache(target)

        def write(key: str, entry: dict[str, Any], deadline: float) -> bool:
            dc.set(key, encode_entry(cast(CacheEntry, entry)))
            return True

    go.wait()
    deadline = start.value + budget
    count, last = 0, start.value
    while time.monotonic() < deadline:
        key = f"bench/w{index}/p{count:07d}_extracted.json"
        if write(key, sample_entry(key, IMAGES_PER_ENTRY, pool), deadline):
            count += 1
            last = time.monotonic()
    out.put((count, last))


def prefill(design: str, target: Path, n: int) -> None:
    pool = formulas()[:200]
    entries = ((f"papers/p{i:07d}_extracted.json", i) for i in range(n))
    if design.startswith("per-file"):
        manager = DistributedCacheManager(target)
        for key, _ in entries:
            manager.save_file_cache(key, cast(CacheEntry, sample_entry(key, IMAGES_PER_ENTRY, pool)))
    elif design == "old single-file":
        target.mkdir(parents=True, exist_ok=True)
        LegacyJsonCache(target / "cache.json").fill(
            {key: sample_entry(key, IMAGES_PER_ENTRY, pool) for key, _ in entries})
    else:
        import diskcache

        with diskcache.Cache(str(target)) as dc, dc.transact():
            for key, _ in entries:
                dc.set(key, encode_entry(cast(CacheEntry, sample_entry(key, IMAGES_PER_ENTRY, pool))))


def measure(design: str, target: Path, writers: int, budget: float) -> float:
    ctx = multiprocessing.get_context("forkserver")
    start, go, out = ctx.Value("d", 0.0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(design, str(target), i, start, go, budget, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    time.sleep(0.5 + 0.05 * writers)  # let every writer import and open its cache
    start.value = time.monotonic()
    go.set()
    results = [out.get(timeout=budget + 120) for _ in procs]
    for p in procs:
        p.join()
    total = sum(c for c, _ in results)
    elapsed: float = max(budget, max(last for _, last in results) - start.value)
    return float(total) / elapsed


def run(work: Path, quick: bool) -> Section:
    sizes = (500, 5_000) if quick else (500, 5_000, 50_000)
    writer_counts = (1, 4, 16)
    budget = 1.5 if quick else 4.0
    rates: dict[tuple[str, int, int], float] = {}
    for n in sizes:
        for design in DESIGNS:
            target = work / f"writes_{n}_{design.split()[0]}"
            if design != "per-file --fsync":  # the fsync variant writes into the per-file cache
                shutil.rmtree(target, ignore_errors=True)
                prefill(design, target, n)
            for w in writer_counts:
                if design == "old single-file":  # start each cell from exactly n entries
                    prefill(design, target, n)
                rates[design, n, w] = measure(design, target, w, budget)
            if design == "old single-file":
                bytes_per_entry = (target / "cache.json").stat().st_size / max(1, n)
        for design in DESIGNS:
            shutil.rmtree(work / f"writes_{n}_{design.split()[0]}", ignore_errors=True)

    s = Section("1. Cache writes (entries/s, all writers together)")
    s.lines += [
        f"Each cell: writers write new entries for {budget:g} s into a cache already holding N entries "
        f"(entries of {IMAGES_PER_ENTRY} images, about {bytes_per_entry:,.0f} bytes each as JSON). "
        "The old design: one JSON file, `flock` on a lock file (30 s timeout), whole file read and "
        "rewritten per update. diskcache: `Cache.set` of the encoded entry (SQLite, its defaults).", "",
        "| N existing | writers | " + " | ".join(DESIGNS) + " | per-file / old | per-file / diskcache |",
        "|---:|---:|" + "---:|" * (len(DESIGNS) + 2)]
    for n in sizes:
        for w in writer_counts:
            cells = [f"{rates[d, n, w]:,.1f}" for d in DESIGNS]
            s.lines.append(f"| {n:,} | {w} | " + " | ".join(cells) + f" | "
                           f"**{ratio(rates['per-file', n, w], rates['old single-file', n, w])}** | "
                           f"{ratio(rates['per-file', n, w], rates['diskcache (SQLite)', n, w])} |")
    head = rates["per-file", 5_000, 4] / max(rates["old single-file", 5_000, 4], 1e-9)
    s.lines += ["", f"At 5,000 entries and 4 writers the per-file cache writes **{head:,.0f}x** as many "
                f"entries per second as the old design (aim: ≥ 500x): "
                f"{rates['per-file', 5_000, 4]:,.0f}/s vs {rates['old single-file', 5_000, 4]:,.1f}/s."]
    s.headlines["cache writes vs old design (5,000 entries, 4 writers)"] = f"{head:,.0f}x"
    s.headlines["cache writes vs diskcache (5,000 entries, 4 writers)"] = ratio(
        rates["per-file", 5_000, 4], rates["diskcache (SQLite)", 5_000, 4])
    if 50_000 in sizes:
        s.headlines["cache writes vs old design (50,000 entries, 16 writers)"] = ratio(
            rates["per-file", 50_000, 16], rates["old single-file", 50_000, 16])
    return s
