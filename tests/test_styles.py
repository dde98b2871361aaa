"""styles: which looks an item gets (pure), and the style settings."""

from __future__ import annotations

from collections import Counter

import pytest

from asyncrender.config import ConfigError, RenderSettings, parse_config
from asyncrender.styles import BUILT_IN, item_dpi, item_styles

SIX = ("cm", "lm", "times", "palatino", "sans", "euler")


def test_all_gives_every_style_and_one_gives_one_fixed_by_seed_paper_and_item() -> None:
    assert item_styles(SIX, "all", 0, "p", "eq1") == SIX
    picks = [item_styles(SIX, "one", 7, "p", str(i)) for i in range(600)]
    assert all(len(p) == 1 for p in picks)
    assert picks == [item_styles(SIX, "one", 7, "p", str(i)) for i in range(600)]  # the same every time
    counts = Counter(p[0] for p in picks)
    assert set(counts) == set(SIX) and min(counts.values()) > 60  # every style drawn, roughly evenly
    assert picks != [item_styles(SIX, "one", 8, "p", str(i)) for i in range(600)]  # the seed matters
    assert [item_styles(SIX, "one", 7, "q", str(i)) for i in range(600)] != picks  # so does the paper


def test_a_dpi_range_draws_each_item_a_dpi_within_it() -> None:
    dpis = [item_dpi(200, (110, 170), 3, "p", str(i)) for i in range(500)]
    assert min(dpis) >= 110 and max(dpis) <= 170 and len(set(dpis)) > 40
    assert dpis == [item_dpi(200, (110, 170), 3, "p", str(i)) for i in range(500)]
    assert item_dpi(200, None, 3, "p", "x") == 200


def test_style_settings_from_a_file() -> None:
    config = parse_config("""
[render]
styles = ["times", "mine"]
style_choice = "one"
dpi = [110, 170]
[render.style.mine]
preamble = ['\\usepackage{mathpazo}']
font_size = 11
dpi = 300
""")
    render = config.render
    assert render.multi_look and render.dpi_range == (110, 170)
    mine = render.for_look("mine", 300)
    assert mine.preamble[-1] == r"\usepackage{mathpazo}" and mine.font_size == 11 and mine.dpi == 300
    assert render.for_look("times", 120).preamble[-1] == BUILT_IN["times"].preamble[-1]
    looks = [render.item_looks("p", str(i)) for i in range(50)]
    assert all(dpi == 300 for ((style, dpi),) in looks if style == "mine")  # a style's own dpi wins
    assert all(110 <= dpi <= 170 for ((style, dpi),) in looks if style == "times")


def test_default_styles_leave_the_fingerprint_as_it_was() -> None:
    """A cache made before styles existed stays valid; any style setting changes the fingerprint."""
    plain = RenderSettings().pixel_settings()
    assert "styles" not in plain and plain == RenderSettings(seed=9).pixel_settings()
    assert RenderSettings(styles=("cm", "times")).pixel_settings() != plain
    assert RenderSettings(styles=("times",)).pixel_settings() != RenderSettings(styles=("palatino",)).pixel_settings()
    assert RenderSettings(dpi_range=(100, 150)).pixel_settings() != plain


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('styles = ["comic"]', "unknown style 'comic'"),
        ("styles = []", "at least one style"),
        ('styles = ["cm", "cm"]', "twice"),
        ("dpi = [200, 100]", "low <= high"),
        ('style_choice = "some"', "render.style_choice must be one of all, one"),
        ("[render.style.Bad]\nfont_size = 11", "a style name is"),
        ("[render.style.ok]\nfonts = 1", "unknown setting render.style.ok.fonts"),
        ("[render.style.ok]\nfont_size = 13", "render.style.ok"),
    ],
)
def test_bad_style_settings_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(f"[render]\n{text}\n")
