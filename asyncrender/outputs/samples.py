"""The samples of an export, streamed split by split from the cache entries.

One ``Sample`` per rendered image (failed items are not part of a dataset). Memory stays flat in
the number of samples: a first pass over the entries keeps, per input file, only its key and
where it sorts (``ExportIndex``: about 200 bytes a file, not a sample); then each split's entries
are read again one at a time, in a fixed order, and their samples yielded.

The order within a split is by paper (case-folded safe name, then paper id), then by entry key, then
as the entry lists its images. It is the same on every machine, and a paper's entries are
adjacent, so that names need to be kept unique within one paper at a time only:

- ``name``: ``<paper>/<item>.png``, safe for file names like the output folder's; a clash within
  a paper, ignoring case (two input files of one paper id), gets ``-`` and 8 hex digits of the file
  key and item id. The imagefolder file name, and the ``path`` of Parquet's image.
- ``key``: 16 hex digits of the SHA-256 of the entry's key and the item id: the WebDataset key
  (no dots, no slashes, the same in every export of that item).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import NotRequired, TypedDict

from asyncrender.cache.entry import entry_paper_id
from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.model import CacheEntry, ImageRecord, key_bytes
from asyncrender.outputs.formulas import SeenFormulas, formula_hash
from asyncrender.outputs.guards import image_inside
from asyncrender.outputs.splits import Fractions, Split, split_of
from asyncrender.worker.naming import CaseFoldedNames, safe_name

_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}")


class SampleColumns(TypedDict):
    """The columns of a sample, in every format (``style`` only when the image has one)."""

    latex: str
    paper_id: str
    item_id: str
    type: str
    width: int
    height: int
    depth: int | None
    formula_hash: str
    style: NotRequired[str]


COLUMN_NAMES: tuple[str, ...] = ("latex", "paper_id", "item_id", "type", "width", "height", "depth",
                                 "formula_hash", "style")


@dataclass(frozen=True)
class Sample:
    split: Split
    key: str
    name: str
    source: str  # the PNG's path, where the render wrote it
    columns: SampleColumns
    size: int = 0  # the PNG's size and mtime, once looked at (``located``)
    mtime_ns: int = 0
    outside: bool = False  # the entry lists it outside its output folder: never read


def image_name(paper_id: str, image_path: str) -> str:
    """``<paper>/<item>.png`` from the image's path, safe like the output folder's names."""
    p = PurePosixPath(image_path.replace(os.sep, "/"))
    ext = p.suffix if _EXTENSION.fullmatch(p.suffix) else ".png"
    return f"{safe_name(paper_id)}/{safe_name(p.name[: len(p.name) - len(p.suffix)] or '_')}{ext.lower()}"


def sample_key(entry_key: str, item_id: str) -> str:
    return hashlib.sha256(key_bytes(entry_key) + b"\0" + key_bytes(item_id)).hexdigest()[:16]


def image_columns(image: ImageRecord, paper_id: str) -> SampleColumns:
    latex, kind = str(image.get("latex") or ""), str(image.get("type") or "display")
    columns: SampleColumns = {
        "latex": latex, "paper_id": paper_id, "item_id": str(image.get("id")), "type": kind,
        "width": int(image.get("width") or 0), "height": int(image.get("height") or 0),
        "depth": image.get("depth"), "formula_hash": formula_hash(latex, kind),
    }
    style = image.get("style")  # entries of styled renders (issue 14)
    if isinstance(style, str):
        columns["style"] = style
    return columns


def located(sample: Sample) -> Sample | None:
    """The sample with its PNG's size and mtime, or None when the PNG is gone."""
    try:
        st = os.stat(sample.source)
    except OSError:
        return None
    return replace(sample, size=st.st_size, mtime_ns=st.st_mtime_ns)


@dataclass
class ExportIndex:
    """Per split, the entries to read, in export order: ``(sort key, entry key)``."""

    entries: dict[Split, list[tuple[str, str]]]

    @staticmethod
    def build(cache: DistributedCacheManager, fractions: Fractions, seed: str) -> ExportIndex:
        by_split: dict[Split, list[tuple[str, str]]] = {"train": [], "validation": [], "test": []}
        for entry in cache.iter_entries():
            if not entry.get("images"):
                continue
            paper_id = entry_paper_id(entry)
            order = f"{safe_name(paper_id).casefold()}\0{paper_id}\0{entry['file']}"
            by_split[split_of(paper_id, fractions, seed)].append((order, entry["file"]))
        for rows in by_split.values():
            rows.sort()
        return ExportIndex(by_split)


def split_samples(cache: DistributedCacheManager, index: ExportIndex, split: Split,
                  seen: SeenFormulas | None = None) -> Iterator[Sample]:
    """The samples of ``split`` in export order; with ``seen`` (dedup), only formulas not seen
    before (in this split or an earlier one)."""
    group, names = "", CaseFoldedNames()
    for order, key in index.entries[split]:
        entry = cache.load_file_cache(key)
        if entry is None:  # removed or corrupted since the index was built
            continue
        paper_group = order.split("\0", 1)[0]
        if paper_group != group:  # a new paper: names need be unique within a paper only
            group, names = paper_group, CaseFoldedNames()
        yield from _entry_samples(entry, split, names, seen)


def _entry_samples(entry: CacheEntry, split: Split, names: CaseFoldedNames,
                   seen: SeenFormulas | None) -> Iterator[Sample]:
    paper_id = entry_paper_id(entry)
    for image in entry.get("images") or []:
        if not isinstance(image, dict) or not isinstance(image.get("path"), str):
            continue
        columns = image_columns(image, paper_id)
        if seen is not None and not seen.first(columns["formula_hash"]):
            continue
        stem, dot, ext = image_name(paper_id, image["path"]).rpartition(".")
        name = names.claim(stem, dot + ext, f"{entry['file']}\0{columns['item_id']}")
        yield Sample(split, sample_key(entry["file"], columns["item_id"]), name, image["path"], columns,
                     outside=not image_inside(entry.get("output_dir"), image["path"]))
