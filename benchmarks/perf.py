"""Performance (issue 15), each figure a paired median: ``python -m benchmarks perf [--quick]``.

On a shared machine a single run swings by 30%, so A and B run in turn, several pairs, and the
figure quoted is the median of the pairs' ratios. The rows:

1. end to end ``asyncrender render -j 1`` against the bare batch-500 loop (latex + dvipng once per
   500 formulas, preamble precompiled, nothing else), 6,000 corpus formulas in 150 papers, one core;
2. ``-j 2`` against ``-j 1`` on the same 6,000, on two cores (and, in full mode, on 24,000 in memory,
   after row 3);
3. a corpus where each formula occurs three times (the corpus's 1,197 formulas, 3,591 items in 90
   papers): end to end ``-j 1`` against the bare loop typesetting every copy;
4. start-up: ``asyncrender --help``, a run's time to its first job (from launch to the run log's
   ``run_start``, which is written as the first job is sent; the workers start meanwhile), and a
   whole one-formula run;
5. the orchestrator alone: a runner that does no work (``benchmarks.null_runner``, in-process), so
   the figure is the orchestrator's own CPU and syscalls per file (stat, gate, packing, dispatch,
   entry encode and atomic write, results, summary), with the cache on the work disk and on tmpfs
   (the disk's file creation rate bounds the former); and with the benchmark-only backend that
   draws a 1x1 PNG in two worker processes (the pool's round trips included);
6. ``--resume`` over the fully cached list: files/s.

Some rows alone: ``python -m benchmarks.perf --rows 2,3 [--pairs 5]`` (1 includes 1b and 1c, 5
includes 6).
"""

from __future__ import annotations

import compileall
import functools
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio

import asyncrender
from asyncrender.render import latex as latex_backend
from benchmarks import tex_corpus
from benchmarks.common import (
    Section,
    console_script,
    removals_held,
    remove_tree,
    render_listing,
    settle_disk,
    timed_render,
    use_cores,
    write_extracted_corpus,
)

Pair = tuple[float, float]


def paired(a: Callable[[], float | None], b: Callable[[], float | None], pairs: int) -> tuple[float, list[Pair]]:
    """Run ``a`` and ``b`` in turn ``pairs`` times; the median of a/b, and every pair."""
    runs: list[Pair] = []
    for _ in range(pairs):
        x, y = a(), b()
        if x is None or y is None:
            raise RuntimeError("a benchmark run failed")
        runs.append((x, y))
    return statistics.median(x / y for x, y in runs), runs


def _good(formulas: Sequence[str]) -> list[str]:
    """The formulas the bare loop can take (it has no error handling): those our backend renders."""
    out = Path(tempfile.mkdtemp())
    try:
        from asyncrender.config import RenderSettings
        from asyncrender.render.base import RenderItem

        items = [RenderItem(f, "display", out / f"{k}.png") for k, f in enumerate(formulas) if f.strip()]
        results = latex_backend.LatexBackend().render(items, RenderSettings(renderer="latex", dpi=tex_corpus.DPI))
        return [i.latex for i, r in zip(items, results, strict=True) if r.ok and "%" not in i.latex]
    finally:
        remove_tree(out)


def _bare(formulas: Sequence[str], fmt: Path, where: str | None = None) -> Callable[[], float]:
    return lambda: tex_corpus.bare_loop(formulas, 500, fmt, where)


def _cli(formulas: Sequence[str], jobs: int, repeat: int, share: bool = True,
         where: str | None = None) -> Callable[[], float | None]:
    def run() -> float | None:
        use_cores(jobs)
        try:
            return tex_corpus.run_cli(formulas, jobs, repeat, share, where)
        finally:
            use_cores(1)

    return run


def _table(header: tuple[str, str], runs: list[Pair]) -> list[str]:
    return [f"| pair | {header[0]} | {header[1]} | ratio |", "| --- | ---: | ---: | ---: |",
            *[f"| {i + 1} | {a:,.0f} | {b:,.0f} | {a / b:.2f} |" for i, (a, b) in enumerate(runs)], ""]


