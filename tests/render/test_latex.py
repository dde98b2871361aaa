"""The latex backend with real TeX: isolation, pixel identity, sandbox, timeouts, size cap, corpus."""

from __future__ import annotations

import random
import resource
import time
from pathlib import Path

import pytest
from PIL import Image

from asyncrender.config import ConfigError, RenderSettings
from asyncrender.model import ItemType
from asyncrender.render.base import ItemOutcome, RenderItem
from asyncrender.render.latex import LatexBackend, tex_available

pytestmark = pytest.mark.usefixtures("tex")

SETTINGS = RenderSettings(renderer="latex", timeout=3.0)
GOOD = [
    r"a+b=c",
    r"\frac{1}{2}\int_0^\infty e^{-x^2}\,dx",
    r"\sum_{n=1}^{N} \alpha_n \mathbb{R}^n",
    r"\left(\begin{matrix} a & b \\ c & d \end{matrix}\right)",
    r"x^{2}_{i} \leq \sqrt[3]{y}",
]


def pixels(path: Path) -> tuple[tuple[int, int], bytes]:
    with Image.open(path) as im:
        return im.size, im.convert("RGBA").tobytes()


def render(latex: list[str], tmp: Path, settings: RenderSettings = SETTINGS,
           kind: ItemType = "display") -> list[ItemOutcome]:
    items = [RenderItem(x, kind, tmp / f"{k}.png") for k, x in enumerate(latex)]
    return LatexBackend().render(items, settings)


def alone(latex: str, tmp: Path, settings: RenderSettings = SETTINGS, kind: ItemType = "display"
          ) -> tuple[ItemOutcome, Path]:
    out = tmp / f"alone-{abs(hash(latex))}.png"
    return LatexBackend().render([RenderItem(latex, kind, out)], settings)[0], out


def test_tex_available_and_version() -> None:
    assert tex_available()
    v = LatexBackend().version()
    assert "pdfTeX" in v and "dvipng" in v


def test_batch_is_pixel_identical_to_alone(tmp_path: Path) -> None:
    res = render(GOOD, tmp_path)
    assert all(r.ok for r in res), res
    for k, x in enumerate(GOOD):
        one, path = alone(x, tmp_path)
        assert one.ok and (one.width, one.height) == (res[k].width, res[k].height)
        assert pixels(path) == pixels(tmp_path / f"{k}.png")


POISON = {
    "undefined": r"\undefinedmacro x",
    "unbalanced_open": r"\frac{a",
    "unbalanced_close": r"a}b",
    "stray_dollar": r"a $ b",
    "end_document": r"x \end{document}",
    "end_preview": r"x\end{preview}y",
    "runaway": r"\sqrt{\left( a",
    "par_in_math": "a\n\nb",
    "def_leak": r"\def\alpha{LEAK}\alpha \undefinedfoo",
    "unclosed_group": r"\begingroup \color{red} x",
    "catcode": "\\catcode`\\a=13\na",
    "capacity": r"\def\a{\a\a}\a",
}


@pytest.mark.parametrize("name", sorted(POISON))
def test_poison_fails_alone_and_neighbours_are_unharmed(name: str, tmp_path: Path) -> None:
    bad = POISON[name]
    batch = [GOOD[0], GOOD[1], bad, GOOD[2], r"\alpha+a", GOOD[3]]
    res = render(batch, tmp_path)
    assert res[2].error_kind == "latex", (name, res[2])
    msg = res[2].message or ""
    assert msg.startswith("!") or "stopped" in msg, msg
    for k in (0, 1, 3, 4, 5):
        assert res[k].ok, (name, k, res[k])
        _, path = alone(batch[k], tmp_path)
        assert pixels(path) == pixels(tmp_path / f"{k}.png"), (name, k)


def test_local_state_does_not_leak(tmp_path: Path) -> None:
    """An item that renders but changes state (a local \\def, a catcode) leaves the next unchanged."""
    batch = [r"\def\alpha{Q}\alpha", r"\alpha", r"\catcode`\b=11 b", r"b"]
    res = render(batch, tmp_path)
    assert all(r.ok for r in res)
    for k in (1, 3):
        _, path = alone(batch[k], tmp_path)
        assert pixels(path) == pixels(tmp_path / f"{k}.png")


def test_raw_and_inline_items(tmp_path: Path) -> None:
    raw = [r"\begin{tabular}{|c|c|}\hline a & b \\ \hline\end{tabular}",
           r"\begin{align*} a &= b \\ c &= d \end{align*}"]
    assert all(r.ok for r in render(raw, tmp_path, kind="raw"))
    res = render([r"\sum_i x_i"], tmp_path / "i", kind="inline")
    disp = render([r"\sum_i x_i"], tmp_path / "d")
    assert res[0].ok and res[0].height < disp[0].height


def test_empty_item_fails(tmp_path: Path) -> None:
    res = render([r"\relax", "", GOOD[0]], tmp_path)
    assert [r.error_kind for r in res] == ["latex", "latex", None]
    assert "empty output" in (res[0].message or "")


