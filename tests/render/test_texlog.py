"""The latex backend's pure parts: sources, colours, log and DVI parsing, the re-batching decision."""

from __future__ import annotations

import struct

import pytest

from asyncrender.colours import dvipng_colour, rgba
from asyncrender.config import RenderSettings
from asyncrender.render.texlog import ItemLog, TexLog, decide, dvi_pages, parse_log, running_item, state_change
from asyncrender.render.texsource import (
    END_OF_ITEM,
    document_source,
    encode_item,
    estimated_pixels,
    format_key,
    item_source,
)

N = "abc123"
S = "S0.0.v.0"
IN = "S6.0.m.15:preview"

LOG = f"""This is pdfTeX
{{globally changing \\count27=0}}
{{into \\count27=0}}
[ARB{N} 1 {S}] [ARP {IN}]{{into \\tracingassigns=1}}
{{globally changing \\count27=0}}
[ARQ {IN}] [1.1] [ARE{N} 1 1 546132 60072 3047294]
[ARB{N} 2 {S}] [ARP {IN}]
Runaway argument?
! File ended while scanning use of \\frac .
<inserted text>
                \\par
l.1 \\frac{{a}}{{b
[ARQ {IN}] [2.2] [ARE{N} 2 1 1 2 3]
[ARB{N} 3 {S}] [ARP {IN}]
runsystem(touch /tmp/x)...disabled.
{{globally changing \\foo=undefined}}
[ARQ {IN}] [3.3] [ARE{N} 3 1 10 0 20]
[ARB{N} 4 {S}] [ARP {IN}]
! Missing {{ inserted.
<to be read again>
                   \\message
l.9 \\message{{[ARB{N} 4 \\ARstate]}}\\ARpre{{4}}$\\displaystyle \\ARitem x^^^B$\\ARpost
[ARB{N} 5 {S}] [ARP {IN}]
! TeX capacity exceeded, sorry [main memory size=5000000].
l.1 \\x
       x
"""


def test_parse_log_splits_errors_by_item() -> None:
    log = parse_log(LOG, N, [1, 2, 3, 4, 5], {4: (1, "x^")})
    assert log.preamble_errors == [] and log.forged is None
    assert log.fatal
    one, two, three, four, five = (log.items[i] for i in (1, 2, 3, 4, 5))
    assert one.started and one.ended and not one.errors and one.dims == (546132, 60072, 3047294)
    assert one.taint is None and one.pages == 1 and one.pre_state == one.post_state == IN
    assert two.errors[0].startswith("! File ended while scanning use of \\frac") and "l.1 \\frac{a}{b" in two.errors[0]
    assert "runsystem(touch /tmp/x)" in three.errors[0] and three.taint == "it changes \\foo globally"
    # An error reported on the main document's line shows the item's own text, never the harness.
    assert four.errors[0] == "! Missing { inserted.\nl.1 x^" and not four.ended
    assert five.started and not five.ended and "capacity exceeded" in five.errors[0]


def test_parse_log_refuses_forged_or_reordered_markers() -> None:
    log = parse_log("! LaTeX Error: File `nope.sty' not found.\n[ARBzzz 1 S0.0.v.0]\n", N, [1])
    assert log.items == {} and "nope.sty" in log.preamble_errors[0]
    twice_p = f"[ARB{N} 1 {S}] [ARP {IN}] [ARP {IN}] [ARQ {IN}] [ARE{N} 1 1 1 1 1]"
    assert parse_log(twice_p, N, [1]).forged
    back = f"[ARB{N} 2 {S}] [ARP {IN}] [ARQ {IN}] [ARE{N} 2 1 1 1 1] [ARB{N} 1 {S}]"
    assert parse_log(back, N, [1, 2]).forged  # 1 after 2: out of order
    assert parse_log(back, N, [2, 1]).forged is None
    assert parse_log(back.split(" [ARB")[0] + f" [ARB{N} 3 {S}]", N, [2, 1, 3]).forged is None  # 1 unreached
    assert parse_log(back + f" [ARB{N} 2 {S}]", N, [2, 1]).forged
    early_end = f"[ARB{N} 1 {S}] [ARE{N} 2 1 1 1 1]"
    assert parse_log(early_end, N, [1, 2]).forged


def test_running_item() -> None:
    assert running_item(f"[ARB{N} 1 {S}] [ARE{N} 1 1 1 1 1] [ARB{N} 7 {S}]", N) == 7
    assert running_item(f"[ARB{N} 1 {S}] [ARE{N} 1 1 1 1 1]", N) is None
    assert running_item("", N) is None


def test_state_change() -> None:
    assert state_change(IN, IN) is None
    assert state_change("S5.0.v.14:preview", "S6.0.h.14:center") == "the item leaves \\begin{center} open"
    assert "\\left" in (state_change(IN, "S7.0.m.16:preview") or "")
    assert "closes a group" in (state_change(IN, "S5.0.m.14:preview") or "")
    assert "conditional" in (state_change(IN, "S6.1.m.15:preview") or "")
    assert state_change("S5.0.v.14:preview", "S5.0.h.14:preview") is None  # a raw item's paragraph


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


