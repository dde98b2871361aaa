"""Where the latex backend's time goes: ``python -m benchmarks.profile_backend`` renders the shared
corpus (1,200 lines, display, 200 dpi) once under cProfile on one core and prints the top calls by
cumulative time, then the cost of one plain file create in the output folder's file system (what
publishing each PNG pays). The figures quoted in BENCHMARKS.md section 8 come from this.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path

from asyncrender.config import RenderSettings
from asyncrender.render.base import RenderItem
from asyncrender.render.latex import LatexBackend
from benchmarks.tex_corpus import load_corpus


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    out = Path(tempfile.mkdtemp())
    try:
        settings = RenderSettings(renderer="latex")
        items = [RenderItem(f, "display", out / f"{k}.png") for k, f in enumerate(load_corpus())]
        LatexBackend().render(items[:2], settings)  # the format is built first, as a worker would
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        results = LatexBackend().render(items, settings)
        profile.disable()
        seconds = time.perf_counter() - start
        print(f"{len(items) / seconds:,.0f} items/s, {sum(r.ok for r in results)} rendered")
        pstats.Stats(profile).sort_stats("cumtime").print_stats(20)
        probe = out / "create-probe"
        probe.mkdir()
        start = time.perf_counter()
        for k in range(1000):
            with open(probe / f"{k}.png", "wb") as f:
                f.write(b"x" * 3000)
        print(f"one plain file create in {out.parent}: {(time.perf_counter() - start):.3f} ms")
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
