"""Pure parsing for the latex backend: TeX's log, the DVI's pages, and the re-batching decision.

No I/O here; ``latex.py`` runs TeX and feeds the results in. See ``latex.py`` for the algorithm and
``texsource.py`` for the markers.
"""

from __future__ import annotations

import itertools
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# TeX errors that stop the run: whatever follows in the batch was never typeset.
FATAL_MARKERS = ("Emergency stop", "TeX capacity exceeded", "job aborted", "Fatal error occurred")
# Errors that may depend on what other items of the run used up (memory, fonts, the hash table,
# math alphabets): such an item is confirmed only alone.
RESOURCE_MARKERS = ("TeX capacity exceeded", "Not enough room left", "Font memory", "font memory",
                    "Too many math alphabets")
_CONTEXT_LINES = 8
_TRACE = re.compile(r"\{(?:globally )?(?:changing|into|reassigning|restoring|retaining) ")
_STATE = r"S\d+\.\d+\.[vmh]\.\d+"

# Global assignments that cannot change a later item, besides those to names that ``\AR@reset``
# assigns before every item (read from the log, see ``texsource``):
# * the page label ``\count1`` (set before every item);
# * scratch that LaTeX and amsmath always write before they read it, within one command;
# * NFSS's caches, a function of their name: font identifiers (``\OT1/cmr/m/n/12``), loaded
#   families (``\OT1+cmr``), math alphabets and versions allocated on first use (``\mathbf ``,
#   ``\mv@normal``; an item that runs out of math alphabets is confirmed alone, see above), and the
#   math fonts of families allocated on first use (``textfont6``: NFSS writes with
#   ``\escapechar=-1``; ``\AR@reset`` sets every family again before the next item).
_HARMLESS = re.compile(
    r"\\count1|\\if@ignore|\\ifgtest@|\\if@eqnsw|\\macc@[a-z]+|\\meaning@@?|\\thedots@|\\@thefnmark"
    r"|\\field@lengths|\\@gtempa"
    r"|\\reserved@[a-f]|\\font@name|font@name|\\math[A-Za-z]+ |\\mv@[A-Za-z]+|\\?[A-Za-z0-9]+[/+][^=\s]*"
    r"|(?:text|script|scriptscript)font\d+"
)
# One pattern per kind of line, each starting with a literal so that the scan over a log of
# several MB (``\tracingassigns``) stays fast; their matches are merged in log order.
_PATTERNS = (
    r"\[ARB{nonce} (?P<b>\d+) (?P<bs>{state})\]",
    r"\[ARE{nonce} (?P<e>\d+) (?P<pages>-?\d+) (?P<ht>-?\d+) (?P<dp>-?\d+) (?P<wd>-?\d+)\]",
    r"\[AR(?P<pq>[PQ]) (?P<ps>{state}):(?P<env>[^\]\n]*)\]",
    r"\[AR(?P<x>X)\]",
    r"\{{globally changing (?P<g>\\?.[^=\n]*)=",
    r"\{{(?:globally )?changing (?P<t>\\tracingassigns|\\everyeof)=",
    r"\n\\openout(?P<o>\d+) = ",
    r"\n(?P<err>! .*)",
    r"(?P<rs>runsystem\(.*)",
)


@dataclass
class ItemLog:
    """What the log says about one item of a run."""

    started: bool = False
    ended: bool = False
    errors: list[str] = field(default_factory=list)  # TeX's, while the item's text ran (before ARQ)
    late_errors: list[str] = field(default_factory=list)  # after its text: the wrapper, the page
    start_state: str | None = None  # "S<group level>.<if level>.<mode>.<group type>" as it began
    pre_state: str | None = None  # the state inside the wrapper just before its text ...
    post_state: str | None = None  # ... and just after (None: the text did not end normally)
    pages: int | None = None  # preview pages shipped in the run so far, at the item's end
    dims: tuple[int, int, int] | None = None  # (ht, dp, wd) of the last preview box, in sp
    taint: str | None = None  # why the item changed global state (None: it did not)
    off_seen: bool = False  # [ARX]: the harness turns tracing off next
    off_done: bool = False


@dataclass
class TexLog:
    items: dict[int, ItemLog]
    preamble_errors: list[str]
    fatal: bool
    forged: str | None = None  # the markers are not in order: nothing of this run can be trusted


