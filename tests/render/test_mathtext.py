"""render.mathtext: the pip-only backend, for real (matplotlib draws real PNGs)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from asyncrender.config import RenderSettings
from asyncrender.render.base import RenderItem
from asyncrender.render.mathtext import MathtextBackend


def test_renders_good_items_and_fails_bad_ones_alone(tmp_path: Path) -> None:
    items = [
        RenderItem(r"\frac{a}{b} + \sum_{i=1}^n x_i", "display", tmp_path / "a.png"),
        RenderItem(r"\frac{a}{", "display", tmp_path / "bad.png"),
        RenderItem(r"\begin{tabular}{c} a \end{tabular}", "raw", tmp_path / "raw.png"),
        RenderItem(r"\alpha^2", "inline", tmp_path / "b.png"),
    ]
    outcomes = MathtextBackend().render(items, RenderSettings(renderer="mathtext", dpi=100))
    assert [o.error_kind for o in outcomes] == [None, "latex", "unsupported", None]
    assert outcomes[1].message and outcomes[1].message.startswith("mathtext:")
    for outcome, item in zip(outcomes, items, strict=True):
        if outcome.ok:
            with Image.open(item.out_path) as image:
                assert image.size == (outcome.width, outcome.height)
        else:
            assert not item.out_path.exists()


def test_dpi_scales_the_image_and_the_cap_refuses_huge_ones(tmp_path: Path) -> None:
    backend = MathtextBackend()
    item = RenderItem("x^2 + y^2", "display", tmp_path / "x.png")
    small = backend.render([item], RenderSettings(renderer="mathtext", dpi=100))[0]
    large = backend.render([item], RenderSettings(renderer="mathtext", dpi=300))[0]
    assert large.width > 2 * small.width
    capped = backend.render([item], RenderSettings(renderer="mathtext", dpi=300, max_pixels=100))[0]
    assert capped.error_kind == "too_large"