CLEAN = "S0.0.v.0"


def _run(spec: dict[int, list[str]], unreached: tuple[int, ...] = (),
         states: dict[int, str] | None = None, taints: dict[int, str] | None = None
         ) -> tuple[TexLog, list[tuple[int, int]]]:
    """A run of ``spec``'s items in its order: id -> errors; every reached item makes one page and
    starts in the clean state unless ``states`` says otherwise."""
    states, taints = states or {}, taints or {}
    items = {i: ItemLog(True, True, errs, [], states.get(i, CLEAN), IN, IN, 1, (1, 1, 1), taints.get(i))
             for i, errs in spec.items() if i not in unreached}
    pages = [(k, i) for k, i in enumerate(items, start=1)]
    return TexLog(items, [], False), pages


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
    dirty = {i: "S1.0.v.14" for i in (3, 4, 5, 6)}
    log, pages = _run({1: [], 2: ["! a"], 3: [], 4: ["! b"], 5: ["! c"], 6: []}, states=dirty)
    d = decide([1, 2, 3, 4, 5, 6], {}, log, pages)
    assert d.accepted == {1: 1}
    assert d.failed == {2: "! a"}
    assert d.pending == [3, 6, 5, 4]
    assert d.suspects == {4: "! b", 5: "! c"}
    # Second run, all clean: 3 and 6 render, 5 and 4 fail again (confirmed: trusted now).
    log2, pages2 = _run({3: [], 6: [], 5: ["! c"], 4: ["! b"]})
    d2 = decide(d.pending, d.suspects, log2, pages2)
    assert set(d2.accepted) == {3, 6} and d2.failed == {5: "! c", 4: "! b"} and not d2.pending


def test_decide_a_state_changing_item_is_kept_and_the_items_after_it_rerun() -> None:
    log, pages = _run({1: [], 2: [], 3: [], 4: ["! x"]}, taints={2: "it changes \\foo globally"})
    d = decide([1, 2, 3, 4], {}, log, pages)
    assert d.accepted == {1: 1, 2: 2} and d.pending == [3, 4] and d.suspects == {4: "! x"}


def test_decide_resource_errors_are_confirmed_alone() -> None:
    log, pages = _run({1: [], 2: ["! TeX capacity exceeded, sorry"]})
    assert decide([1, 2], {}, log, pages).alone == [2]
    log, pages = _run({2: ["! TeX capacity exceeded, sorry"]})
    assert "capacity" in decide([2], {}, log, pages).failed[2]


def test_decide_victim_is_freed_and_unreached_items_are_kept() -> None:
    log, pages = _run({1: ["! x"], 2: [], 3: ["! y"], 4: []}, unreached=(4,),
                      states={2: "S1.0.v.14", 3: "S1.0.v.14"})
    d = decide([1, 2, 3, 4], {3: "! y"}, log, pages)
    assert d.failed == {1: "! x"} and d.pending == [2, 4, 3]  # 3 errs untrusted again: not proven


def test_decide_an_item_without_a_state_is_not_trusted() -> None:
    log, pages = _run({1: [], 2: []})
    log.items[2].start_state = None
    assert decide([1, 2], {}, log, pages).pending == [2]


def test_decide_page_and_state_anomalies_are_errors() -> None:
    log, _ = _run({1: [], 2: []})
    d = decide([1, 2], {}, log, [(1, 1), (2, 1), (3, 2)])  # item 1 made two pages
    assert "2 pages" in d.failed[1]
    log.items[1].ended = False
    d = decide([1, 2], {}, log, [(1, 1), (2, 2)])
    assert "stopped" in d.failed[1]
    log, pages = _run({1: []})
    log.items[1].post_state = "S7.0.m.14:center"
    assert decide([1], {}, log, pages).failed[1] == "the item leaves \\begin{center} open"


def test_sources() -> None:
    s = RenderSettings(font_size=11, preamble=(r"\usepackage{amsmath}",))
    doc = document_source([(1, "display", "a"), (2, "inline", "b\n"), (3, "raw", "c\r\nd  \n\x01")], s, N,
                          with_preamble=True)
    assert doc.startswith(r"\documentclass[11pt]{article}")
    assert r"\usepackage{amsmath}" in doc and r"\usepackage[active]{preview}" in doc
    assert r"\usepackage{longtable}" in doc
    lines = doc.splitlines()
    assert lines[-6] == item_source(1, "display", "a", N)
    assert rf"\message{{[ARB{N} 1 \ARstate]}}\ARpre{{1}}$\displaystyle \ARitem a{END_OF_ITEM}$\ARpost" in lines[-6]
    assert rf"$\ARitem b{END_OF_ITEM}$" in lines[-5]
    assert lines[-4].endswith(r"\ARitem c") and lines[-3] == "d" and lines[-2].startswith(f"^^A{END_OF_ITEM}")
    assert not document_source([(1, "raw", "x")], s, N, with_preamble=False).startswith(r"\documentclass")
    assert encode_item("x\n") == "x" and encode_item("a\tb") == "a^^Ib" and END_OF_ITEM not in encode_item("\x02")
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