def _sanitise(block: list[str], nonce: str, last_line: str | None, line_no: int) -> str:
    """TeX's error (``! ...`` and its context) with the harness taken out: context entries that
    show the harness's macros are dropped, and a context line of the main document (where TeX
    reports what went wrong after the item's text ended) becomes ``l.<n> <the item's last line>``."""
    out = [block[0]]
    pairs: list[list[str]] = []
    for line in block[1:]:
        if _TRACE.match(line):  # \tracingassigns output interleaved with the context
            continue
        if line.startswith(" ") and pairs:
            pairs[-1].append(line)
        else:
            pairs.append([line])
    for pair in pairs:
        top = pair[0]
        m = re.match(r"l\.\d+ ", top)
        if m:
            joined = "".join(p.strip() for p in pair)
            if "^^B" in joined:  # the main document's line: show the item's own text instead
                text = top[m.end() :]
                if r"\ARitem " in text:
                    text = text.split(r"\ARitem ", 1)[1]
                text = text.split("^^B", 1)[0] if "^^B" in text else (last_line or "")
                out.append(f"l.{line_no} {text}")
            else:
                out.extend(pair)
            break
        if any(s in p for p in pair for s in (r"\AR", "preview", nonce, "^^B", r"\message")):
            continue
        out.extend(pair)
    return "\n".join(x.rstrip() for x in out if x.strip())[:2000]


def _error_block(text: str, start: int) -> list[str]:
    # Filtered lazily: the block takes a few lines, and a log traced with \tracingassigns has
    # many trace lines per context line (matching all 200 for each of a run's errors cost more
    # than scanning the whole log for them).
    lines = (x for x in text[start : start + 20000].split("\n", 200)[:200] if not _TRACE.match(x))
    block = [next(lines)]  # the "! " line itself
    for line in itertools.islice(lines, _CONTEXT_LINES * 2):
        if line.startswith("! ") or (not line.strip() and len(block) > 1 and re.match(r"l\.\d+ ", block[-2])):
            break
        block.append(line)
        if len(block) > 2 and re.match(r"l\.\d+ ", block[-2]):
            break
    return block


