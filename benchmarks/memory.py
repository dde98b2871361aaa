"""Item 4: the orchestrator's peak RSS with a short vs a long file list (benchmark-only tiny backend),
and with one bad input of growing size (``[1,1,1,...]``: every item fails; issue 12 item 2).

Each size runs in a fresh process (``python -m benchmarks.memory LIST CACHE OUT JOBS``), which
renders the whole list through ``read_file_list`` and the orchestrator with ``-j 2`` and reports its
own peak RSS (``getrusage``; the worker processes are not counted: they are the pool's, and the same
whatever the list's length).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import anyio

from benchmarks.common import (
    Section,
    formulas,
    peak_rss_mib,
    render_listing,
    run_child,
    write_extracted_corpus,
)

JOBS = 2


def run(work: Path, quick: bool) -> tuple[Section, dict[int, Path]]:
    small, large = (1_000, 10_000) if quick else (1_000, 100_000)
    pool = formulas()
    figures = {}
    caches = {}
    for n in (small, large):
        listing = write_extracted_corpus(work / "corpus", n, 1, pool)
        cache, out = work / f"mem_cache_{n}", work / f"mem_out_{n}"
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        figures[n] = run_child("benchmarks.memory", str(listing), str(cache), str(out), str(JOBS))
        caches[n] = listing
    s = Section("4. Orchestrator memory (peak RSS)")
    s.lines += [f"Synthetic files of one formula each, rendered by the benchmark-only tiny backend "
                f"(`benchmarks/tiny_backend.py`: a 1x1 PNG, no TeX) at `-j {JOBS}`; the list is streamed "
                "as the CLI streams it. Peak RSS of the orchestrator process (`VmHWM`).", "",
                "| listed files | peak RSS | files/s |", "|---:|---:|---:|"]
    for n, f in figures.items():
        s.lines.append(f"| {n:,} | {f['rss_mib']:.0f} MiB | {f['files'] / f['seconds']:,.0f} |")
    growth = figures[large]["rss_mib"] / figures[small]["rss_mib"]
    s.lines += ["", f"{large // small}x the files: peak RSS x{growth:.2f} (aim: flat)."]
    s.headlines[f"orchestrator peak RSS, {large:,} vs {small:,} files"] = f"x{growth:.2f}"
    s.lines += ["", *_bad_input_rows(work, (1, 4) if quick else (1, 4, 16))]
    return s, caches


def _bad_input_rows(work: Path, sizes_mib: tuple[int, ...]) -> list[str]:
    """One input of ``[1,1,1,...]`` (every item bad), growing: the entry and the orchestrator's peak
    RSS stay flat, since a file keeps its first errors and only counts the rest."""
    lines = ["One input file whose every item is bad (`[1,1,1,...]`), growing; same orchestrator:", "",
             "| input | items | entry | peak RSS |", "|---:|---:|---:|---:|"]
    for mib in sizes_mib:
        folder = work / f"bad_{mib}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        items = (mib << 20) // 2
        (folder / "bad_extracted.json").write_bytes(b"[" + b"1," * (items - 1) + b"1]")
        (folder / "list.txt").write_text("bad_extracted.json\n")
        f = run_child("benchmarks.memory", str(folder / "list.txt"), str(folder / "cache"),
                      str(folder / "out"), str(JOBS))
        entry = next((folder / "cache" / "file_caches").glob("*.cache")).stat().st_size
        lines.append(f"| {mib} MiB | {items:,} | {entry / 1024:.0f} KiB | {f['rss_mib']:.0f} MiB |")
    return lines


def child(listing: str, cache: str, out: str, jobs: int) -> dict[str, float]:
    result = anyio.run(lambda: render_listing(Path(listing), Path(cache), Path(out), jobs))
    return {**result, "rss_mib": peak_rss_mib()}


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))))
