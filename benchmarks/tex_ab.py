"""The latex backend against a baseline commit's, paired in one run (issue 11's cost budget).

``python -m benchmarks.tex_ab [--base COMMIT] [--pairs N]`` exports the baseline's
``asyncrender/render`` with ``git archive`` into a temp folder, imports it as ``baseline_render``,
then renders the shared corpus (1,200 lines, display, 200 dpi, one core) alternately with the
baseline and the current backend, each after a warm-up that builds its format, and prints every
pair and the median of the ratios (current formulas/s over baseline formulas/s).
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asyncrender.config import RenderSettings
from asyncrender.render.base import RenderItem
from asyncrender.render.latex import LatexBackend
from benchmarks.tex_corpus import CORPUS, ROOT, load_corpus

BASELINE = "799e8b5"  # main before issue 11


def import_baseline(commit: str, folder: Path) -> Any:
    """The baseline's ``asyncrender/render`` as the package ``baseline_render``."""
    data = subprocess.run(["git", "archive", commit, "asyncrender/render"], cwd=ROOT, check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    pkg = folder / "baseline_render"
    shutil.move(folder / "asyncrender" / "render", pkg)
    for f in pkg.glob("*.py"):
        f.write_text(f.read_text().replace("asyncrender.render.", "baseline_render."))
    sys.path.insert(0, str(folder))
    return importlib.import_module("baseline_render.latex")


def rate(backend: Any, formulas: Sequence[str], settings: RenderSettings) -> tuple[float, int]:
    out = Path(tempfile.mkdtemp())
    try:
        items = [RenderItem(f, "display", out / f"{k}.png") for k, f in enumerate(formulas)]
        t = time.perf_counter()
        res = backend.render(items, settings)
        return len(items) / (time.perf_counter() - t), sum(r.ok for r in res)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--base", default=BASELINE)
    ap.add_argument("--pairs", type=int, default=5)
    args = ap.parse_args(argv)
    if not CORPUS.exists():
        print(f"skipped: no shared corpus at {CORPUS}")
        return 0
    formulas = load_corpus()
    settings = RenderSettings(renderer="latex", dpi=200)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    folder = Path(tempfile.mkdtemp())
    try:
        base = import_baseline(args.base, folder).LatexBackend()
        new = LatexBackend()
        for backend in (base, new):  # build each format, as a worker's first batch would
            rate(backend, formulas[:5], settings)
        ratios = []
        for k in range(args.pairs):
            (b, b_ok), (n, n_ok) = rate(base, formulas, settings), rate(new, formulas, settings)
            ratios.append(n / b)
            print(f"pair {k + 1}: baseline {b:7.1f}/s ({b_ok} ok)  current {n:7.1f}/s ({n_ok} ok)  ratio {n / b:.3f}",
                  flush=True)
        print(f"median ratio current/baseline over {args.pairs} pairs: {statistics.median(ratios):.3f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