def parse_log(text: str, nonce: str, order: Sequence[int] = (),
              item_lines: Mapping[int, tuple[int, str]] | None = None) -> TexLog:
    """Split the log of a run of ``order`` into per-item reports, strictly in sequence.

    Every item must show ``[ARB..]``, then optionally ``[ARP..]`` and ``[ARQ..]``, then
    ``[ARE..]``, each at most once, items in run order (some may be missing: never reached, or
    swallowed by a runaway argument); anything else (a marker twice, out of order, an ``ARP``
    outside an item) makes the log ``forged``. TeX's errors, global assignments (``\\tracingassigns``
    lines) and ``\\openout`` lines belong to the item whose start marker came last.
    ``runsystem(...)`` (a ``\\write18`` that shell escape refused) counts as an error.
    ``item_lines`` gives, per id, the item's line count and last line (for error contexts).
    """
    items: dict[int, ItemLog] = {}
    preamble: list[str] = []
    harmless: set[str] = set()
    position = {item_id: k for k, item_id in enumerate(order)}
    current: ItemLog | None = None
    current_id: int | None = None
    cur_pos = -1
    fatal = False
    forged: str | None = None
    text = "\n" + text
    patterns = [re.compile(p.format(nonce=re.escape(nonce), state=_STATE)) for p in _PATTERNS]
    # In text order, then pattern order. No two matches of one pattern start at the same place, so
    # the tuples' order never reaches the match objects (which do not compare).
    found = sorted((m.start(), k, m) for k, p in enumerate(patterns) for m in p.finditer(text))
    kinds = ("b", "e", "pq", "x", "g", "t", "o", "err", "rs")
    for _pos, k, m in found:
        kind = kinds[k]
        if kind == "b":
            item_id = int(m.group("b"))
            pos = position.get(item_id, -1) if order else cur_pos + 1
            if pos <= cur_pos or item_id in items:
                forged = forged or f"start marker of item {item_id} out of order"
                continue
            current_id, cur_pos = item_id, pos
            current = items[item_id] = ItemLog(started=True, start_state=m.group("bs"))
        elif kind == "e":
            item_id = int(m.group("e"))
            if current is None or item_id != current_id or current.ended:
                forged = forged or f"end marker of item {item_id} out of order"
                continue
            current.ended = True
            current.pages = int(m.group("pages"))
            current.dims = (int(m.group("ht")), int(m.group("dp")), int(m.group("wd")))
        elif kind == "pq":
            state = f"{m.group('ps')}:{m.group('env')}"
            if current is None or current.ended or current.post_state is not None:
                forged = forged or "a state marker outside its place"
            elif m.group("pq") == "P":
                if current.pre_state is not None:
                    forged = forged or "a state marker twice"
                current.pre_state = state
            elif current.pre_state is None:
                forged = forged or "an end-of-text marker before the start-of-text marker"
            else:
                current.post_state = state
        elif kind == "x":
            if current is None or current.ended or current.off_seen:
                forged = forged or "a tracing marker outside its place"
            else:
                current.off_seen = True
        elif kind in ("g", "t", "o"):
            if current is None and kind == "g" and not items:  # \ARsnap's run of \AR@reset
                harmless.add(m.group("g"))
            if current is None or current.ended or current.taint:
                continue  # the harness's own (before the first item, between items)
            if kind == "g":
                name = m.group("g")
                if name in harmless or _HARMLESS.fullmatch(name):
                    continue
                if name == "\\tracingassigns" and current.off_seen and not current.off_done:
                    current.off_done = True  # \ARpost turning tracing off, right after [ARX]
                    continue
                current.taint = f"it changes {name} globally"
            elif kind == "t":
                if not current.off_seen:  # (the "changing" line of \ARpost's own is after [ARX])
                    current.taint = f"it changes {m.group('t')}"
            else:
                current.taint = f"it opens a file for writing (\\openout{m.group('o')})"
        else:
            line = m.group(kind)
            if kind == "err":
                info = item_lines.get(current_id, (1, "")) if item_lines and current_id else (1, "")
                error = _sanitise(_error_block(text, m.start("err")), nonce, info[1], info[0])
                if any(f in line for f in FATAL_MARKERS):
                    fatal = True
            else:
                error = "shell escape is disabled: " + line.strip()
            if current is None:
                preamble.append(error)
            elif current.post_state is None and not current.ended:
                current.errors.append(error)
            else:
                current.late_errors.append(error)
    if fatal and current is not None and not current.errors and not current.late_errors:
        current.errors.append("TeX stopped (fatal error) in this item")
    return TexLog(items, preamble, fatal, forged)


def running_item(terminal: str, nonce: str) -> int | None:
    """For a run that timed out: the item that had started and not ended (from flushed markers)."""
    last: int | None = None
    for m in re.finditer(r"\[AR([BE])" + re.escape(nonce) + r" (\d+) ", terminal):
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


_GROUPS = {1: "a { group", 2: "an \\hbox", 3: "an \\hbox", 4: "a \\vbox", 5: "a \\vtop", 6: "an alignment",
           9: "a math group", 12: "a \\vcenter", 14: "a \\begingroup", 15: "math ($ or \\[)",
           16: "\\left (no \\right)"}


def _levels(state: str) -> tuple[int, int, int, str]:
    head, _, env = state.partition(":")
    group, cond, _mode, kind = head[1:].split(".")
    return int(group), int(cond), int(kind), env


def state_change(pre: str, post: str) -> str | None:
    """What an item left different between the start and the end of its own text (group level,
    conditional level, innermost group and environment; not the mode: a ``raw`` item may start a
    paragraph), or None."""
    pg, pc, pk, penv = _levels(pre)
    qg, qc, qk, qenv = _levels(post)
    if qg > pg:
        if qenv != penv:
            return f"the item leaves \\begin{{{qenv}}} open"
        return f"the item leaves {_GROUPS.get(qk, 'a group')} open"
    if qg < pg:
        return "the item closes a group it did not open"
    if qc != pc:
        return "the item leaves a conditional (\\if...) open" if qc > pc else \
            "the item closes a conditional (\\fi) it did not open"
    if (qk, qenv) != (pk, penv):
        return "the item ends in another group or environment than it began in"
    return None


