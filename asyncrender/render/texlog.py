"""Pure parsing for the latex backend: TeX's log, the DVI's pages, and the re-batching decision.

No I/O here; ``latex.py`` runs TeX and feeds the results in. See ``latex.py`` for the algorithm.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

# TeX errors that stop the run: whatever follows in the batch was never typeset.
FATAL_MARKERS = ("Emergency stop", "TeX capacity exceeded", "job aborted", "Fatal error occurred")
_CONTEXT_LINES = 6


@dataclass
class ItemLog:
    """What the log says about one item of a run."""

    started: bool = False
    ended: bool = False
    errors: list[str] = field(default_factory=list)
    dims: list[tuple[int, int, int]] = field(default_factory=list)  # (ht, dp, wd) in sp, per page
    start_state: str | None = None  # "S<group level>.<if level>.<mode>" as the item began


@dataclass
class RunLog:
    items: dict[int, ItemLog]
    preamble_errors: list[str]
    fatal: bool


def _error_message(lines: Sequence[str], start: int) -> str:
    """TeX's error at ``lines[start]`` (a ``! ...`` line) with its context, up to the ``l.N`` pair."""
    out = [lines[start].rstrip()]
    k = start + 1
    while k < len(lines) and k <= start + _CONTEXT_LINES * 2:
        line = lines[k].rstrip()
        if line.startswith("! "):
            break
        out.append(line)
        if re.match(r"l\.\d+ ", line):
            if k + 1 < len(lines):
                out.append(lines[k + 1].rstrip())
            break
        k += 1
    text = "\n".join(x for x in out if x.strip())
    return text[:2000]


def parse_log(text: str, nonce: str) -> RunLog:
    """Split the log into per-item reports by the ``[ARB<nonce> id]``/``[ARE<nonce> id]`` markers.

    An error belongs to the item whose start marker came last before it; errors before the first
    marker are the preamble's. ``runsystem(...)`` (a ``\\write18`` that shell-escape refused) counts
    as an error: such an item must fail, not render.
    """
    items: dict[int, ItemLog] = {}
    preamble: list[str] = []
    current: ItemLog | None = None
    fatal = False
    marker = re.compile(r"\[AR([BE])" + re.escape(nonce) + r" (\d+)(?: (S[0-9.]+[vmh]))?\]|ARDIM" + re.escape(nonce)
                        + r" (-?\d+) (-?\d+) (-?\d+) (-?\d+)")
    lines = text.splitlines()
    for n, line in enumerate(lines):
        for m in marker.finditer(line):
            if m.group(1):
                item_id = int(m.group(2))
                if m.group(1) == "B":
                    current = items.setdefault(item_id, ItemLog())
                    current.started = True
                    current.start_state = m.group(3)
                elif item_id in items:
                    items[item_id].ended = True
            elif current is not None:
                current.dims.append((int(m.group(5)), int(m.group(6)), int(m.group(7))))
        error: str | None = None
        if line.startswith("! "):
            error = _error_message(lines, n)
            if any(f in line for f in FATAL_MARKERS):
                fatal = True
        elif "runsystem(" in line:
            error = "shell escape is disabled: " + line.strip()
        if error is not None:
            (current.errors if current is not None else preamble).append(error)
    if fatal and current is not None and not current.errors:
        current.errors.append("TeX stopped (fatal error) in this item")
    return RunLog(items, preamble, fatal)


def running_item(terminal: str, nonce: str) -> int | None:
    """For a run that timed out: the item that had started and not ended (from flushed markers)."""
    last: int | None = None
    for m in re.finditer(r"\[AR([BE])" + re.escape(nonce) + r" (\d+)(?: S[0-9.]+[vmh])?\]", terminal):
        last = int(m.group(2)) if m.group(1) == "B" else None
    return last


