"""Failed items, from cache entries: one row each with its file, paper, item, kind, TeX's message
and the LaTeX. Pure rows and one-line renderings here; ``write_json``/``write_csv`` stream them.

A file that failed whole (unreadable, not JSON, ...) is one row with ``item_id`` ``None``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import TextIO, TypedDict

from asyncrender.model import CacheEntry

COLUMNS = ("file", "paper_id", "item_id", "style", "kind", "message", "type", "latex")


class FailureRow(TypedDict):
    file: str
    paper_id: str | None
    item_id: str | None
    style: str | None  # with several styles: the one that failed
    kind: str
    message: str
    type: str | None
    latex: str | None


def entry_failures(entry: CacheEntry) -> list[FailureRow]:
    """The failure rows of one entry, in the entry's order (a migrated entry may hold odd errors)."""
    rows: list[FailureRow] = []
    for error in entry.get("errors") or []:
        if not isinstance(error, dict):
            continue
        item_id = error.get("id")
        rows.append({
            "file": entry.get("file"),
            "paper_id": entry.get("paper_id"),
            "item_id": None if item_id is None else str(item_id),
            "style": error.get("style"),
            "kind": error.get("kind", "unknown"),
            "message": error.get("message", ""),
            "type": error.get("type"),
            "latex": error.get("latex"),
        })
    return rows


def failure_rows(entries: Iterable[CacheEntry], kinds: frozenset[str] = frozenset()) -> Iterator[FailureRow]:
    """Every failure of every entry; only those of ``kinds`` when it is not empty."""
    for entry in entries:
        for row in entry_failures(entry):
            if not kinds or row["kind"] in kinds:
                yield row


def one_line(text: object) -> str:
    """Collapse a (TeX) message to one line: runs of whitespace, newlines included, become a space."""
    return " ".join(str(text).split())


def error_line(row: FailureRow) -> str:
    """``papers/x.json [eq3] latex: Undefined control sequence.`` (``[-]`` when the whole file failed)."""
    item = f"[{row['item_id']}]" if row["item_id"] is not None else "[-]"
    if row["style"]:
        item = f"{item[:-1]} {row['style']}]"
    return f"{row['file']} {item} {row['kind']}: {one_line(row['message'])}"


def write_json(rows: Iterable[FailureRow], out: TextIO) -> int:
    """A JSON array, one row per line, written as it goes (no list in memory); returns the count."""
    count = 0
    out.write("[")
    for row in rows:
        out.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_csv(rows: Iterable[FailureRow], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
