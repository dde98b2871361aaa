"""Rendering with real TeX on the shared corpus (issue 3): part of ``python -m benchmarks all``,
alone as ``python -m benchmarks tex`` or ``python -m benchmarks.tex_corpus [--quick]``.

Reports side by side, in one run, at 200 dpi, (a)-(c) on one core (``sched_setaffinity``):

(a) one latex + one dvipng per formula (on a sample);
(b) the bare batched loop: one latex + one dvipng per batch and nothing else, at 25/100/250/500
    per batch, with and without a precompiled (mylatexformat) preamble;
(c) ``LatexBackend.render`` directly, default batch size, all 1,200 lines (bad ones included);
(d) asyncrender end to end, the whole CLI command, at -j 1 on one core and -j 2 on two, on the
    corpus as 30 papers of 40 formulas (and, in full mode, the corpus five times over, so that the
    fixed start-up of about half a second stops hiding how the workers scale).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from asyncrender.config import RenderSettings
from asyncrender.render import latex as latex_backend
from asyncrender.render.base import RenderItem
from benchmarks.common import Section, console_script, remove_tree

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus" / "arxiv_formulas.lst"
PAPER_SIZE = 40
DPI = 200
BARE_PREAMBLE = (
    "\\documentclass[12pt]{article}\n\\usepackage{amsmath}\n\\usepackage{amssymb}\n"
    "\\usepackage{amsfonts}\n\\usepackage[active,tightpage]{preview}\n"
)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}; {os.cpu_count()} cores; {latex_backend.LatexBackend().version()}"


def load_corpus() -> list[str]:
    with open(CORPUS, newline="\n", encoding="utf-8") as f:
        return f.read().split("\n")[:1200]


def tripled(formulas: Sequence[str], count: int) -> list[str]:
    """Row 3's corpus (``benchmarks.perf``): the first ``count`` non-blank formulas, each three
    times, spread (each third of the list holds every formula once, in its own order)."""
    distinct = [f for f in formulas if f.strip()][:count]
    return [distinct[(k * 7919) % len(distinct)] for k in range(3 * len(distinct))]


def _sh(cmd: Sequence[str], cwd: Path) -> int:
    return subprocess.run(list(cmd), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          stdin=subprocess.DEVNULL).returncode


def _doc(formulas: Sequence[str], preamble: bool) -> str:
    body = "\n".join(f"\\begin{{preview}}$\\displaystyle {f}$\\end{{preview}}" for f in formulas)
    return (BARE_PREAMBLE if preamble else "") + f"\\begin{{document}}\n{body}\n\\end{{document}}\n"


def _latex_dvipng(work: Path, formulas: Sequence[str], fmt: Path | None) -> None:
    (work / "b.tex").write_text(_doc(formulas, fmt is None), encoding="utf-8")
    cmd = ["latex", "-interaction=batchmode", "-no-shell-escape"]
    if fmt is not None:
        cmd.append(f"-fmt={fmt}")
    _sh([*cmd, "b.tex"], work)
    _sh(["dvipng", "-q", "-T", "tight", "-D", str(DPI), "-bg", "Transparent", "-o", "p%d.png", "b.dvi"], work)


def one_per_formula(formulas: Sequence[str]) -> float:
    """(a) formulas/s, one latex + one dvipng per formula."""
    work = Path(tempfile.mkdtemp())
    try:
        t = time.perf_counter()
        for f in formulas:
            _latex_dvipng(work, [f], None)
        return len(formulas) / (time.perf_counter() - t)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_format(work: Path) -> Path:
    (work / "pre.tex").write_text(BARE_PREAMBLE + "\\begin{document}\n\\end{document}\n", encoding="utf-8")
    cmd = ["latex", "-ini", "-interaction=batchmode", "-jobname=bare", "&latex", "mylatexformat.ltx",
           "pre.tex"]
    _sh(cmd, work)
    return work / "bare.fmt"


def bare_loop(formulas: Sequence[str], batch: int, fmt: Path | None, where: str | None = None) -> float:
    """(b) formulas/s, one latex + one dvipng per batch of good formulas (in a temp folder in
    ``where``, default the system's; every batch's PNGs overwrite the last one's)."""
    work = Path(tempfile.mkdtemp(dir=where))
    try:
        t = time.perf_counter()
        for start in range(0, len(formulas), batch):
            _latex_dvipng(work, formulas[start : start + batch], fmt)
        return len(formulas) / (time.perf_counter() - t)
    finally:
        remove_tree(work)


def backend(formulas: Sequence[str], settings: RenderSettings) -> tuple[float, int]:
    """(c) formulas/s of ``LatexBackend.render`` on all lines, and how many rendered."""
    out = Path(tempfile.mkdtemp())
    try:
        items = [RenderItem(f, "display", out / f"{k}.png") for k, f in enumerate(formulas)]
        latex_backend.LatexBackend().render(items[:1], settings)  # build the format first, as a worker would
        t = time.perf_counter()
        res = latex_backend.LatexBackend().render(items, settings)
        return len(formulas) / (time.perf_counter() - t), sum(r.ok for r in res)
    finally:
        shutil.rmtree(out, ignore_errors=True)


# --- (d) end to end through the CLI: wired once the CLI exists on main ---------------------------

def write_papers(formulas: Sequence[str], folder: Path) -> Path:
    """30 paper JSON files of 40 formulas each (the extractor's format) and a list file naming them."""
    paths = []
    for p, start in enumerate(range(0, len(formulas), PAPER_SIZE)):
        items = [{"id": f"f{k}", "type": "display", "latex": formulas[k]}
                 for k in range(start, min(start + PAPER_SIZE, len(formulas)))]
        path = folder / f"paper{p:03d}.json"
        path.write_text(json.dumps({"paper_id": f"paper{p:03d}", "items": items}), encoding="utf-8")
        paths.append(str(path))
    lst = folder / "papers.lst"
    lst.write_text("\n".join(paths) + "\n", encoding="utf-8")
    return lst


NO_SHARING = "[run]\nshare_images = false\n"  # settings (TOML) under which every copy is typeset


def write_repeated(formulas: Sequence[str], work: Path, repeat: int) -> Path:
    """The corpus ``repeat`` times over as more papers (``copy<r>/``, ``write_papers`` each) and one
    list naming them all, ``work/all.lst``."""
    lists = []
    for r in range(repeat):
        folder = work / f"copy{r}"
        folder.mkdir()
        lists.append(write_papers(formulas, folder).read_text())
    listing = work / "all.lst"
    listing.write_text("".join(lists), encoding="utf-8")
    return listing


def run_cli(formulas: Sequence[str], jobs: int, repeat: int = 1, share: bool = True,
            where: str | None = None) -> float | None:
    """(d) formulas/s of ``asyncrender render LIST -c CACHE -o OUT -j N``, whole command timed
    (interpreter start-up included); ``repeat`` lists the corpus that many times, as more papers;
    ``share=False`` typesets every copy of a repeated item (``run.share_images = false``); inputs,
    cache and output in a temp folder in ``where`` (default the system's)."""
    work = Path(tempfile.mkdtemp(dir=where))
    try:
        lst = write_repeated(formulas, work, repeat)
        cmd = [*console_script(), "render", str(lst), "-c", str(work / "cache"),
               "-o", str(work / "out"), "-j", str(jobs), "--quiet"]
        if not share:
            (work / "noshare.toml").write_text(NO_SHARING)
            cmd += ["--config", str(work / "noshare.toml")]
        t = time.perf_counter()
        try:
            done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  timeout=900, text=True)
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"run_cli: {exc}", file=sys.stderr)
            return None
        elapsed = time.perf_counter() - t
        if done.returncode != 0:  # say why: a failed run ends the benchmark
            print(f"run_cli: exit {done.returncode}: {done.stderr[-2000:]}", file=sys.stderr)
            return None
        return repeat * len(formulas) / elapsed
    finally:
        remove_tree(work)