def _seconds(cmd: Sequence[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _time_to_first_job(work: Path, repeat: int) -> tuple[float, float]:
    """Medians of launch to the run log's ``run_start`` (written as the first job is sent) and of
    launch to exit, for a one-formula run with the latex backend."""
    listing = write_extracted_corpus(work / "first", 1, 1, ["x"])
    firsts, wholes = [], []
    for k in range(repeat):
        first, whole = timed_render([*console_script(), "render", str(listing), "-c", str(work / f"fc{k}"),
                                     "-o", str(work / f"fo{k}"), "-j", "1", "--quiet"], work / f"first{k}.log")
        firsts.append(first)
        wholes.append(whole)
    return statistics.median(firsts), statistics.median(wholes)


ROWS = ("1", "2", "3", "4", "5")  # 1 includes 1b and 1c; 5 includes 6 (one set of runs)


def run(work: Path, quick: bool, rows: Sequence[str] = ROWS, pairs: int | None = None) -> Section:
    """The section, or the ``rows`` asked for; ``pairs`` A/B pairs a row (default 3, 2 quick)."""
    s = Section("Performance (issue 15): paired medians")
    # Every run starts Python afresh: where PYTHONDONTWRITEBYTECODE is set, a module edited since
    # its bytecode was compiled would be compiled from source in each (as scripts/setup.sh avoids).
    compileall.compile_dir(Path(asyncrender.__file__).parent, quiet=1)
    with removals_held():  # no run pays for the file deletions of the one before it (common.removals_held)
        waited = settle_disk(Path(tempfile.gettempdir()) / f"asyncrender-settle-{os.getpid()}")
        s.lines += [f"(Waited {waited:.0f} s for the disk to settle before the first row: "
                    "`benchmarks.common.settle_disk`.)", ""]
        if set(rows) & {"1", "2", "3"}:
            _tex_rows(s, rows, pairs or (2 if quick else 3), quick)
        if "4" in rows:
            _startup_row(s, work)
        if "5" in rows:
            _orchestrator_rows(s, work, quick)
    use_cores(os.cpu_count() or 1)
    return s


def _tex_rows(s: Section, rows: Sequence[str], pairs: int, quick: bool) -> None:
    """Rows 1-3: asyncrender end to end against the bare loop, and -j 2 against -j 1."""
    if not (tex_corpus.CORPUS.exists() and latex_backend.tex_available()):
        s.lines += [f"Rows 1-3 skipped: they need TeX and the shared corpus at {tex_corpus.CORPUS}.", ""]
        return
    use_cores(1)
    formulas = tex_corpus.load_corpus()
    good = _good(formulas)
    fmt_dir = Path(tempfile.mkdtemp())
    try:
        fmt = tex_corpus.build_format(fmt_dir)
        repeat = 2 if quick else 5
        n = repeat * len(formulas)
        if "1" in rows:
            ratio1, runs1 = paired(_cli(formulas, 1, repeat), _bare(good * repeat, fmt), pairs)
            s.lines += [f"**1. End to end `-j 1` vs the bare batch-500 loop**, {n:,} formulas in {30 * repeat} "
                        f"papers, one core (the loop on the {len(good) * repeat:,} that compile), formulas/s:", "",
                        *_table(("asyncrender -j 1", "bare loop"), runs1),
                        f"Median ratio: **{ratio1:.2f}x** (aim ≥ 1.0x).", ""]
            s.headlines["end to end -j 1 / bare loop"] = f"{ratio1:.2f}x"
            ratio1u, runs1u = paired(_cli(formulas, 1, repeat, share=False), _bare(good * repeat, fmt), pairs)
            s.lines += [f"**1b. The same, every copy typeset** (`run.share_images = false`: the corpus {repeat} "
                        "times over repeats every formula, which 1. typesets once), formulas/s:", "",
                        *_table(("asyncrender -j 1, no sharing", "bare loop"), runs1u),
                        f"Median ratio: **{ratio1u:.2f}x**.", ""]
            s.headlines["end to end -j 1 / bare loop, no sharing"] = f"{ratio1u:.2f}x"
            if os.path.isdir("/dev/shm"):
                ratio1m, runs1m = paired(_cli(formulas, 1, repeat, share=False, where="/dev/shm"),
                                         _bare(good * repeat, fmt, "/dev/shm"), pairs)
                s.lines += ["**1c. 1b with both in memory** (`/dev/shm`): asyncrender creates a file per image "
                            "where the bare loop overwrites the 500 files of its last batch; in memory a create "
                            "costs next to nothing, formulas/s:", "",
                            *_table(("asyncrender -j 1, no sharing", "bare loop"), runs1m),
                            f"Median ratio: **{ratio1m:.2f}x**.", ""]
                s.headlines["end to end -j 1 / bare loop, no sharing, in memory"] = f"{ratio1m:.2f}x"
        if "2" in rows:
            ratio2, runs2 = paired(_cli(formulas, 2, repeat, share=False), _cli(formulas, 1, repeat, share=False),
                                   pairs)
            s.lines += [f"**2. `-j 2` vs `-j 1`**, the same {n:,} formulas, two cores vs one, every copy typeset "
                        "(sharing would make the two do different work), formulas/s:", "",
                        *_table(("-j 2", "-j 1"), runs2), f"Median ratio: **{ratio2:.2f}x** (aim ≥ 1.9x).", ""]
            s.headlines["-j 2 / -j 1"] = f"{ratio2:.2f}x"
        if "3" in rows:
            tripled = tex_corpus.tripled(formulas, n // 3)
            tripled_good = [f for f in tripled if f in set(good)]
            ratio3, runs3 = paired(_cli(tripled, 1, 1), _bare(tripled_good, fmt), pairs)
            s.lines += [f"**3. Each formula three times**: {len(tripled):,} items, {len(tripled) // 3:,} distinct, "
                        "end to end `-j 1` vs the bare loop typesetting every copy, items/s:", "",
                        *_table(("asyncrender -j 1", "bare loop"), runs3),
                        f"Median ratio: **{ratio3:.2f}x** (aim ≥ 2.0x).", ""]
            s.headlines["3x repeated corpus: -j 1 / bare loop"] = f"{ratio3:.2f}x"
        if "2" in rows and not quick and os.path.isdir("/dev/shm"):
            # A longer run, where the start-up weighs less; in memory (after row 3, which its
            # 144,000 images written to the disk would disturb).
            long_n = 20 * len(formulas)
            ratio2b, runs2b = paired(_cli(formulas, 2, 20, share=False, where="/dev/shm"),
                                     _cli(formulas, 1, 20, share=False, where="/dev/shm"), pairs)
            s.lines += [f"**2b. `-j 2` vs `-j 1` on {long_n:,} formulas** (the corpus 20 times, 600 papers), in "
                        "`/dev/shm`: the start-up (about 0.2 s before the first job) and the run's end weigh "
                        "less, formulas/s:", "", *_table(("-j 2", "-j 1"), runs2b),
                        f"Median ratio: **{ratio2b:.2f}x**.", ""]
            s.headlines[f"-j 2 / -j 1, {long_n:,} formulas, in memory"] = f"{ratio2b:.2f}x"
    finally:
        shutil.rmtree(fmt_dir, ignore_errors=True)


def _startup_row(s: Section, work: Path) -> None:
    use_cores(2)
    help_s = _seconds([*console_script(), "--help"], 7)
    first_s, whole_s = _time_to_first_job(work, 7)
    s.lines += [f"**4. Start-up** (median of 7 runs each, the installed script run directly): `asyncrender --help` "
                f"**{help_s:.3f} s**; a run's time to its first job **{first_s:.3f} s** (aim < 0.2 s each); a "
                f"whole one-formula run, image drawn, **{whole_s:.3f} s**.", ""]
    s.headlines["asyncrender --help"] = f"{help_s:.3f} s"
    s.headlines["time to first job"] = f"{first_s:.3f} s"


def _orchestrator_rows(s: Section, work: Path, quick: bool) -> None:
    """Rows 5 and 6: the orchestrator alone, and --resume, on the work disk and on tmpfs."""
    use_cores(2)
    n_files = 5_000 if quick else 20_000
    listing = write_extracted_corpus(work / "orch", n_files, 1, ["x"])
    places = [("work disk", work)] + ([("tmpfs", Path(tempfile.mkdtemp(dir="/dev/shm")))]
                                      if os.path.isdir("/dev/shm") else [])
    rates: dict[str, float] = {}
    each: dict[str, list[float]] = {}  # every run's rate, in order: the fresh cache's first
    for label, where in places:
        def rate(resume: bool, where: Path = where) -> float:
            done = anyio.run(functools.partial(render_listing, listing, where / "nc", where / "no", 2, null=True,
                                               resume=resume))
            return float(done["skipped" if resume else "files"] / done["seconds"])

        # The first run counts the fresh cache's summary; the next ones add a delta.
        each[label] = [rate(False) for _ in range(4)]
        each[f"resume {label}"] = [rate(True) for _ in range(3)]
        rates[label] = statistics.median(each[label][1:])
        rates[f"resume {label}"] = statistics.median(each[f"resume {label}"])
    tiny = anyio.run(lambda: render_listing(listing, work / "oc", work / "oo", 2))
    for _, where in places[1:]:
        shutil.rmtree(where, ignore_errors=True)
    rate5 = max(rates[label] for label, _ in places)
    s.lines += [f"**5. The orchestrator alone** ({n_files:,} files of one item, the median of three runs over "
                "its cache, runner that does no work): "
                + "; ".join(f"cache on the {label} **{rates[label]:,.0f} files/s**" for label, _ in places)
                + f" (aim ≥ 10,000); with the benchmark-only 1x1 PNG backend in 2 workers "
                f"{tiny['files'] / tiny['seconds']:,.0f} files/s."]
    rate6 = max(rates[f"resume {label}"] for label, _ in places)
    s.lines += ["", f"**6. `--resume`** over the same {n_files:,} cached files, the median of three: " + "; ".join(
        f"{label} **{rates['resume ' + label]:,.0f} files/s**" for label, _ in places)
        + " (aim ≥ 30,000; the memory section measures it at 100,000 files).",
        "", "Every run of rows 5 and 6, in order (files/s; row 5's first fills the cache): " + "; ".join(
            f"{label} " + ", ".join(f"{r:,.0f}" for r in runs) for label, runs in each.items()) + "."]
    s.headlines["orchestrator alone"] = f"{rate5:,.0f} files/s"
    s.headlines["resume"] = f"{rate6:,.0f} files/s"


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rows", default=",".join(ROWS), help="rows to run, e.g. 2,3 (default: all)")
    ap.add_argument("--pairs", type=int, help="A/B pairs a row (default 3, 2 with --quick)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        section = run(Path(tmp), args.quick, args.rows.split(","), args.pairs)
        print("\n".join(section.lines))


if __name__ == "__main__":
    main()
