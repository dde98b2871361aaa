"""Styles (issue 14): images/s with six built-in styles against one, the worker's own code on one
core (``render_job``: items grouped by style, each style's TeX runs batched as usual). Part of
``python -m benchmarks all``; alone: ``python -m benchmarks styles``.

The two settings run in turn, several pairs, after a warm-up that builds every style's format; the
ratio quoted is the median of the pairs' ratios (single runs on a shared machine swing by 30%).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from asyncrender.config import RenderSettings
from asyncrender.model import ListedFile, RenderJob
from asyncrender.styles import BUILT_IN
from asyncrender.worker.process import render_job
from benchmarks.common import Section, formulas

PAPER_SIZE = 40


def _job(work: Path, papers: int, settings: RenderSettings) -> RenderJob:
    pool = [f for f in formulas() if f.strip()]
    files = []
    for p in range(papers):
        path = work / f"p{p}_extracted.json"
        items = [{"id": str(i), "latex": pool[(p * PAPER_SIZE + i) % len(pool)]} for i in range(PAPER_SIZE)]
        path.write_text(json.dumps({"paper_id": f"p{p}", "items": items}))
        files.append(ListedFile(path.name, str(path)))
    return RenderJob(tuple(files), settings, str(work / "out"))


def _images_per_second(job: RenderJob) -> tuple[float, int]:
    start = time.perf_counter()
    outcomes = render_job(job)
    seconds = time.perf_counter() - start
    images = sum(len(o.images) for o in outcomes)
    return images / seconds, images


def run(work: Path, quick: bool) -> Section:
    work = work / "styles"
    work.mkdir(parents=True, exist_ok=True)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    papers, pairs = (3, 3) if quick else (12, 5)
    one = _job(work, papers, RenderSettings(renderer="latex"))
    six = _job(work, papers, RenderSettings(renderer="latex", styles=tuple(BUILT_IN)))
    _images_per_second(six)  # warm-up: every style's format is built once, as a first run would
    ratios, rates = [], []
    for _ in range(pairs):
        rate_one, n_one = _images_per_second(one)
        rate_six, n_six = _images_per_second(six)
        ratios.append(rate_six / rate_one)
        rates.append((rate_one, rate_six))
    median = statistics.median(ratios)
    section = Section("Styles: six built-in styles against one (worker, one core)")
    section.lines += [
        f"{papers * PAPER_SIZE} formulas in {papers} papers of {PAPER_SIZE}; one style makes {n_one} images, "
        f"six make {n_six}. {pairs} pairs, run in turn; images/s of each pair:",
        "",
        "| pair | 1 style (images/s) | 6 styles (images/s) | ratio |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {i + 1} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |" for i, (a, b) in enumerate(rates)],
        "",
        f"Median ratio of images/s, six styles over one: **{median:.2f}** (1.0 would mean a style costs "
        "nothing extra per image: each style's items still share TeX runs).",
    ]
    section.headlines["six styles / one, images/s"] = f"{median:.2f}x"
    return section


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print("\n".join(run(Path(tmp), quick=True).lines))
