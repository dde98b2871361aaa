"""The latex backend's pure parts: sources, colours, log and DVI parsing, the re-batching decision."""

from __future__ import annotations

import struct

import pytest

from asyncrender.colours import dvipng_colour, rgba
from asyncrender.config import RenderSettings
from asyncrender.render.texlog import ItemLog, RunLog, decide, dvi_pages, parse_log, running_item
from asyncrender.render.texsource import document_source, estimated_pixels, format_key, item_file_text, item_line

N = "abc123"

LOG = f"""This is pdfTeX
(./r1.tex
Preview: Fontsize 12pt
[ARB{N} 1 S0.0.v] (./i1.tex)
ARDIM{N} 1 546132 60072 3047294
[1.1] [ARE{N} 1] [ARB{N} 2 S0.0.v] (./i2.tex)
Runaway argument?
{{a
! File ended while scanning use of \\frac .
<inserted text>
                \\par
l.8 \\global\\count1=2 \\message{{[ARB{N} 2]}}\\begin{{preview}}\\ARinput i2.tex
                                                  $\\endgroup
I suspect you have forgotten a `}}', causing me

ARDIM{N} 2 1 2 3
[2.2] [ARE{N} 2] [ARB{N} 3] (./i3.tex
runsystem(touch /tmp/x)...disabled.
)
ARDIM{N} 3 10 0 20
[3.3] [ARE{N} 3] [ARB{N} 4] (./i4.tex
! TeX capacity exceeded, sorry [main memory size=5000000].
l.1 \\x
       x
"""


def test_parse_log_splits_errors_by_item() -> None:
    log = parse_log(LOG, N)
    assert log.preamble_errors == []
    assert log.fatal
    one, two, three, four = (log.items[i] for i in (1, 2, 3, 4))
    assert one.started and one.ended and not one.errors and one.dims == [(546132, 60072, 3047294)]
    assert two.errors[0].startswith("! File ended while scanning use of \\frac")
    assert "l.8" in two.errors[0]
    assert "runsystem(touch /tmp/x)" in three.errors[0]
    assert four.started and not four.ended and "capacity exceeded" in four.errors[0]


def test_parse_log_ignores_markers_with_another_nonce_and_finds_preamble_errors() -> None:
    log = parse_log("! LaTeX Error: File `nope.sty' not found.\n[ARBzzz 1]\n", N)
    assert log.items == {}
    assert "nope.sty" in log.preamble_errors[0]


def test_running_item() -> None:
    assert running_item(f"[ARB{N} 1] [ARE{N} 1] [ARB{N} 7] (./i7.tex", N) == 7
    assert running_item(f"[ARB{N} 1] [ARE{N} 1]", N) is None
    assert running_item("", N) is None


def _dvi(counts: list[tuple[int, int]]) -> bytes:
    out = bytearray(b"\xf7\x02" + b"\0" * 12 + b"\0")  # pre (not read)
    prev = -1
    for c0, c1 in counts:
        here = len(out)
        out += bytes([139]) + struct.pack(">10i", c0, c1, *([0] * 8)) + struct.pack(">i", prev)
        out += bytes([140])  # eop
        prev = here
    post = len(out)
    out += bytes([248]) + struct.pack(">i", prev) + b"\0" * 24
    out += bytes([249]) + struct.pack(">I", post) + b"\x02" + b"\xdf" * 4
    return bytes(out)


def test_dvi_pages() -> None:
    assert dvi_pages(_dvi([(1, 5), (2, 6), (3, 9)])) == [(1, 5), (2, 6), (3, 9)]
    assert dvi_pages(_dvi([])) == []
    with pytest.raises(ValueError):
        dvi_pages(b"nonsense")


CLEAN = "S0.0.v"


def _run(spec: dict[int, list[str]], unreached: tuple[int, ...] = (),
         states: dict[int, str] | None = None) -> tuple[RunLog, list[tuple[int, int]]]:
    """A run of ``spec``'s items in its order: id -> errors; every reached item makes one page and
    starts in the clean state unless ``states`` says otherwise."""
    states = states or {}
    items = {i: ItemLog(True, True, errs, [(1, 1, 1)], states.get(i, CLEAN))
             for i, errs in spec.items() if i not in unreached}
    pages = [(k, i) for k, i in enumerate(items, start=1)]
    return RunLog(items, [], False), pages