@dataclass
class Decision:
    """What a run settled and what is left for the next one."""

    accepted: dict[int, int] = field(default_factory=dict)  # id -> physical page (1-based)
    failed: dict[int, str] = field(default_factory=dict)  # id -> TeX's message
    pending: list[int] = field(default_factory=list)  # next run's items, in order
    suspects: dict[int, str] = field(default_factory=dict)  # errored once, not yet confirmed
    alone: list[int] = field(default_factory=list)  # to be confirmed in a run of their own


def item_errors(rep: ItemLog, own: Sequence[int], shipped_before: int, pages: Sequence[tuple[int, int]]
                ) -> list[str]:
    """The item's failures in its run, most telling first (empty: it rendered). ``own`` are the
    DVI pages labelled with its id; ``shipped_before`` the preview pages of the items before it."""
    errors = list(rep.errors)
    if not errors and rep.pre_state is not None and rep.post_state is None and rep.ended:
        errors.append("the item's text did not end normally (\\everyeof or \\endinput changed)")
    change = state_change(rep.pre_state, rep.post_state) if rep.pre_state and rep.post_state else None
    if not errors and change:
        late = [e for e in rep.late_errors[:1] if "preview" not in e]
        errors.append("\n".join([*late, change]))  # TeX's own message first, when it has one
    errors += rep.late_errors
    if not errors and not rep.ended:
        errors.append("TeX stopped inside this item (it ended the document or the run)")
    if not errors and rep.pre_state is None:
        errors.append("the item did not begin normally")
    if not errors and (len(own) != 1 or rep.pages != 1 or own[0] != shipped_before + 1):
        errors.append(f"the item made {len(own)} pages instead of one")
    if not errors and pages[own[0] - 1][0] != own[0]:  # dvipng's -pp selects pages by \count0
        errors.append("the page numbering went wrong at this item")
    return errors


def decide(order: Sequence[int], suspects: dict[int, str], log: TexLog, pages: Sequence[tuple[int, int]]
           ) -> Decision:
    """The re-batching decision after one run of ``order``.

    * An item is *trusted* if no earlier item of the run changed global state (``taint``: a
      global assignment not known harmless, a file written) and it began in the same TeX state
      (group level, conditional level, mode, group type) as the run's first item. Counters and
      LaTeX's other global bookkeeping are reset before every item, so a trusted item ran exactly
      as it runs alone: a good one is accepted with its page, a bad one has failed on its own
      (confirmed), unless its error may come from resources its neighbours used (TeX's capacity,
      font memory), which only a run of its own confirms. An item that changes state is itself
      trusted (its own effect is the same alone); the items after it are not.
    * An untrusted item proves nothing, neither an image nor an error: one that errors becomes a
      suspect, one without error goes back to the queue. The next run is the clean leftovers
      first, then the not-yet-reached items, then the suspects in reverse order (a victim of its
      predecessor meets other neighbours; a suspect that runs first in a run is trusted).
    The first item of a run is trusted, so every run settles at least one item and the loop ends.
    """
    d = Decision()
    owners: dict[int, list[int]] = {}
    for phys, (_c0, c1) in enumerate(pages, start=1):
        owners.setdefault(c1, []).append(phys)
    started = [i for i in order if i in log.items]
    baseline = log.items[started[0]].start_state if started else None
    leftovers: list[int] = []
    unreached: list[int] = []
    new_suspects: list[int] = []
    tainted = False
    shipped = 0
    for item_id in order:
        rep = log.items.get(item_id)
        if rep is None:
            unreached.append(item_id)
            continue
        errors = item_errors(rep, owners.get(item_id, []), shipped, pages)
        shipped += rep.pages or 0
        trusted = not tainted and (item_id == started[0] or rep.start_state == baseline)
        tainted = tainted or rep.taint is not None
        if trusted:
            if errors and len(order) > 1 and any(r in e for e in errors[:1] for r in RESOURCE_MARKERS):
                d.alone.append(item_id)
            elif errors:
                d.failed[item_id] = errors[0]
            else:
                d.accepted[item_id] = owners[item_id][0]
            continue
        if errors:  # not proven: only a trusted position confirms a failure
            d.suspects[item_id] = errors[0]
            new_suspects.append(item_id)
        else:
            leftovers.append(item_id)
    for item_id in unreached:  # unreached suspects stay suspects
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
