"""Issue 12 items 9 and 10 (TeX part): what TeX cannot hold fails that item alone, with a kind that
says so, and a broken precompiled format is rebuilt. Real TeX, real files, a real tmpfs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from asyncrender.config import RenderSettings
from asyncrender.render.base import ItemOutcome, RenderItem
from asyncrender.render.latex import MAX_LINE_BYTES, LatexBackend

pytestmark = pytest.mark.usefixtures("tex")

SETTINGS = RenderSettings(renderer="latex", timeout=20.0, dpi=100)
INNOCENTS = [r"a+b=c", r"\frac{1}{2}\sum_{n=1}^N x_n"]


def render(latex: list[str], folder: Path, settings: RenderSettings = SETTINGS) -> list[ItemOutcome]:
    return LatexBackend().render([RenderItem(x, "display", folder / f"{k}.png") for k, x in enumerate(latex)],
                                 settings)


def assert_innocents_as_alone(batch: list[str], outcomes: list[ItemOutcome], folder: Path,
                              settings: RenderSettings = SETTINGS) -> None:
    """Every innocent of ``batch`` rendered, byte-identical to itself rendered alone."""
    for k, latex in enumerate(batch):
        if latex in INNOCENTS:
            assert outcomes[k].ok, (k, outcomes[k])
            (one,) = render([latex], folder / f"alone{k}", settings)
            assert one.ok and (folder / f"alone{k}" / "0.png").read_bytes() == (folder / f"{k}.png").read_bytes()


def test_a_line_over_texs_buffer_fails_alone_as_too_large(tmp_path: Path) -> None:
    # TeX's buffer holds the main document's line and \scantokens' copy of it: twice the line.
    buf_size = int(subprocess.run(["kpsewhich", "-var-value=buf_size"], capture_output=True, text=True).stdout)
    assert buf_size >= 2 * MAX_LINE_BYTES + 10_000
    long = "x" * 250_000
    batch = [INNOCENTS[0], long, INNOCENTS[1]]
    outcomes = render(batch, tmp_path)
    assert outcomes[1].error_kind == "too_large"
    assert outcomes[1].message == f"line 1 is 250000 bytes long, over TeX's line limit here ({MAX_LINE_BYTES} bytes)"
    assert_innocents_as_alone(batch, outcomes, tmp_path)
    # Multi-byte characters count as TeX reads them, in bytes; short lines around do not matter.
    (wide,) = render(["a\n" + "é" * (MAX_LINE_BYTES // 2 + 1) + "\nb"], tmp_path / "wide")
    assert wide.error_kind == "too_large" and wide.message is not None and wide.message.startswith("line 2 ")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "another_format"])
def test_a_broken_precompiled_format_is_rebuilt_once(
    damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from asyncrender.render import latex

    monkeypatch.setenv("ASYNCRENDER_FORMAT_DIR", str(tmp_path / "formats"))
    monkeypatch.setattr(latex, "_formats", {})
    monkeypatch.setattr(latex, "_rebuilt", set())
    assert all(o.ok for o in render(INNOCENTS, tmp_path / "first"))
    (fmt,) = (tmp_path / "formats").glob("*.fmt")
    good = fmt.read_bytes()
    if damage == "garbage":
        fmt.write_bytes(b"\x00garbage" * 1000)
    elif damage == "truncated":
        fmt.write_bytes(good[: len(good) // 3])
    else:  # a format TeX loads, but not this preamble's: plain e-TeX's
        etex = subprocess.run(["kpsewhich", "-engine=pdftex", "etex.fmt"], capture_output=True, text=True).stdout
        fmt.write_bytes(Path(etex.strip()).read_bytes())
    monkeypatch.setattr(latex, "_formats", {})  # a new worker process
    outcomes = render(INNOCENTS, tmp_path / "second")
    assert all(o.ok for o in outcomes), outcomes
    for k in range(len(INNOCENTS)):
        assert (tmp_path / "first" / f"{k}.png").read_bytes() == (tmp_path / "second" / f"{k}.png").read_bytes()
    assert fmt.read_bytes() != (b"\x00garbage" * 1000) and len(fmt.read_bytes()) > len(good) // 2  # rebuilt
    assert any(str(fmt) in r.getMessage() and "rebuilding" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(latex, "_formats", {})
    monkeypatch.setattr(latex, "_rebuilt", set())
    caplog.clear()
    assert all(o.ok for o in render(INNOCENTS, tmp_path / "third"))
    assert not caplog.records  # the rebuilt format loads