def test_decide_clean_run_accepts_everything() -> None:
    log, pages = _run({1: [], 2: [], 3: []})
    d = decide([1, 2, 3], {}, log, pages)
    assert d.accepted == {1: 1, 2: 2, 3: 3} and not d.failed and not d.pending


def test_decide_errors_in_a_clean_state_settle_in_one_run() -> None:
    log, pages = _run({1: [], 2: ["! a"], 3: [], 4: ["! b"], 5: []})
    d = decide([1, 2, 3, 4, 5], {}, log, pages)
    assert d.accepted == {1: 1, 3: 3, 5: 5}
    assert d.failed == {2: "! a", 4: "! b"}
    assert not d.pending and not d.suspects


def test_decide_after_a_state_changing_error_rerun_suspects_reversed() -> None:
    # Item 2's error left a group open: 3..6 start in another state, so nothing of theirs counts.
    dirty = {i: "S1.0.v" for i in (3, 4, 5, 6)}
    log, pages = _run({1: [], 2: ["! a"], 3: [], 4: ["! b"], 5: ["! c"], 6: []}, states=dirty)
    d = decide([1, 2, 3, 4, 5, 6], {}, log, pages)
    assert d.accepted == {1: 1}
    assert d.failed == {2: "! a"}
    assert d.pending == [3, 6, 5, 4]
    assert d.suspects == {4: "! b", 5: "! c"}
    # Second run, all clean: 3 and 6 render, 5 and 4 fail again (confirmed).
    log2, pages2 = _run({3: [], 6: [], 5: ["! c"], 4: ["! b"]})
    d2 = decide(d.pending, d.suspects, log2, pages2)
    assert set(d2.accepted) == {3, 6} and d2.failed == {5: "! c", 4: "! b"} and not d2.pending


def test_decide_victim_is_freed_and_unreached_items_are_kept() -> None:
    log, pages = _run({1: ["! x"], 2: [], 3: ["! y"], 4: []}, unreached=(4,), states={2: "S1.0.v", 3: "S1.0.v"})
    d = decide([1, 2, 3, 4], {3: "! y"}, log, pages)
    assert d.failed == {1: "! x", 3: "! y"} and d.pending == [2, 4]


def test_decide_an_item_without_a_state_is_not_trusted() -> None:
    log, pages = _run({1: [], 2: []})
    log.items[2].start_state = None
    assert decide([1, 2], {}, log, pages).pending == [2]


def test_decide_page_anomalies_are_errors() -> None:
    log, _ = _run({1: [], 2: []})
    d = decide([1, 2], {}, log, [(1, 1), (2, 1), (3, 2)])  # item 1 made two pages
    assert "2 pages" in d.failed[1] and d.accepted == {2: 3}
    log.items[1].ended = False
    d = decide([1, 2], {}, log, [(1, 1), (2, 2)])
    assert "stopped" in d.failed[1]


def test_sources() -> None:
    s = RenderSettings(font_size=11, preamble=(r"\usepackage{amsmath}",))
    doc = document_source([(1, "display"), (2, "inline"), (3, "raw")], s, N, with_preamble=True)
    assert doc.startswith(r"\documentclass[11pt]{article}")
    assert r"\usepackage{amsmath}" in doc and r"\usepackage[active]{preview}" in doc
    lines = doc.splitlines()
    assert lines[-4] == item_line(1, "display", N) and r"$\displaystyle \ARinput i1.tex $" in lines[-4]
    assert r"$\ARinput i2.tex $" in lines[-3]
    assert r"\begingroup \ARinput i3.tex \endgroup" in lines[-2]
    assert not document_source([(1, "raw")], s, N, with_preamble=False).startswith(r"\documentclass")
    assert item_file_text("x") == "x\n" and item_file_text("x\n") == "x\n"
    assert format_key(s) != format_key(RenderSettings(font_size=12, preamble=s.preamble))


def test_colours_and_pixels() -> None:
    assert dvipng_colour("transparent") == "Transparent"
    assert dvipng_colour("black") == "rgb 0 0 0"
    assert dvipng_colour("#ff8000") == "rgb 1 0.502 0"
    assert rgba("#ff8000") == (255, 128, 0, 255) and rgba("transparent")[3] == 0
    with pytest.raises(ValueError):
        dvipng_colour("octarine")
    inch = int(65536 * 72.27)
    assert 100 * 100 <= estimated_pixels(inch, 0, inch, 100, 0) <= 101 * 101
    assert 120 * 120 <= estimated_pixels(inch, 0, inch, 100, 10) <= 121 * 121
