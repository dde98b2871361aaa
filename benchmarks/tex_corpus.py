"""Benchmark of the real-TeX path on the shared corpus: ``python -m benchmarks.tex_corpus``.

Reports side by side, in one run, on one core (``sched_setaffinity``), at 200 dpi:

(a) one latex + one dvipng per formula (on a sample);
(b) the bare batched loop: one latex + one dvipng per batch and nothing else, at 25/100/250/500
    per batch, with and without a precompiled (mylatexformat) preamble;
(c) ``LatexBackend.render`` directly, default batch size, all 1,200 lines (bad ones included);
(d) asyncrender end to end through the CLI at -j 1 and -j 2 (``run_cli``; needs the CLI).

Options: ``--sample N`` for (a), ``--skip-cli`` to leave out (d).
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


def bare_loop(formulas: Sequence[str], batch: int, fmt: Path | None) -> float:
    """(b) formulas/s, one latex + one dvipng per batch of good formulas."""
    work = Path(tempfile.mkdtemp())
    try:
        t = time.perf_counter()
        for start in range(0, len(formulas), batch):
            _latex_dvipng(work, formulas[start : start + batch], fmt)
        return len(formulas) / (time.perf_counter() - t)
    finally:
        shutil.rmtree(work, ignore_errors=True)


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


def run_cli(formulas: Sequence[str], jobs: int) -> float | None:
    """(d) formulas/s of ``asyncrender render LIST -c CACHE -o OUT -j N``; None if the CLI fails."""
    work = Path(tempfile.mkdtemp())
    try:
        lst = write_papers(formulas, work)
        cmd = [sys.executable, "-m", "asyncrender", "render", str(lst), "-c", str(work / "cache"),
               "-o", str(work / "out"), "-j", str(jobs)]
        if shutil.which("asyncrender"):
            cmd = ["asyncrender", *cmd[3:]]
        t = time.perf_counter()
        try:
            rc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                timeout=900).returncode
        except (OSError, subprocess.SubprocessError):
            return None
        elapsed = time.perf_counter() - t
        return len(formulas) / elapsed if rc == 0 else None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _row(rows: list[tuple[str, float | None]], name: str, fn: Callable[[], float | None]) -> None:
    value = fn()
    rows.append((name, value))
    print(f"  {name:<48} {'n/a' if value is None else f'{value:8.1f}'}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--skip-cli", action="store_true")
    args = ap.parse_args(argv)
    if not CORPUS.exists():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    if not latex_backend.tex_available():
        print("TeX not available", file=sys.stderr)
        return 2
    print("machine:", machine())
    formulas = load_corpus()
    preamble = (r"\usepackage{amsmath}", r"\usepackage{amssymb}", r"\usepackage{amsfonts}")
    settings = RenderSettings(renderer="latex", dpi=DPI, preamble=preamble)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rows: list[tuple[str, float | None]] = []
    print("formulas/s (one core, 200 dpi):")
    c_rate, ok = backend(formulas, settings)
    good = [f for f in formulas if f.strip()]  # bare loop: no error handling, so good ones only
    out = Path(tempfile.mkdtemp())
    try:
        items = [RenderItem(f, "display", out / f"{k}.png") for k, f in enumerate(good)]
        res = latex_backend.LatexBackend().render(items, settings)
        good = [f for f, r in zip(good, res, strict=True) if r.ok and not f.rstrip().endswith("%")
                and "%" not in f]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    sample = good[: args.sample]
    _row(rows, f"(a) one run per formula ({len(sample)} formulas)", lambda: one_per_formula(sample))
    fmt_dir = Path(tempfile.mkdtemp())
    try:
        fmt = build_format(fmt_dir)
        for batch in (25, 100, 250, 500):
            _row(rows, f"(b) bare loop, batch {batch}, no format ({len(good)})",
                 lambda b=batch: bare_loop(good, b, None))  # type: ignore[misc]
            _row(rows, f"(b) bare loop, batch {batch}, format", lambda b=batch: bare_loop(good, b, fmt))  # type: ignore[misc]
    finally:
        shutil.rmtree(fmt_dir, ignore_errors=True)
    rows.append((f"(c) LatexBackend.render, batch {settings.batch_size} ({ok}/{len(formulas)} ok)", c_rate))
    print(f"  {rows[-1][0]:<48} {c_rate:8.1f}")
    latex_backend.USE_FORMAT = False
    _row(rows, f"(c) LatexBackend.render, batch {settings.batch_size}, no format",
         lambda: backend(formulas, settings)[0])
    latex_backend.USE_FORMAT = True
    for bs in (100, 500):
        s = RenderSettings(renderer="latex", dpi=DPI, preamble=settings.preamble, batch_size=bs)
        _row(rows, f"(c) LatexBackend.render, batch {bs}", lambda s=s: backend(formulas, s)[0])  # type: ignore[misc]
    if not args.skip_cli:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        for jobs in (1, 2):
            _row(rows, f"(d) asyncrender CLI -j {jobs} (all {len(formulas)})",
                 lambda j=jobs: run_cli(formulas, j))  # type: ignore[misc]
    base = rows[0][1]
    print("\nratios to (a):")
    for name, value in rows:
        ratio = "n/a" if value is None or not base else f"{value / base:6.1f}x"
        print(f"  {name:<48} {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