def test_sandbox(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    outside = tmp_path / "written"
    batch = [
        r"\input{/etc/passwd}",
        r"\input /etc/passwd ",
        rf"x\immediate\write18{{touch {marker}}}",
        rf"\immediate\openout3={outside}\immediate\write3{{hi}}\immediate\closeout3 x",
        r"\input{../../../../../../etc/passwd}",
        GOOD[0],
    ]
    res = render(batch, tmp_path)
    assert [r.error_kind for r in res[:5]] == ["latex"] * 5, res
    assert res[5].ok
    assert not marker.exists() and not outside.exists() and not Path(f"{outside}.tex").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["5.png"]


def test_timeout_fails_alone(tmp_path: Path) -> None:
    batch = [GOOD[0], GOOD[1], r"\def\x{\x}\x", GOOD[2], GOOD[3]]
    t = time.monotonic()
    res = render(batch, tmp_path)
    assert res[2].error_kind == "timeout"
    assert all(res[k].ok for k in (0, 1, 3, 4))
    assert time.monotonic() - t < 2 * SETTINGS.timeout + 5


def test_size_cap(tmp_path: Path) -> None:
    res = render([r"\rule{8000pt}{8000pt}", GOOD[0]], tmp_path)
    assert res[0].error_kind == "too_large" and res[1].ok
    small = RenderSettings(max_pixels=100)
    assert render([GOOD[1]], tmp_path / "s", small)[0].error_kind == "too_large"


def test_colours_padding_and_font_size(tmp_path: Path) -> None:
    s = RenderSettings(foreground="#ff0000", background="white", padding=5)
    res = render([GOOD[0]], tmp_path, s)
    plain = render([GOOD[0]], tmp_path / "p")
    assert (res[0].width, res[0].height) == (plain[0].width + 10, plain[0].height + 10)
    with Image.open(tmp_path / "0.png") as im:
        rgb = im.convert("RGBA")
        assert rgb.getpixel((0, 0)) == (255, 255, 255, 255)
        data = rgb.tobytes()
        assert any(data[i] > 200 and data[i + 1] < 80 for i in range(0, len(data), 4))
    small = render([GOOD[0]], tmp_path / "f", RenderSettings(font_size=10))
    assert small[0].width < plain[0].width
    with pytest.raises(ConfigError, match="octarine"):  # refused when settings load, not per item
        RenderSettings(foreground="octarine")


def test_bad_preamble_fails_every_item(tmp_path: Path) -> None:
    s = RenderSettings(preamble=(r"\usepackage{no-such-package-xyz}",), timeout=10)
    res = render([GOOD[0], GOOD[1]], tmp_path, s)
    assert all(r.error_kind == "latex" and "preamble" in (r.message or "") for r in res)


CORPUS_SETTINGS = RenderSettings(renderer="latex", timeout=10.0)


def test_corpus_batched_then_sampled_alone(corpus_lines: list[str], tmp_path: Path) -> None:
    batch_dir = tmp_path / "batch"
    items = [RenderItem(x, "display", batch_dir / f"{k}.png") for k, x in enumerate(corpus_lines)]
    res = LatexBackend().render(items, CORPUS_SETTINGS)
    ok = [k for k, r in enumerate(res) if r.ok]
    bad = [k for k, r in enumerate(res) if not r.ok]
    # ~1,138 compile alone with latex -halt-on-error and the formula on the $...$ line; here a
    # formula sits in its own file, so a trailing % comment no longer eats the closing $.
    assert 1100 <= len(ok) <= 1190, len(ok)
    for k in bad:
        assert res[k].error_kind == "latex" and res[k].message, (k, res[k])
        msg = res[k].message or ""
        assert msg.startswith("!") or "empty output" in msg, (k, res[k])
    # The items right after a failed one are those a wrong recovery would harm: check them all.
    after_bad = sorted({k + 1 for k in bad} & set(ok))
    sample = bad + after_bad + random.Random(1).sample(ok, 30)
    for k in sample:
        one, path = alone(corpus_lines[k], tmp_path, CORPUS_SETTINGS)
        assert one.ok == res[k].ok, (k, corpus_lines[k], one, res[k])
        if one.ok:
            assert pixels(path) == pixels(batch_dir / f"{k}.png"), k
        else:
            assert one.error_kind == res[k].error_kind


def test_the_precompiled_format_is_kept_on_disk_and_changes_no_pixel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncrender.render import latex

    monkeypatch.setenv("ASYNCRENDER_FORMAT_DIR", str(tmp_path / "formats"))
    monkeypatch.setattr(latex, "_formats", {})
    settings = RenderSettings(renderer="latex", preamble=(r"\usepackage{amsmath}",))
    with_format = render([GOOD[0]], tmp_path / "a", settings)[0]
    assert with_format.ok
    (fmt,) = (tmp_path / "formats").glob("*.fmt")  # the next worker or run reuses it
    assert not fmt.read_bytes().startswith(b"\x1f\x8b")  # kept plain: no run inflates it again
    without = LatexBackend(use_format=False).render([RenderItem(GOOD[0], "display", tmp_path / "b" / "0.png")],
                                                    settings)[0]
    assert pixels(tmp_path / "a" / "0.png") == pixels(tmp_path / "b" / "0.png")
    assert (with_format.width, with_format.height) == (without.width, without.height)


def test_dvipng_keeps_its_heap_from_image_to_image(tmp_path: Path) -> None:
    """dvipng frees each image before drawing the next; with glibc's default trim threshold every
    image faulted its memory in afresh (~30 page faults an image here, a fifth of dvipng's time).
    The sandbox keeps the freed heap: 300 more images cost next to no more faults."""

    def faults(count: int) -> int:
        folder = tmp_path / str(count)
        items = [RenderItem(rf"\sum_{{n=1}}^{{{k}}} \frac{{a_n + b_n^2}}{{\sqrt{{1 + x_n^2}}}} = \int_0^{{{k}}} "
                            r"e^{-t^2}\,dt", "display", folder / f"{k}.png") for k in range(count)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
        backend = LatexBackend()
        assert all(r.ok for r in backend.render(items, SETTINGS))
        assert (backend.counts.latex, backend.counts.dvipng) == (1, 1)
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before

    few, many = faults(10), faults(310)
    assert (many - few) / 300 < 5, (few, many)
