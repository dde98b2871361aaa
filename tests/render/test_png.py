"""render.png: image modes, padding to a multiple, the dpi in pHYs and the baseline depth, on real
PNGs from both backends (mathtext always; latex when TeX is installed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from asyncrender.cache.entry import config_fingerprint
from asyncrender.config import ConfigError, RenderSettings
from asyncrender.render.base import RenderItem
from asyncrender.render.mathtext import MathtextBackend
from asyncrender.render.png import finish_png, with_dpi


def _png(mode: str, size: tuple[int, int], colour: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, format="PNG")  # type: ignore[arg-type]
    return buf.getvalue()


def _ink_on_transparent() -> bytes:
    im = Image.new("RGBA", (10, 7), (0, 0, 0, 0))
    im.putpixel((2, 3), (0, 0, 0, 255))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P"])
def test_modes_convert_and_keep_the_ink(mode: str) -> None:
    out = finish_png(_ink_on_transparent(), RenderSettings(image_mode=mode, dpi=150), depth=2)  # type: ignore[arg-type]
    with Image.open(io.BytesIO(out.data)) as im:
        assert im.mode == mode and im.size == (10, 7) == (out.width, out.height)
        rgba = im.convert("RGBA")
    assert rgba.getpixel((2, 3))[:3] == (0, 0, 0)
    if mode in ("L", "RGB"):  # no alpha: the transparent background became white
        assert rgba.getpixel((0, 0)) == (255, 255, 255, 255)
    else:
        assert rgba.getpixel((0, 0))[3] == 0
    assert out.depth == 2


def test_padding_to_a_multiple_grows_right_and_down_and_deepens_the_baseline() -> None:
    out = finish_png(_ink_on_transparent(), RenderSettings(pad_to_multiple=32, background="white"), depth=2)
    assert (out.width, out.height) == (32, 32)
    assert out.depth == 2 + 25  # 25 rows were added below the 7 drawn
    with Image.open(io.BytesIO(out.data)) as im:
        rgba = im.convert("RGBA")
    assert rgba.getpixel((2, 3)) == (0, 0, 0, 255)  # the ink did not move
    assert rgba.getpixel((31, 31)) == (255, 255, 255, 255)


@pytest.mark.parametrize("dpi", [72, 150, 200, 600])
def test_every_png_says_its_real_dpi(dpi: int) -> None:
    native = finish_png(_png("P", (4, 4), 0), RenderSettings(dpi=dpi))
    with Image.open(io.BytesIO(native.data)) as im:
        assert im.info["dpi"] == pytest.approx((dpi, dpi), abs=0.05)
        im.load()  # every chunk's CRC still checks out
    once = with_dpi(native.data, dpi)
    assert once == native.data and once.count(b"pHYs") == 1


def test_new_settings_at_their_default_leave_the_fingerprint_alone() -> None:
    assert "image_mode" not in RenderSettings().pixel_settings()
    default = config_fingerprint(RenderSettings(), "mathtext", "v")["fingerprint"]
    assert config_fingerprint(RenderSettings(image_mode="native", pad_to_multiple=1), "mathtext", "v")[
        "fingerprint"] == default
    assert config_fingerprint(RenderSettings(image_mode="L"), "mathtext", "v")["fingerprint"] != default
    assert config_fingerprint(RenderSettings(pad_to_multiple=32), "mathtext", "v")["fingerprint"] != default
    for bad in ({"image_mode": "CMYK"}, {"pad_to_multiple": 0}, {"pad_to_multiple": True}):
        with pytest.raises(ConfigError):
            RenderSettings(**bad)  # type: ignore[arg-type]


def _baseline_row(path: Path, depth: int) -> tuple[int, int]:
    """The last row with ink, and the row of the baseline (counted from the top)."""
    with Image.open(path) as im:
        alpha = im.convert("RGBA").getchannel("A")
        rows = [y for y in range(im.height) if alpha.crop((0, y, im.width, y + 1)).getextrema()[1] > 128]
        return rows[-1], im.height - depth


def test_mathtext_records_depth_mode_padding_and_dpi(tmp_path: Path) -> None:
    settings = RenderSettings(renderer="mathtext", dpi=200, image_mode="L", pad_to_multiple=16)
    items = [RenderItem("x", "inline", tmp_path / "x.png"), RenderItem("y_{j}", "inline", tmp_path / "y.png")]
    outcomes = MathtextBackend().render(items, settings)
    for outcome, item in zip(outcomes, items, strict=True):
        with Image.open(item.out_path) as im:
            assert im.mode == "L" and im.size == (outcome.width, outcome.height)
            assert im.width % 16 == 0 and im.height % 16 == 0
            assert im.info["dpi"] == pytest.approx((200, 200), abs=0.05)
    plain = [RenderItem("x", "inline", tmp_path / "p.png"), RenderItem("y_{j_k}", "inline", tmp_path / "q.png")]
    x, y = MathtextBackend().render(plain, RenderSettings(renderer="mathtext", dpi=200))
    assert x.depth is not None and y.depth is not None and y.depth > x.depth
    last_ink, baseline = _baseline_row(tmp_path / "p.png", x.depth)
    assert abs(last_ink + 1 - baseline) <= 1  # "x" sits on its baseline


def test_latex_depth_is_the_baseline_of_the_cropped_image(tmp_path: Path, tex: None) -> None:
    from asyncrender.render.latex import LatexBackend

    latex = [("x", "inline"), ("y", "inline"), (r"\sum_{i=1}^n i^2", "display"), (r"\frac{a}{b}", "display")]
    items = [RenderItem(text, kind, tmp_path / f"{n}.png") for n, (text, kind) in enumerate(latex)]
    settings = RenderSettings(renderer="latex", dpi=200, pad_to_multiple=8)
    outcomes = LatexBackend().render(items, settings)
    assert all(o.ok and o.depth is not None for o in outcomes), outcomes
    x, y, total, frac = outcomes
    assert y.depth is not None and x.depth is not None and y.depth > x.depth
    last_ink, baseline = _baseline_row(items[0].out_path, x.depth)
    assert abs(last_ink + 1 - baseline) <= 1
    with Image.open(items[2].out_path) as im:
        assert im.info["dpi"] == pytest.approx((200, 200), abs=0.05) and im.height % 8 == 0
    assert total.depth is not None and frac.depth is not None and total.depth > 0 and frac.depth > 0


def test_cli_flags_reach_the_images_the_entries_and_the_fingerprint(tmp_path: Path) -> None:
    from tests.support.cli import cli, entries
    from tests.support.outputs_cache import paper_items

    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "a_extracted.json").write_text(json.dumps({"paper_id": "A", "items": paper_items(1)[:3]}))
    (tmp_path / "list.txt").write_text("papers/a_extracted.json\n")
    args = ["render", str(tmp_path / "list.txt"), "-c", str(tmp_path / "c"), "-o", str(tmp_path / "r"),
            "--renderer", "mathtext", "-j", "1", "--resume", "--json"]
    first = cli(*args, "--image-mode", "L", "--pad-to-multiple", "8")
    assert first.returncode == 0, first.stderr
    (entry,) = entries(tmp_path / "c").values()
    assert entry["config"]["image_mode"] == "L" and entry["config"]["pad_to_multiple"] == 8
    for image in entry["images"]:
        with Image.open(image["path"]) as im:
            assert im.mode == "L" and im.width % 8 == 0 and im.height % 8 == 0
        assert 0 <= image["depth"] < image["height"]
    same = json.loads(cli(*args, "--image-mode", "L", "--pad-to-multiple", "8").stdout)
    assert same["run"]["skipped"] == 1
    other = json.loads(cli(*args, "--image-mode", "RGB", "--pad-to-multiple", "8").stdout)
    assert other["run"]["skipped"] == 0  # another mode is another fingerprint: rendered again
    bad = cli(*args, "--image-mode", "CMYK")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "image_mode" in bad.stderr
