"""Export a cache as a dataset: sharded WebDataset or Parquet, a Hugging Face ``imagefolder``, or
JSON-lines manifests.

Built from cache entries only (never by reading the inputs again), one sample per rendered image,
streamed split by split (``samples``): memory stays flat in the number of samples. Splits are by
paper (``splits``); ``dedup`` keeps each formula once, in test before validation before train
(``formulas`` says what makes two formulas one). The same cache and options give the same export,
byte for byte.

webdataset / parquet (``shards``): ``OUT/{split}-{NNNNN}.tar`` or ``.parquet``, ``shard_size``
samples each at most (and ``shard_bytes`` of PNG); OUT may be a URL (``s3://bucket/ds``). Each shard
is published whole; running the same export again resumes it (unchanged shards are kept).

imagefolder (what ``datasets.load_dataset("imagefolder", data_dir=OUT)`` reads)::

    OUT/train/metadata.jsonl            {"file_name": "2401.00417/eq1.png", "latex": ..., "paper_id": ...,
    OUT/train/2401.00417/eq1.png         "item_id": ..., "type": ..., "width": ..., "height": ..., ...}
    OUT/validation/...  OUT/test/...

Images are hard-linked (copied when ``OUT`` is on another file system). A split that receives no
image gets no folder. jsonl: ``OUT/<split>.jsonl`` with the same columns, ``image`` (the absolute
path of the image where it is) in place of ``file_name``; no image is copied. Both are built in a
temp folder next to ``OUT`` and renamed into place at the end, so ``OUT`` is either the whole
export or absent; both need a local ``OUT``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.outputs import parquet, webdataset
from asyncrender.outputs.formulas import NORMALISATION_VERSION, SeenFormulas
from asyncrender.outputs.guards import sweep_partial_exports
from asyncrender.outputs.samples import ExportIndex, Sample, image_name, located, split_samples
from asyncrender.outputs.shards import ShardWriter, WriteShard
from asyncrender.outputs.splits import SPLITS, ExportError, Fractions, Split, split_of, split_order, unit_hash
from asyncrender.outputs.target import ExportTarget
from asyncrender.storage import is_url, posix_folder

log = logging.getLogger("asyncrender")

SHARDED: dict[str, tuple[str, WriteShard]] = {
    "webdataset": (webdataset.EXTENSION, webdataset.write_shard),
    "parquet": (parquet.EXTENSION, parquet.write_shard),
}
FORMATS = ("imagefolder", "jsonl", *SHARDED)
DEFAULT_SHARD_SIZE = 5000
DEFAULT_SHARD_BYTES = 500_000_000

__all__ = ["FORMATS", "SPLITS", "ExportError", "ExportReport", "Fractions", "export", "image_name",
           "split_of", "unit_hash"]


@dataclass
class ExportReport:
    format: str
    out: str
    images: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    papers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    missing: int = 0
    copied: int = 0
    duplicates: int = 0  # formulas left out by dedup (exported in an earlier split, or earlier in this one)
    shards: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    shards_kept: int = 0  # shards an earlier run of this export wrote, found unchanged
    outside: int = 0  # images an entry lists outside its output folder: never read

    def as_json(self) -> dict[str, Any]:
        out = {"format": self.format, "out": self.out, "images": self.images, "papers": self.papers,
               "missing_images": self.missing, "copied": self.copied, "duplicates": self.duplicates,
               "outside_images": self.outside}
        if self.format in SHARDED:
            out |= {"shards": self.shards, "shards_kept": self.shards_kept}
        return out


def export(cache_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, fmt: str = "imagefolder",
           fractions: Fractions | None = None, seed: str = "", dedup: bool = False,
           shard_size: int = DEFAULT_SHARD_SIZE, shard_bytes: int = DEFAULT_SHARD_BYTES) -> ExportReport:
    """Write the export of ``cache_dir`` to ``out``; see the module docstring."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (choose {', '.join(FORMATS)})")
    if shard_size < 1 or shard_bytes < 1:
        raise ExportError("--shard-size and --shard-bytes must be at least 1")
    fractions = fractions or Fractions()
    try:
        posix_folder(cache_dir, "the cache folder")
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    out = os.fspath(out)
    if is_url(out) and fmt not in SHARDED:
        raise ExportError(f"{out}: {fmt} exports go to a local folder; webdataset and parquet exports "
                          "may go to object storage")
    cache = DistributedCacheManager(cache_dir, create=False)
    samples = _SplitSamples(cache, fractions, seed, dedup)
    if fmt in SHARDED:
        extension, write = SHARDED[fmt]
        options = {"format": fmt, "validation": fractions.validation, "test": fractions.test, "seed": seed,
                   "dedup": dedup, "normalisation": NORMALISATION_VERSION if dedup else None,
                   "shard_size": shard_size, "shard_bytes": shard_bytes}
        target = ExportTarget(out)
        writer = ShardWriter(target, options, extension, write)
        report = ExportReport(fmt, str(target))
        for split, split_iter in samples.splits():
            report.shards[split] = writer.write_split(split, _counted(_present(_inside(split_iter, report), report),
                                                                      report),
                                                      shard_size, shard_bytes)
        writer.finish()
        report.shards_kept = writer.kept
    else:
        report = _export_folder(samples, out, fmt)
    report.duplicates = samples.seen.dropped if samples.seen else 0
    return report


