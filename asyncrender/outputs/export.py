"""Export a cache as a dataset: a Hugging Face ``imagefolder`` or a JSON-lines manifest.

Built from cache entries only (never by reading the inputs again). Every image goes to one split,
``train``, ``validation`` or ``test``, chosen by its *paper*, so that no paper leaks across splits.
The choice is deterministic: the SHA-256 of ``seed`` and the paper id, read as a number in [0, 1),
is compared with the fractions. The same cache, fractions and seed give the same export, byte for
byte (entries are read in a fixed order), and a paper keeps its split as papers are added.

imagefolder (what ``datasets.load_dataset("imagefolder", data_dir=OUT)`` reads)::

    OUT/train/metadata.jsonl            {"file_name": "2401.00417/eq1.png", "latex": ..., "paper_id": ...,
    OUT/train/2401.00417/eq1.png         "item_id": ..., "type": ..., "width": ..., "height": ...}
    OUT/validation/...  OUT/test/...

Images are hard-linked (copied when ``OUT`` is on another file system). A split that receives no
image gets no folder. jsonl: ``OUT/<split>.jsonl`` with the same columns, ``image`` (the absolute
path of the image where it is) in place of ``file_name``; no image is copied.

The export is built in a temp folder next to ``OUT`` and renamed into place at the end, so ``OUT``
is either the whole export or absent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from asyncrender.cache.entry import entry_paper_id
from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.model import CacheEntry
from asyncrender.processes import pid_alive, started_at
from asyncrender.worker.naming import CaseFoldedNames, safe_name

log = logging.getLogger("asyncrender")

SPLITS = ("train", "validation", "test")
FORMATS = ("imagefolder", "jsonl")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}")


class ExportError(ValueError):
    """The export cannot start (bad fractions, OUT not empty, ...); nothing was written."""


# -- the functional core ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fractions:
    """Shares of papers per split; ``train`` is what validation and test leave."""

    validation: float = 0.1
    test: float = 0.1

    def __post_init__(self) -> None:
        for name, value in (("validation", self.validation), ("test", self.test)):
            if not 0.0 <= value <= 1.0:
                raise ExportError(f"the {name} fraction must be between 0 and 1, not {value}")
        if self.validation + self.test > 1.0:
            raise ExportError(f"validation + test fractions ({self.validation} + {self.test}) exceed 1")

    @property
    def train(self) -> float:
        return 1.0 - self.validation - self.test


def unit_hash(paper_id: str, seed: str) -> float:
    """A number in [0, 1) from the paper id and the seed, the same on every machine."""
    digest = hashlib.sha256(f"{seed}\0{paper_id}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(paper_id: str, fractions: Fractions, seed: str = "") -> str:
    u = unit_hash(paper_id, seed)
    if u < fractions.train:
        return "train"
    return "validation" if u < fractions.train + fractions.validation else "test"


@dataclass(frozen=True)
class ExportRow:
    """One image of the export: where it is, the name it gets in its split, and its columns."""

    split: str
    source: str
    name: str
    columns: dict[str, Any]

    def imagefolder_json(self) -> dict[str, Any]:
        return {"file_name": self.name, **self.columns}

    def manifest_json(self) -> dict[str, Any]:
        return {"image": self.source, **self.columns}


@dataclass
class NameRegistry:
    """Keeps names unique within each split, ignoring case (exports are copied to Macs, too).

    A clash can only come from two entries of one paper id; the later one (in the fixed entry
    order) gets ``-`` and 8 hex digits of its input file key and item id.
    """

    taken: dict[str, CaseFoldedNames] = field(default_factory=lambda: {s: CaseFoldedNames() for s in SPLITS})

    def claim(self, split: str, name: str, salt: str) -> str:
        stem, dot, ext = name.rpartition(".")
        return self.taken[split].claim(stem, dot + ext, salt)


def image_name(paper_id: str, image_path: str) -> str:
    """``<paper>/<item>.png`` from the image's path, safe like the output folder's names."""
    p = PurePosixPath(image_path.replace(os.sep, "/"))
    ext = p.suffix if _EXTENSION.fullmatch(p.suffix) else ".png"
    return f"{safe_name(paper_id)}/{safe_name(p.name[: len(p.name) - len(p.suffix)] or '_')}{ext.lower()}"


def entry_rows(entry: CacheEntry, fractions: Fractions, seed: str,
               names: NameRegistry) -> list[ExportRow]:
    """The export rows of one entry's images (its failed items are not part of a dataset)."""
    paper_id = entry_paper_id(entry)
    split = split_of(paper_id, fractions, seed)
    rows = []
    for image in entry.get("images") or []:
        if not isinstance(image, dict) or not isinstance(image.get("path"), str):
            continue
        item_id = image.get("id")
        columns = {
            "latex": image.get("latex"),
            "paper_id": paper_id,
            "item_id": None if item_id is None else str(item_id),
            "type": image.get("type"),
            "width": image.get("width"),
            "height": image.get("height"),
        }
        name = names.claim(split, image_name(paper_id, image["path"]), f"{entry['file']}\0{item_id}")
        rows.append(ExportRow(split, image["path"], name, columns))
    return rows