def dvi_pages(data: bytes) -> list[tuple[int, int]]:
    """``(count0, count1)`` of each page of a DVI file, in order; ``ValueError`` if it is broken.

    Walks the ``bop`` back-pointers from the postamble, so no other command needs decoding.
    """
    end = len(data)
    while end > 0 and data[end - 1] == 223:
        end -= 1
    if end < 6 or len(data) - end < 4 or data[end - 1] not in (2, 3):
        raise ValueError("not a DVI file")
    (post,) = struct.unpack(">I", data[end - 5 : end - 1])
    if post + 5 > len(data) or data[post] != 248:
        raise ValueError("DVI postamble not found")
    (ptr,) = struct.unpack(">i", data[post + 1 : post + 5])
    pages: list[tuple[int, int]] = []
    while ptr != -1:
        if ptr < 0 or ptr + 45 > len(data) or data[ptr] != 139 or len(pages) > 1_000_000:
            raise ValueError("broken DVI page chain")
        c = struct.unpack(">10i", data[ptr + 1 : ptr + 41])
        pages.append((c[0], c[1]))
        (ptr,) = struct.unpack(">i", data[ptr + 41 : ptr + 45])
    pages.reverse()
    return pages


@dataclass
class Decision:
    """What a run settled and what is left for the next one."""

    accepted: dict[int, int] = field(default_factory=dict)  # id -> physical page (1-based)
    failed: dict[int, str] = field(default_factory=dict)  # id -> TeX's message
    pending: list[int] = field(default_factory=list)  # next run's items, in order
    suspects: dict[int, str] = field(default_factory=dict)  # errored once, not yet confirmed


def decide(order: Sequence[int], suspects: dict[int, str], log: RunLog, pages: Sequence[tuple[int, int]]
           ) -> Decision:
    """The re-batching decision after one run of ``order``.

    * An item is *bad* if it has a TeX error, or did not end, or does not own exactly one DVI page.
    * An item is *trusted* if it began in the same TeX state (group level, conditional level,
      mode) as the run's first item. Nothing that came before it left a trace that could change
      it (except ``\\global`` assignments, which no group stops, batched or not): a trusted good
      item is accepted with its page, a trusted bad item has failed on its own (confirmed).
      So one bad item does not cost its neighbours another run.
    * An untrusted item (an earlier error left TeX in another state) proves nothing: one that
      errors and had already errored in an earlier run (in another order) is confirmed; one that
      errors for the first time becomes a suspect; one without error goes back to the queue. The
      next run is the clean leftovers first, then the not-yet-reached items, then the suspects in
      reverse order (a victim of its predecessor meets other neighbours).
    The first item of a run is trusted, so every run settles at least one item and the loop ends.
    """
    d = Decision()
    owners: dict[int, list[int]] = {}
    for phys, (_c0, c1) in enumerate(pages, start=1):
        owners.setdefault(c1, []).append(phys)
    started = [log.items[i] for i in order if i in log.items and log.items[i].started]
    baseline = started[0].start_state if started else None
    leftovers: list[int] = []
    unreached: list[int] = []
    new_suspects: list[int] = []
    for item_id in order:
        rep = log.items.get(item_id)
        if rep is None or not rep.started:
            unreached.append(item_id)
            continue
        errors = list(rep.errors)
        if not errors and not rep.ended:
            errors.append("TeX stopped inside this item (it ended the document or the run)")
        own = owners.get(item_id, [])
        if not errors and (len(own) != 1 or len(rep.dims) != 1):
            errors.append(f"the item made {len(own)} pages instead of one")
        if not errors and pages[own[0] - 1][0] != own[0]:
            errors.append("the page numbering went wrong at this item")
        if rep is started[0] or (rep.start_state is not None and rep.start_state == baseline):
            if errors:
                d.failed[item_id] = errors[0]
            else:
                d.accepted[item_id] = own[0]
            continue
        if errors:
            if item_id in suspects:
                d.failed[item_id] = errors[0]
            else:
                d.suspects[item_id] = errors[0]
                new_suspects.append(item_id)
        else:
            leftovers.append(item_id)
    # Unreached suspects stay suspects.
    for item_id in unreached:
        if item_id in suspects:
            d.suspects[item_id] = suspects[item_id]
    d.pending = leftovers + unreached + new_suspects[::-1]
    return d


_DVIPNG_DEPTH = re.compile(r"depth=(-?\d+)")


def dvipng_depths(terminal: str, pages: Sequence[int]) -> dict[int, int]:
    """Each drawn page's baseline depth in pixels, from ``dvipng --depth``'s output (``depth=N``
    per page, in the order drawn: ``pages`` ascending). Empty when the counts disagree."""
    found = [int(m) for m in _DVIPNG_DEPTH.findall(terminal)]
    return dict(zip(pages, found, strict=True)) if len(found) == len(pages) else {}
