"""The render backend interface, shared by every backend.

A backend runs inside a worker process. It gets a batch of ``RenderItem``s (possibly from several
papers) and the ``RenderSettings``, writes one PNG per item that renders, and returns one
``ItemOutcome`` per item, in order. It never raises for a bad item: a failure is an outcome with an
error kind and a message, so that one item never takes its neighbours down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from asyncrender.config import RenderSettings
from asyncrender.model import ErrorKind, ItemType
from asyncrender.tempfiles import write_atomic


@dataclass(frozen=True)
class RenderItem:
    latex: str
    type: ItemType
    out_path: Path
    dpi: int | None = None  # this item's resolution; None: the settings' ``dpi``


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one item: an image of ``width`` x ``height`` pixels whose baseline is
    ``depth`` pixels above its bottom edge (None when the backend cannot tell), or an error."""

    width: int = 0
    height: int = 0
    error_kind: ErrorKind | None = None
    message: str | None = None
    depth: int | None = None

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @staticmethod
    def failed(kind: ErrorKind, message: str) -> ItemOutcome:
        return ItemOutcome(error_kind=kind, message=message)


class Backend(Protocol):
    name: str

    def version(self) -> str:
        """Names the software that makes the pixels (part of the cache's config fingerprint)."""
        ...

    def render(self, items: Sequence[RenderItem], settings: RenderSettings) -> list[ItemOutcome]:
        ...


def publish_file(data: bytes, out_path: Path) -> None:
    """Write an image (or a format file) atomically, creating its folder. Its temp name starts
    with ``.`` so it never looks like an image; a killed worker's leftover is removed when that
    paper is rendered again (``tempfiles.remove_orphans``)."""
    try:
        write_atomic(out_path, data, hidden=True)
    except FileNotFoundError:  # the folder's first file: make it (not before every write: a syscall each)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out_path, data, hidden=True)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; ``ValueError`` if ``data`` is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