def measure(sample_size: int, quick: bool) -> tuple[list[tuple[str, float | None]], int]:
    """Every row, measured in this one run: (name, formulas/s); and how many of the corpus rendered."""
    formulas = load_corpus()
    settings = RenderSettings(renderer="latex", dpi=DPI)
    rows: list[tuple[str, float | None]] = []
    all_cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if all_cores:
        os.sched_setaffinity(0, {min(all_cores)})  # (a)-(c): one core
    c_rate, ok = backend(formulas, settings)
    good = [f for f in formulas if f.strip()]  # the bare loop has no error handling: good ones only
    out = Path(tempfile.mkdtemp())
    try:
        items = [RenderItem(f, "display", out / f"{k}.png") for k, f in enumerate(good)]
        res = latex_backend.LatexBackend().render(items, settings)
        good = [f for f, r in zip(good, res, strict=True) if r.ok and "%" not in f]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    sample = good[:sample_size]
    _row(rows, f"(a) one latex + dvipng run per formula ({len(sample)} formulas)", lambda: one_per_formula(sample))
    fmt_dir = Path(tempfile.mkdtemp())
    try:
        fmt = build_format(fmt_dir)
        for batch in (25, 100, 250, 500):
            _row(rows, f"(b) bare loop, batch {batch}", lambda b=batch: bare_loop(good, b, None))  # type: ignore[misc]
            _row(rows, f"(b) bare loop, batch {batch}, precompiled preamble",
                 lambda b=batch: bare_loop(good, b, fmt))  # type: ignore[misc]
    finally:
        shutil.rmtree(fmt_dir, ignore_errors=True)
    _row(rows, f"(c) LatexBackend.render, batch {settings.batch_size}, all {len(formulas)} lines", lambda: c_rate)
    if all_cores:
        os.sched_setaffinity(0, {min(all_cores)})
    for jobs in (1, 2):
        if all_cores:  # -j N on N cores: the CLI and its workers inherit this affinity
            os.sched_setaffinity(0, set(sorted(all_cores)[:jobs]))
        _row(rows, f"(d) asyncrender CLI -j {jobs}, {len(formulas)} formulas in 30 papers",
             lambda j=jobs: run_cli(formulas, j))  # type: ignore[misc]
        if not quick:
            _row(rows, f"(d) asyncrender CLI -j {jobs}, the corpus 5 times (150 papers)",
                 lambda j=jobs: run_cli(formulas, j, repeat=5))  # type: ignore[misc]
    if all_cores:
        os.sched_setaffinity(0, all_cores)
    return rows, ok


