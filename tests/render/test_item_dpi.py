"""Issue 14 follow-up: a dpi per item (``RenderItem.dpi``), so that a dpi range costs no extra TeX
run: one latex run per batch, one dvipng call per distinct dpi over the same DVI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from PIL import Image

from asyncrender.config import RenderSettings
from asyncrender.model import ListedFile, RenderJob
from asyncrender.render.base import RenderItem
from asyncrender.render.latex import LatexBackend, tex_available
from asyncrender.render.mathtext import MathtextBackend
from asyncrender.worker.process import render_job_with

SETTINGS = RenderSettings(renderer="latex", timeout=20.0, dpi=100)
FORMULAS = [r"\int_0^1 x^2\,dx", r"E = mc^2", r"\sum_{n=1}^N \frac{1}{n}"]


@pytest.fixture
def tex() -> None:
    if not tex_available():
        pytest.skip("TeX is not installed (latex, dvipng and preview.sty are needed)")


def _recorded_dpi(path: Path) -> float:
    with Image.open(path) as im:
        return float(im.info["dpi"][0])


@pytest.mark.usefixtures("tex")
def test_mixed_dpis_share_one_latex_run_and_each_item_is_as_alone(tmp_path: Path) -> None:
    dpis = [100, 150, 250, None]  # None: the settings' dpi
    items = [RenderItem(f, "display", tmp_path / f"{k}-{d}.png", d) for k, f in enumerate(FORMULAS) for d in dpis]
    backend = LatexBackend()
    outcomes = backend.render(items, SETTINGS)
    assert all(o.ok for o in outcomes), outcomes
    assert (backend.counts.latex, backend.counts.dvipng) == (1, 3)
    size = {(item.latex, item.dpi or SETTINGS.dpi): (o.width, o.height)
            for item, o in zip(items, outcomes, strict=True)}
    for item, outcome in zip(items, outcomes, strict=True):
        dpi = item.dpi or SETTINGS.dpi
        assert abs(_recorded_dpi(item.out_path) - dpi) < 0.5
        w100, h100 = size[(item.latex, 100)]
        assert abs(outcome.width - w100 * dpi / 100) <= 3 and abs(outcome.height - h100 * dpi / 100) <= 3
        alone = tmp_path / "alone" / item.out_path.name
        (one,) = LatexBackend().render([dataclasses.replace(item, out_path=alone, dpi=None)],
                                       dataclasses.replace(SETTINGS, dpi=dpi))
        assert one.ok and alone.read_bytes() == item.out_path.read_bytes(), item


@pytest.mark.usefixtures("tex")
def test_a_dpi_range_renders_a_paper_in_one_latex_run(tmp_path: Path) -> None:
    items = [{"id": str(k), "latex": FORMULAS[1]} for k in range(12)]
    path = tmp_path / "p_extracted.json"
    path.write_text(json.dumps({"paper_id": "p", "items": items}))
    settings = RenderSettings(renderer="latex", dpi_range=(110, 170), seed=1)
    backend = LatexBackend()
    (outcome,) = render_job_with(RenderJob((ListedFile("p_extracted.json", str(path)),), settings,
                                           str(tmp_path / "out")), backend)
    assert not outcome.errors and len(outcome.images) == 12
    dpis = [image.get("dpi") for image in outcome.images]
    assert len(set(dpis)) > 3 and dpis == [settings.item_looks("p", str(k))[0][1] for k in range(12)]
    assert backend.counts.latex == 1 and backend.counts.dvipng == len(set(dpis))
    by_dpi = sorted((image["dpi"], image["width"]) for image in outcome.images if "dpi" in image)
    assert [w for _, w in by_dpi] == sorted(w for _, w in by_dpi)  # wider as the dpi grows
    assert by_dpi[-1][1] > by_dpi[0][1] * 1.3
    for image in outcome.images:
        assert abs(_recorded_dpi(Path(image["path"])) - image["dpi"]) < 0.5


def test_mathtext_honours_the_item_dpi(tmp_path: Path) -> None:
    settings = RenderSettings(renderer="mathtext", dpi=100)
    backend = MathtextBackend()
    low, high = backend.render([RenderItem("x^2+y", "display", tmp_path / "a.png"),
                                RenderItem("x^2+y", "display", tmp_path / "b.png", 200)], settings)
    (same,) = backend.render([RenderItem("x^2+y", "display", tmp_path / "c.png")],
                             dataclasses.replace(settings, dpi=200))
    assert (same.width, same.height) == (high.width, high.height)
    assert (tmp_path / "b.png").read_bytes() == (tmp_path / "c.png").read_bytes()
    assert high.width > low.width * 1.8 and _recorded_dpi(tmp_path / "b.png") == pytest.approx(200, abs=0.5)
