"""Items 2 and 3: whole runs through the orchestrator.

End to end: the same renderer and inputs, with the old single-file cache design
(``legacy_model.LegacyCacheManager``, dropped in for the orchestrator's entry writes) vs the shipped
per-file cache, at ``-j 1, 2, 4``, each run starting from a cache that already holds P entries.
Two variants: the real renderer (``auto``: latex where TeX is installed) on the shipped examples,
and the benchmark-only tiny backend on many small synthetic files (which isolates the cache's share
of the time).

Scaling: ``-j 1`` vs ``-j 2`` vs ``-j 4`` with the real renderer on papers of 40 real arXiv formulas,
enough of them that every worker stays busy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio

from benchmarks.cache_writes import prefill
from benchmarks.common import EXAMPLES_LIST, Section, formulas, ratio, render_listing, write_extracted_corpus
from benchmarks.legacy_model import LegacyCacheManager

JOBS = (1, 2, 4)


def _run(listing: Path, work: Path, jobs: int, old: bool, tiny: bool, prefilled: int) -> float:
    cache, out = work / "e2e_cache", work / "e2e_out"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    prefill("old single-file" if old else "per-file", cache, prefilled)
    result = anyio.run(lambda: render_listing(listing, cache, out, jobs, tiny=tiny,
                                              manager=LegacyCacheManager if old else None))
    return float(result["seconds"])


def _first_examples(work: Path, n: int) -> Path:
    if not EXAMPLES_LIST.exists():
        return EXAMPLES_LIST
    text = EXAMPLES_LIST.read_text().splitlines()
    lines = [ln.strip() for ln in text if ln.strip() and not ln.startswith("#")]
    listing = work / "examples_subset.txt"
    listing.write_text("".join(f"{EXAMPLES_LIST.parent / ln}\n" for ln in lines[:n]))
    return listing


def run(work: Path, quick: bool) -> Section:
    prefilled = 500 if quick else 5_000
    tiny_files = 300 if quick else 2_000
    examples = EXAMPLES_LIST if not quick else _first_examples(work, 3)
    variants = [(f"{_renderer()}, examples" + (" (first 3 papers)" if quick else ""), examples, False),
                (f"tiny backend, {tiny_files:,} files", write_extracted_corpus(work / "corpus", tiny_files, 1,
                                                                            formulas()), True)]
    s = Section("2. End to end: old cache design vs per-file (wall seconds)")
    s.lines += [f"Each run starts from a cache already holding {prefilled:,} entries. The old design is "
                "dropped in for the orchestrator's entry writes (lock, read all, rewrite all, per file).", "",
                "| variant | -j | old design | per-file | time saved |", "|---|---:|---:|---:|---:|"]
    for name, listing, tiny in variants:
        if not listing.exists():
            s.lines.append(f"| {name} | – | skipped: {listing} absent | | |")
            continue
        for j in JOBS:
            old = _run(listing, work, j, True, tiny, prefilled)
            new = _run(listing, work, j, False, tiny, prefilled)
            s.lines.append(f"| {name} | {j} | {old:.1f} | {new:.1f} | {100 * (1 - new / old):.0f}% |")
            if j == 4:
                s.headlines[f"end-to-end time saved, {name}, -j 4"] = f"{100 * (1 - new / old):.0f}%"
    return s


def run_scaling(work: Path, quick: bool) -> Section:
    n_files, items = (30, 40) if quick else (150, 40)
    listing = write_extracted_corpus(work / "corpus", n_files, items, formulas())
    times = {j: _run(listing, work, j, False, False, 0) for j in JOBS}
    s = Section(f"3. Scaling ({_renderer()}, per-file cache)")
    s.lines += [f"{n_files * items:,} real arXiv formulas in {n_files} files; the machine has "
                f"{__import__('os').cpu_count()} cores, so -j 4 cannot beat 2x.", "",
                "| -j | seconds | speed-up vs -j 1 |", "|---:|---:|---:|"]
    s.lines += [f"| {j} | {t:.1f} | {ratio(times[1], t)} |" for j, t in times.items()]
    s.lines += ["", "Each time is a whole run, the pool's start-up included; the output folder is on the "
                "disk, where creating a PNG costs a journal write that the two workers share."]
    s.headlines["scaling -j 2 vs -j 1 (2 cores)"] = ratio(times[1], times[2])
    return s


def _renderer() -> str:
    from asyncrender.render import resolve_renderer

    return resolve_renderer("auto")