def _row(rows: list[tuple[str, float | None]], name: str, fn: Callable[[], float | None]) -> None:
    value = fn()
    rows.append((name, value))
    print(f"  {name:<64} {'n/a' if value is None else f'{value:8.1f}'}", flush=True)


def run(work: Path, quick: bool) -> Section:
    """The section of BENCHMARKS.md (``python -m benchmarks all|tex``)."""
    s = Section("0. Rendering with real TeX (issue 3)")
    if not CORPUS.exists() or not latex_backend.tex_available():
        s.lines.append(f"Skipped: needs TeX and the shared corpus at {CORPUS}.")
        return s
    rows, ok = measure(20 if quick else 100, quick)
    rate = dict(rows)
    s.lines += [f"The shared corpus ({CORPUS.name}: 1,200 lines of real arXiv formulas), 200 dpi. (a)-(c) on "
                "one core (`sched_setaffinity`); (d) is the whole `asyncrender render` command, interpreter "
                f"start-up, pool and cache included, on as many cores as workers. {machine()}.", "",
                f"Our backend rendered {ok} of the 1,200 lines; the rest fail with TeX's message.", "",
                "| what | formulas/s | vs (a) | vs bare batch-500 loop |", "|---|---:|---:|---:|"]
    base = rows[0][1]
    bare500 = rate.get("(b) bare loop, batch 500")
    for name, value in rows:
        s.lines.append(f"| {name} | {'n/a' if value is None else f'{value:,.0f}'} | "
                       f"{ratio(value, base)} | {ratio(value, bare500)} |")
    one = [v for n, v in rows if n.startswith("(d) asyncrender CLI -j 1")]
    two = [v for n, v in rows if n.startswith("(d) asyncrender CLI -j 2")]
    if one and one[0]:
        s.headlines["asyncrender end to end, -j 1, one core (formulas/s)"] = f"{one[0]:,.0f}"
        s.headlines["... vs one TeX run per formula"] = ratio(one[0], base)
        s.headlines["... vs the bare batch-500 loop"] = ratio(one[0], bare500)
    for a, b in zip(one, two, strict=False):
        if a and b:
            s.headlines[f"-j 2 vs -j 1 ({'1,200' if a is one[0] else '6,000'} formulas)"] = ratio(b, a)
    return s


def ratio(value: float | None, base: float | None) -> str:
    return "n/a" if value is None or not base else f"{value / base:.1f}x"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    section = run(Path(tempfile.gettempdir()), args.quick)
    print("\n".join(section.lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