@dataclass
class _SplitSamples:
    cache: DistributedCacheManager
    fractions: Fractions
    seed: str
    dedup: bool
    seen: SeenFormulas | None = None

    def splits(self) -> Iterator[tuple[Split, Iterator[Sample]]]:
        index = ExportIndex.build(self.cache, self.fractions, self.seed)
        self.seen = SeenFormulas() if self.dedup else None
        for split in split_order(self.dedup):
            yield split, split_samples(self.cache, index, split, self.seen)


def _inside(samples: Iterable[Sample], report: ExportReport) -> Iterator[Sample]:
    """The samples whose image lies inside its entry's output folder (``guards.image_inside``): a
    tampered entry cannot export, or hard-link, any other file. The others are counted."""
    for sample in samples:
        if sample.outside:
            report.outside += 1
            log.warning("%s: image is outside the output folder; left out of the export", sample.source)
            continue
        yield sample


def _present(samples: Iterable[Sample], report: ExportReport) -> Iterator[Sample]:
    """The samples whose PNG is there (with its size and mtime); the others are counted."""
    for sample in samples:
        found = located(sample)
        if found is None:
            report.missing += 1
            log.warning("%s: image missing, left out of the export (render again with --resume?)", sample.source)
            continue
        yield found


def _counted(samples: Iterable[Sample], report: ExportReport) -> Iterator[Sample]:
    """Count images and papers per split as they pass (a paper's samples are adjacent)."""
    last = None
    for sample in samples:
        yield sample
        report.images[sample.split] += 1
        if sample.columns["paper_id"] != last:
            last = sample.columns["paper_id"]
            report.papers[sample.split] += 1


# -- imagefolder and jsonl: a local folder, renamed into place whole -------------------------------


def _export_folder(samples: _SplitSamples, out: str, fmt: str) -> ExportReport:
    target = Path(os.path.abspath(out))  # "." or "..": a name to build next to
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"{target}: already exists and is not an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_partial_exports(target)
    work = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    report = ExportReport(fmt, str(target.resolve()))
    try:
        for split, split_iter in samples.splits():
            inside = _inside(split_iter, report)
            stream = inside if fmt == "jsonl" else _present(inside, report)
            _write_split(work, split, fmt, _counted(stream, report), report)
        if target.exists():
            target.rmdir()
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return report


def _write_split(work: Path, split: Split, fmt: str, samples: Iterable[Sample], report: ExportReport) -> None:
    f: IO[str] | None = None
    try:
        for sample in samples:
            if fmt == "imagefolder":
                _place_image(sample, work / split, report)
                line: dict[str, Any] = {"file_name": sample.name, **sample.columns}
            else:
                line = {"image": sample.source, **sample.columns}
            if f is None:
                path = work / split / "metadata.jsonl" if fmt == "imagefolder" else work / f"{split}.jsonl"
                path.parent.mkdir(exist_ok=True)
                f = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed below)
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    finally:
        if f is not None:
            f.close()


def _place_image(sample: Sample, split_dir: Path, report: ExportReport) -> None:
    """Hard-link (else copy) the image into the split."""
    dest = split_dir / sample.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(sample.source, dest)
    except FileNotFoundError:
        raise
    except OSError:  # another file system, or links not allowed: copy instead
        shutil.copyfile(sample.source, dest)
        report.copied += 1

