"""Issue 11: an item's outcome in a batch is proven equal to its outcome alone.

Every hostile item of ``batch_alone_cases`` sits before the innocents in one TeX batch (all cases
in one batch, so a hostile item also meets the other cases); each distinct item is then rendered
alone, and the outcome kind, the message and the PNG bytes must be the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asyncrender.config import RenderSettings
from asyncrender.render.base import ItemOutcome, ItemType, RenderItem
from asyncrender.render.latex import LatexBackend
from tests.render.batch_alone_cases import HOSTILE, INNOCENTS

pytestmark = pytest.mark.usefixtures("tex")

SETTINGS = RenderSettings(renderer="latex", timeout=10.0, dpi=100)


def _items(pairs: list[tuple[str, str]], folder: Path) -> list[RenderItem]:
    out = []
    for k, (latex, kind) in enumerate(pairs):
        assert kind in ("display", "inline", "raw")
        t: ItemType = kind  # type: ignore[assignment]
        out.append(RenderItem(latex, t, folder / f"{k}.png"))
    return out


Result = tuple[str | None, str | None, bytes | None]


def _result(item: RenderItem, outcome: ItemOutcome) -> Result:
    png = item.out_path.read_bytes() if outcome.ok else None
    return outcome.error_kind, outcome.message, png


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Result]:
    folder = tmp_path_factory.mktemp("alone")
    pairs = sorted(set(INNOCENTS) | set(HOSTILE.values()))
    out = {}
    backend = LatexBackend()
    for k, pair in enumerate(pairs):
        (item,) = _items([pair], folder / str(k))
        out[pair] = _result(item, backend.render([item], SETTINGS)[0])
    return out


def test_every_hostile_case_then_innocents_in_one_batch_equals_alone(
    alone: dict[tuple[str, str], Result], tmp_path: Path
) -> None:
    pairs = [p for case in HOSTILE.values() for p in (case, *INNOCENTS)]
    items = _items(pairs, tmp_path)
    outcomes = LatexBackend().render(items, RenderSettings(renderer="latex", timeout=10.0, dpi=100, batch_size=1000))
    names = [n for n in HOSTILE for _ in range(1 + len(INNOCENTS))]
    for name, pair, item, outcome in zip(names, pairs, items, outcomes, strict=True):
        got = _result(item, outcome)
        want = alone[pair]
        assert got[:2] == want[:2], (name, pair, got[:2], want[:2])
        assert got[2] == want[2], (name, pair, "PNG differs from the item alone")
    for pair in INNOCENTS:
        assert alone[pair][0] is None, (pair, alone[pair])


def test_classes_render_or_fail_as_they_should(
    alone: dict[tuple[str, str], Result]
) -> None:
    ok = {n for n, pair in HOSTILE.items() if alone[pair][0] is None}
    for name in ("table", "figure", "longtable", "equation", "align", "footnote", "caption", "newcounter",
                 "newtheorem", "gdef", "fontdimen", "date", "numberwithin", "aftergroup"):
        assert name in ok, (name, alone[HOSTILE[name]])
    for name in ("unclosed_itemize", "unclosed_center", "unclosed_group", "unclosed_brace", "frac", "superscript",
                 "left", "tabular", "input_neighbour", "input_main", "forged_end_hides_error"):
        assert name not in ok, name
    # Messages point at the item's own text, never at the harness (markers, nonce, main document).
    for pair, (kind, message, _png) in alone.items():
        if kind is not None and "main.tex" not in pair[0]:
            assert message and not re.search(r"\\AR|\[AR[BEPQ]|main\.tex|\^\^B|\{into ", message), (pair, message)
    assert "l.1 \\frac{a}{b" in (alone[HOSTILE["frac"]][1] or "")
    assert "l.1 x^" in (alone[HOSTILE["superscript"]][1] or "")
    assert "\\begin{itemize} open" in (alone[HOSTILE["unclosed_itemize"]][1] or "")


def test_numbered_equations_show_their_number_alone(tmp_path: Path) -> None:
    """The 42nd equation of a batch is (1), like the first, and like \\setcounter's own (42)."""
    eq = (r"\begin{equation} E = mc^2 \end{equation}", "raw")
    pairs = [eq] * 3 + [(r"\setcounter{equation}{41}\begin{equation} E = mc^2 \end{equation}", "raw"), eq]
    items = _items(pairs, tmp_path)
    res = LatexBackend().render(items, SETTINGS)
    assert all(r.ok for r in res)
    data = [it.out_path.read_bytes() for it in items]
    assert data[0] == data[1] == data[2] == data[4] != data[3]


def test_byte_identical_whatever_the_batch_size_and_order(tmp_path: Path) -> None:
    pairs = [*INNOCENTS, HOSTILE["setcounter"], HOSTILE["gdef"], HOSTILE["newcounter"], HOSTILE["frac"],
             HOSTILE["unclosed_center"], HOSTILE["table"], *INNOCENTS[:3]]
    results = []
    for run, (size, order) in enumerate([(100, 1), (3, 1), (100, -1), (1, 1)]):
        seq = list(range(len(pairs)))[::order]
        items = _items([pairs[k] for k in seq], tmp_path / str(run))
        s = RenderSettings(renderer="latex", timeout=10.0, dpi=100, batch_size=size)
        outcomes = LatexBackend().render(items, s)
        by_index = {k: _result(it, o) for k, it, o in zip(seq, items, outcomes, strict=True)}
        results.append([by_index[k] for k in range(len(pairs))])
    assert results[0] == results[1] == results[2] == results[3]
