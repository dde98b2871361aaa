"""Issue 12 items 9 and 10 (TeX part): what TeX cannot hold fails that item alone, with a kind that
says so, and a broken precompiled format is rebuilt. Real TeX, real files, a real tmpfs."""

from __future__ import annotations

import contextlib
import random
import subprocess
from collections.abc import Iterator
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


LOG_FLOOD = r"\loop\dimen0=1pt\iftrue\repeat"  # no isolated primitive: runs in the batch, logs every loop
FILE_FLOOD = r"\immediate\openout1=x.txt \loop\immediate\write1{" + "x" * 60 + r"}\iftrue\repeat"


def render_raw(latex: list[str], folder: Path, settings: RenderSettings = SETTINGS) -> list[ItemOutcome]:
    items = [RenderItem(x, "display" if x in INNOCENTS else "raw", folder / f"{k}.png") for k, x in enumerate(latex)]
    return LatexBackend().render(items, settings)


def test_a_log_flood_fails_alone_as_too_large(tmp_path: Path) -> None:
    from asyncrender.render.latex import SCRATCH_ITEM_LIMIT, scratch_limit, scratch_root

    limit = scratch_limit(Path(scratch_root() or "/tmp"))
    batch = [INNOCENTS[0], LOG_FLOOD, INNOCENTS[1]]
    outcomes = render_raw(batch, tmp_path)
    assert (outcomes[1].error_kind, outcomes[1].message) == (
        "too_large", f"the item used more than {limit // 2**20} MiB of scratch space")
    assert limit <= SCRATCH_ITEM_LIMIT
    assert_innocents_as_alone(batch, outcomes, tmp_path)


@pytest.fixture
def small_tmpfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real 4 MiB tmpfs as the scratch folder (a quarter of it, 1 MiB, is an item's limit)."""
    mount = tmp_path / "scratch"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    monkeypatch.setenv("ASYNCRENDER_SCRATCH", str(mount))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_floods_of_a_small_scratch_fail_alone_as_too_large(tmp_path: Path, small_tmpfs: Path) -> None:
    # A file written in a loop; TeX's log; a PNG over the limit (dense text at 600 dpi, under
    # max_pixels: caught by RLIMIT_FSIZE while dvipng writes it).
    rand = random.Random(1)
    words = " ".join("".join(rand.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rand.randint(2, 9)))
                     for _ in range(1500))
    dense = r"\parbox{6in}{\tiny " + words + "}"
    batch = [INNOCENTS[0], FILE_FLOOD, INNOCENTS[1], LOG_FLOOD, INNOCENTS[0], dense, INNOCENTS[1]]
    settings = RenderSettings(renderer="latex", timeout=20.0, dpi=600)
    outcomes = render_raw(batch, tmp_path, settings)
    assert [(o.error_kind, o.message) for o in outcomes[1:4:2]] == [
        ("too_large", "the item used more than 1 MiB of scratch space")] * 2
    assert (outcomes[5].error_kind, outcomes[5].message) == (
        "too_large", "its image takes more than 1 MiB of scratch space")
    assert_innocents_as_alone(batch, outcomes, tmp_path, settings)
    assert list(small_tmpfs.iterdir()) == []


def test_a_full_scratch_fails_items_as_io_not_crash(
    tmp_path: Path, small_tmpfs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    filler = small_tmpfs / "filler"
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        f.write(b"\0" * (8 * 2**20))  # ENOSPC at 4 MiB
    outcomes = render(INNOCENTS, tmp_path)
    for o in outcomes:
        assert o.error_kind == "io" and o.message is not None
        assert f"scratch folder {small_tmpfs} ran out of space (No space left on device)" in o.message
    assert not caplog.records  # not taken for a broken format either
    filler.unlink()
    assert all(o.ok for o in render(INNOCENTS, tmp_path))


def test_an_item_that_fills_a_nearly_full_scratch_fails_alone(tmp_path: Path, small_tmpfs: Path) -> None:
    # Only 0.6 MiB free, under the item limit: the flood fills the file system; the item that
    # wrote most of what was free is the one that fails (too_large), its neighbours render.
    (small_tmpfs / "filler").write_bytes(b"\0" * int(3.4 * 2**20))
    batch = [INNOCENTS[0], LOG_FLOOD, INNOCENTS[1]]
    outcomes = render_raw(batch, tmp_path)
    assert (outcomes[1].error_kind, outcomes[1].message) == (
        "too_large", f"the item filled the scratch folder {small_tmpfs} (No space left on device)")
    assert_innocents_as_alone(batch, outcomes, tmp_path)
