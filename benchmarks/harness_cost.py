"""What batch = alone costs TeX, and what a TeX run costs before its first item:
``python -m benchmarks.harness_cost [--runs N]``.

Builds one precompiled format per variant of the harness (``texsource._HARNESS``): as shipped,
without the per-item reset (``\\AR@reset`` in ``\\ARpre``), without the assignment tracing, without
recomputing NFSS's math fonts. Each variant's latex then typesets the same 400 corpus formulas
(the same main document ``document_source`` writes), in turn, N times; the medians are printed
with the log's size. Last, latex with the shipped format on a document that is only ``\\end``: the
cost of loading the format. One core, scratch in memory. Needs TeX and ``../shared/corpus``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from asyncrender.config import RenderSettings
from asyncrender.render import latex, texsource
from benchmarks.tex_corpus import load_corpus

VARIANTS = {
    "as shipped": ("", ""),
    "without the per-item reset": (r"\global\count\@ne#1\relax\AR@reset\AR@streams", r"\global\count\@ne#1\relax"),
    "without the assignment tracing": (r"\global\tracingassigns\@ne\begingroup\newlinechar13",
                                       r"\begingroup\newlinechar13"),
    "without recomputing the math fonts": (r"\global\let\glb@currsize\relax\glb@settings}", "}"),
}


def _latex(fmt: Path, work: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["latex", "-no-shell-escape", "-interaction=nonstopmode", f"-fmt={fmt}", "m.tex"], cwd=work,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    settings = RenderSettings(renderer="latex")
    formulas = [f for f in load_corpus() if f.strip()][:400]
    shipped = texsource._HARNESS
    work = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        formats: dict[str, tuple[Path, str]] = {}
        for name, (old, new) in VARIANTS.items():
            assert old in shipped, f"the harness changed: {name} no longer applies"
            texsource._HARNESS = shipped.replace(old, new) if old else shipped
            fmt = latex._build_format(settings, work / f"{len(formats)}.fmt")
            assert fmt is not None, f"no format for {name}"
            doc = texsource.document_source([(i + 1, "display", f) for i, f in enumerate(formulas)], settings,
                                            "0123456789abcdef", with_preamble=False)
            formats[name] = (fmt, doc)
        texsource._HARNESS = shipped
        times: dict[str, list[float]] = {name: [] for name in formats}
        sizes: dict[str, int] = {}
        for _ in range(args.runs):
            for name, (fmt, doc) in formats.items():
                (work / "m.tex").write_text(doc, encoding="utf-8")
                times[name].append(_latex(fmt, work))
                sizes[name] = (work / "m.log").stat().st_size
        print(f"latex on {len(formulas)} corpus formulas, median of {args.runs}:")
        for name, values in times.items():
            print(f"  {name:<36} {statistics.median(values):.3f} s  (log {sizes[name] / 1e6:.2f} MB)")
        (work / "m.tex").write_text("\\end\n", encoding="utf-8")
        empty = statistics.median(_latex(formats["as shipped"][0], work) for _ in range(args.runs))
        print(f"latex loading the format only (a document that is \\end): {empty * 1000:.0f} ms")
    finally:
        texsource._HARNESS = shipped
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
