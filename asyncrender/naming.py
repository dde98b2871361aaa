"""Where an item's PNG goes: ``<output_dir>/<paper>/<item>.png`` with names safe on any file system.

Pure functions. The rules, which keep every write inside ``output_dir`` and every item in its own file:
- a name keeps ASCII letters, digits, ``.``, ``_`` and ``-``; every other character becomes ``_``;
- a name never starts with ``.`` (no ``..``, no hidden files) and is at most 80 characters;
- whenever a name had to change, ``-`` and 8 hex digits of the SHA-256 of the original id are
  appended, so ``a/b`` and ``a_b`` stay apart;
- within a paper, ids that differ only in case (``Eq1``, ``eq1``) would share a file on a
  case-insensitive file system: the second and later get the hash suffix too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

MAX_NAME = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def safe_name(raw: str) -> str:
    """A file-name-safe form of an id; equal only for equal ids (the suffix keeps changed ones apart)."""
    name = _UNSAFE.sub("_", raw)[:MAX_NAME].lstrip(".")
    if name == raw and name:
        return name
    return f"{name}-{_digest(raw)}" if name else f"_{_digest(raw)}"


def item_file_names(item_ids: Iterable[str]) -> list[str]:
    """PNG file names for the items of one paper, distinct even ignoring case."""
    taken: set[str] = set()
    names = []
    for item_id in item_ids:
        name = safe_name(item_id)
        if name.casefold() in taken:
            name = f"{name}-{_digest('case:' + item_id)}"
        taken.add(name.casefold())
        names.append(name + ".png")
    return names


def paper_dir(output_dir: Path, paper_id: str) -> Path:
    return output_dir / safe_name(paper_id)
