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

import re
from collections.abc import Iterable
from pathlib import Path

from asyncrender.model import short_hash

MAX_NAME = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(raw: str) -> str:
    """A file-name-safe form of an id; equal only for equal ids (the suffix keeps changed ones apart)."""
    name = _UNSAFE.sub("_", raw)[:MAX_NAME].lstrip(".")
    if name == raw and name:
        return name
    return f"{name}-{short_hash(raw)}" if name else f"_{short_hash(raw)}"


class CaseFoldedNames:
    """Hands out names that stay distinct even ignoring case (case-insensitive file systems: macOS,
    Windows): a name taken already, in any case, gets ``-`` and the ``short_hash`` of ``salt``
    before its extension."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, stem: str, ext: str, salt: str) -> str:
        if (stem + ext).casefold() in self._taken:
            stem = f"{stem}-{short_hash(salt)}"
        name = stem + ext
        self._taken.add(name.casefold())
        return name


def item_file_names(item_ids: Iterable[str]) -> list[str]:
    """PNG file names for the items of one paper, distinct even ignoring case."""
    names = CaseFoldedNames()
    return [names.claim(safe_name(item_id), ".png", "case:" + item_id) for item_id in item_ids]


def paper_dir(output_dir: Path, paper_id: str) -> Path:
    return output_dir / safe_name(paper_id)
