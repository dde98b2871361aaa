"""dvipng with and without the sandbox's heap setting: ``python -m benchmarks.dvipng_heap [--pairs K]``.

Typesets the first 500 corpus formulas the bare loop takes (one latex run, the preamble
precompiled) and draws the DVI with dvipng as the latex backend calls it, in ``/dev/shm``, five times
per side: in the sandbox's environment (``latex._sandbox_env``, which keeps a freed heap:
``GLIBC_TUNABLES`` trim threshold) and in the same environment without it. Sides in turn, K pairs;
prints each side's CPU and minor page faults (``getrusage`` of the children) and the median of the
CPU ratios, and checks that both sides write the same PNG bytes (BENCHMARKS.md section 8, round 6).
Needs TeX and ``../shared/corpus``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import tempfile
from pathlib import Path

from asyncrender.render import latex as latex_backend
from benchmarks import tex_corpus
from benchmarks.common import remove_tree
from benchmarks.perf import _good

DRAWS = 5


def _draw(work: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """CPU seconds and minor page faults of ``DRAWS`` dvipng runs, and a digest of the PNGs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(DRAWS):
        subprocess.run(["dvipng", "-q", "-T", "tight", "-D", str(tex_corpus.DPI), "--depth", "-bg", "Transparent",
                        "-o", "p%d.png", "b.dvi"], cwd=work, env=env, stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    digest = hashlib.sha256(b"".join((work / f"p{k}.png").read_bytes() for k in range(1, 501))).hexdigest()
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return cpu, after.ru_minflt - before.ru_minflt, digest


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--pairs", type=int, default=4)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        formulas = _good(tex_corpus.load_corpus())[:500]
        fmt = tex_corpus.build_format(work)
        (work / "b.tex").write_text(tex_corpus._doc(formulas, False), encoding="utf-8")
        # As the bare loop: a formula's error does not stop the run, which ships all 500 pages.
        subprocess.run(["latex", "-interaction=batchmode", "-no-shell-escape", f"-fmt={fmt}", "b.tex"], cwd=work,
                       stdout=subprocess.DEVNULL)
        if not (work / "b.dvi").exists():
            raise SystemExit(f"latex made no DVI: see {work / 'b.log'}")
        kept = latex_backend._sandbox_env(work)
        default = {k: v for k, v in kept.items() if k != "GLIBC_TUNABLES"}
        ratios = []
        for k in range(args.pairs):
            (a, fa, da), (b, fb, db) = _draw(work, kept), _draw(work, default)
            ratios.append(a / b)
            same = "the same PNGs" if da == db else "PNGs DIFFER"
            print(f"pair {k + 1}: kept heap {a * 1000:.0f} ms, {fa:,} faults; glibc's default {b * 1000:.0f} ms, "
                  f"{fb:,} faults; {same}", flush=True)
        print(f"median CPU ratio, kept / default: {statistics.median(ratios):.3f} ({DRAWS} draws of 500 images a side)")
    finally:
        remove_tree(work)


if __name__ == "__main__":
    main()