def export_rows(entries: Iterable[CacheEntry], fractions: Fractions,
                seed: str = "") -> Iterator[ExportRow]:
    names = NameRegistry()
    for entry in entries:
        yield from entry_rows(entry, fractions, seed, names)


# -- the shell ----------------------------------------------------------------------------------


@dataclass
class ExportReport:
    format: str
    out: str
    images: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    papers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    missing: int = 0
    copied: int = 0
    outside: int = 0  # images an entry lists outside its output folder: never read

    def as_json(self) -> dict[str, Any]:
        return {"format": self.format, "out": self.out, "images": self.images, "papers": self.papers,
                "missing_images": self.missing, "copied": self.copied, "outside_images": self.outside}


def export(cache_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, fmt: str = "imagefolder",
           fractions: Fractions | None = None, seed: str = "") -> ExportReport:
    """Write the export of ``cache_dir`` to ``out`` (absent or empty); see the module docstring."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (choose {' or '.join(FORMATS)})")
    fractions = fractions or Fractions()
    target = Path(os.path.abspath(out))  # "." or "..": a name to build next to
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"{target}: already exists and is not an empty folder")
    cache = DistributedCacheManager(cache_dir, create=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_partial_exports(target)
    work = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    report = ExportReport(fmt, str(target.resolve()))
    try:
        _write(cache, work, fmt, fractions, seed, report)
        if target.exists():
            target.rmdir()
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return report


def _write(cache: DistributedCacheManager, work: Path, fmt: str, fractions: Fractions, seed: str,
           report: ExportReport) -> None:
    files: dict[str, IO[str]] = {}
    papers: dict[str, set[str]] = {s: set() for s in SPLITS}
    try:
        for row in export_rows(images_inside(cache.iter_entries(ordered=True), report), fractions, seed):
            if fmt == "imagefolder":
                if not _place_image(row, work / row.split, report):
                    continue
                line = row.imagefolder_json()
            else:
                line = row.manifest_json()
            if row.split not in files:
                path = (work / row.split / "metadata.jsonl" if fmt == "imagefolder"
                        else work / f"{row.split}.jsonl")
                path.parent.mkdir(exist_ok=True)
                files[row.split] = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed below)
            files[row.split].write(json.dumps(line, ensure_ascii=False) + "\n")
            report.images[row.split] += 1
            papers[row.split].add(str(row.columns["paper_id"]))
    finally:
        for f in files.values():
            f.close()
    report.papers = {s: len(papers[s]) for s in SPLITS}


def _place_image(row: ExportRow, split_dir: Path, report: ExportReport) -> bool:
    """Hard-link (else copy) the image into the split; False when the image is gone."""
    dest = split_dir / row.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            os.link(row.source, dest)
        except FileNotFoundError:
            raise
        except OSError:  # another file system, or links not allowed: copy instead
            shutil.copyfile(row.source, dest)
            report.copied += 1
    except FileNotFoundError:
        report.missing += 1
        log.warning("%s: image missing, left out of the export (render again with --resume?)", row.source)
        return False
    return True


# -- what an export may read, and what a killed one leaves ----------------------------------------


def image_inside(output_dir: object, path: str) -> bool:
    """Whether an entry's image ``path`` may be exported: it resolves (symlinks followed) to a file
    inside the entry's ``output_dir``, so a tampered entry cannot export (hard-link) any other file.
    A migrated entry has no ``output_dir``: its images must be ``.png`` files (or missing)."""
    try:
        real = os.path.realpath(path)
        if not isinstance(output_dir, str):  # a missing one is counted as missing by the caller
            return real.endswith(".png") and (os.path.isfile(real) or not os.path.lexists(real))
        return Path(real).is_relative_to(os.path.realpath(output_dir))
    except (OSError, ValueError):
        return False


def images_inside(entries: Iterable[CacheEntry], report: ExportReport) -> Iterator[CacheEntry]:
    """``entries`` without the images ``image_inside`` refuses (counted and logged)."""
    for entry in entries:
        images = entry.get("images") or []
        kept = [i for i in images if isinstance(i, dict) and isinstance(i.get("path"), str)
                and image_inside(entry.get("output_dir"), i["path"])]
        for image in images:
            if image not in kept and isinstance(image, dict):
                report.outside += 1
                log.warning("%s: image %r is outside the output folder; left out of the export",
                            entry["file"], image.get("path"))
        yield {**entry, "images": kept} if len(kept) != len(images) else entry


def sweep_partial_exports(target: Path) -> int:
    """Remove ``.<name>.<pid>.partial`` folders next to ``target`` that an export killed midway left
    (their process is gone, or its pid now belongs to a process started after the folder was)."""
    removed = 0
    prefix, suffix = f".{target.name}.", ".partial"
    try:
        names = os.listdir(target.parent)
    except OSError:
        return 0
    for name in names:
        pid = name[len(prefix) : -len(suffix)] if name.startswith(prefix) and name.endswith(suffix) else ""
        if not pid.isdigit():
            continue
        path = target.parent / name
        if pid_alive(int(pid)) and not _started_after(int(pid), path):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def _started_after(pid: int, path: Path) -> bool:
    """Whether process ``pid`` started after ``path`` was last changed (then it did not make it)."""
    started = started_at(pid)
    try:
        return started is not None and started > path.stat().st_mtime + 1
    except OSError:
        return False
