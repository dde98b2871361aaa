"""The README picture: which formulas it picks, and the PNG it draws from a real cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from asyncrender.outputs.gallery import make_gallery, pick_images
from tests.support.outputs_cache import Rendered, rendered_cache


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return rendered_cache(tmp_path_factory)


def _entry(paper: str, images: list[tuple[str, str, int]]) -> dict[str, object]:
    return {"file": paper + ".json", "paper_id": paper,
            "images": [{"id": i, "type": t, "width": w, "latex": f"x_{i}", "path": f"/r/{paper}/{i}.png"}
                       for i, t, w in images]}


ENTRIES = [_entry("A", [("in1", "inline", 50), ("eq1", "display", 5000), ("eq2", "display", 300)]),
           _entry("B", [("eq1", "display", 200)]),
           _entry("C", [("eq1", "display", 200)])]


def test_picks_the_first_display_formula_that_fits_per_paper() -> None:
    picks = pick_images(ENTRIES, 2)
    assert [(p.paper_id, p.item_id) for p in picks] == [("A", "eq2"), ("B", "eq1")]


def test_named_items_come_in_the_order_given_and_unknown_ones_are_an_error() -> None:
    picks = pick_images(ENTRIES, 1, ["C/eq1", "A/in1"])
    assert [(p.paper_id, p.item_id) for p in picks] == [("C", "eq1"), ("A", "in1")]
    with pytest.raises(LookupError, match="A/eq9"):
        pick_images(ENTRIES, 1, ["A/eq9"])


def test_gallery_png_from_a_rendered_cache(rendered: Rendered, tmp_path: Path) -> None:
    out = tmp_path / "docs" / "gallery.png"
    picks = make_gallery(rendered.cache_dir, out, count=3)
    assert len(picks) == 3 and len({p.paper_id for p in picks}) == 3
    with Image.open(out) as picture:
        three = picture.size
        # Each pick's image is pasted as drawn: its darkest pixels show up on the right half.
        assert picture.convert("L").crop((three[0] // 2, 0, *three)).getextrema()[0] < 64
    make_gallery(rendered.cache_dir, out, count=5)
    with Image.open(out) as picture:
        assert picture.size[1] > three[1] and picture.size[0] == three[0]
