"""The vocabulary every stage shares: keys, item types, error kinds, statuses, and the records
(input file, job, outcome, cache entry, image, error) that flow from the file list to the cache.

Pure: no I/O, no clock. The cache entry and its image and error records are ``TypedDict``s because
an entry *is* a JSON object on disk: reading one gives the record with no conversion (``--resume``
reads a hundred thousand of them), writing one is ``json.dumps``, and fields a legacy cache carried
that asyncrender does not know survive a round trip untouched. The static types still say exactly
which fields exist and what they hold.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from dataclasses import dataclass, field
from typing import Literal, NotRequired, TypedDict, get_args

from asyncrender.config import RenderSettings

ItemType = Literal["display", "inline", "raw"]
ITEM_TYPES: tuple[ItemType, ...] = ("display", "inline", "raw")

# Error kinds an outcome or a cache entry can carry. "crash", "timeout" and "io" (a full disk, a
# lost mount) are transient: ``--resume`` always retries files that hold them. "legacy" is never
# made here: it marks an error migrated from the old tool's cache.
ErrorKind = Literal["input", "latex", "unsupported", "timeout", "too_large", "crash", "io", "legacy"]
ERROR_KINDS: tuple[ErrorKind, ...] = get_args(ErrorKind)
TRANSIENT_ERROR_KINDS: frozenset[str] = frozenset({"crash", "timeout", "io"})

# What one file may cost: its first errors are kept whole, the rest only counted by kind (an
# entry's ``errors_omitted``), so a 4 MB input of ``[1,1,1,...]`` makes a small entry, and the
# orchestrator, ``--resume`` and ``summary`` never hold millions of error records.
MAX_ERRORS_PER_FILE = 100

Status = Literal["success", "partial", "failed"]
STATUSES: tuple[Status, ...] = ("success", "partial", "failed")

# Files a run did not render, and why: another live run held its claim to the end (``claimed``);
# or rendering it would have replaced another file's entry, or its claim's name is taken by
# something that is not a claim (``refused``). Either way the run is not complete (exit 1).
ResultStatus = Literal["success", "partial", "failed", "claimed", "refused"]
CLAIMED: ResultStatus = "claimed"
REFUSED: ResultStatus = "refused"


# -- keys -----------------------------------------------------------------------------------------

class InputError(ValueError):
    """An input file (or a listed path) that cannot be used as a whole; the message names the file
    and the place."""


def normalise_key(path: str) -> str:
    """The cache key of a path as listed: ``posixpath.normpath`` of it, so ``./a.json``, ``a.json``
    and ``x/../a.json`` are one key. A relative path stays relative: a cache moves with its corpus."""
    if not path:
        raise InputError("empty path")
    scheme, sep, rest = path.partition("://")
    if sep and scheme.isascii() and scheme.isalnum() and len(scheme) > 1:  # a URL: s3://bucket/a/../b
        return f"{scheme}://{posixpath.normpath(rest)}"
    return posixpath.normpath(path.replace(os.sep, "/"))


def key_bytes(key: str) -> bytes:
    """A key as bytes. surrogateescape: a path listed in invalid UTF-8 becomes its original bytes.
    A lone surrogate outside that range (only the library API can pass one) becomes its code point."""
    try:
        return key.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return key.encode("utf-8", "surrogatepass")


def key_digest(key: str) -> str:
    """The hex MD5 of a key: the name of its cache entry, and what shards split on."""
    return hashlib.md5(key_bytes(key), usedforsecurity=False).hexdigest()


def short_hash(data: str | bytes) -> str:
    """8 hex digits of the SHA-256 of ``data`` (text as UTF-8, lone surrogates kept as such): the
    suffix that keeps apart two names that came out alike (an unsafe id, a case twin, a second
    file claiming one paper id)."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:8]


# -- records of a run -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ListedFile:
    """One input file: ``key`` identifies it in the cache, ``path`` is where to read it."""

    key: str
    path: str


@dataclass(frozen=True)
class InputFingerprint:
    """The input file as it was read: what ``--resume`` compares with the file as it is now."""

    size: int
    mtime_ns: int
    sha256: str

    def as_record(self) -> InputRecord:
        return {"size": self.size, "mtime_ns": self.mtime_ns, "sha256": self.sha256}


class ImageRecord(TypedDict):
    """An item that rendered: ``path`` is the PNG's absolute path; ``depth`` its baseline's height
    above the bottom edge, in pixels (absent in entries made before it was recorded)."""

    id: str
    path: str
    width: int
    height: int
    type: ItemType
    latex: str
    depth: NotRequired[int]  # pixels below the baseline (for inline placement)
    style: NotRequired[str]  # with several looks (render.styles, a dpi range): the look
    dpi: NotRequired[int]
    shared_from: NotRequired[str]  # the image of the first copy of the same item in this run


class ErrorRecord(TypedDict):
    """An item that failed (``id`` is None when the whole file failed, and then the item's
    ``type`` and ``latex`` are absent)."""

    id: str | None
    kind: ErrorKind
    message: str
    type: NotRequired[ItemType]
    latex: NotRequired[str]
    style: NotRequired[str]
    dpi: NotRequired[int]


class InputRecord(TypedDict):
    size: int
    mtime_ns: int
    sha256: str


class ConfigRecord(TypedDict, total=False):
    """The config fingerprint: ``fingerprint`` (SHA-256) over every setting that changes an
    outcome, plus those settings, the renderer and its version (see ``cache.entry``)."""

    fingerprint: str
    renderer: str
    renderer_version: str


# Where a migrated entry came from: the legacy cache file ("from" is a keyword, hence this form).
MigratedRecord = TypedDict("MigratedRecord", {"from": str, "at": str})


class CacheEntry(TypedDict):
    """One input file's entry, ``file_caches/<md5>.cache`` (README: "The cache folder")."""

    version: int
    file: str
    source: NotRequired[str]  # the input's resolved absolute path: which file holds the key
    status: Status
    paper_id: str | None
    images: list[ImageRecord]
    errors: list[ErrorRecord]
    errors_omitted: NotRequired[dict[ErrorKind, int]]  # failed items beyond ``errors``, by kind
    input: InputRecord | None
    config: ConfigRecord | None
    renderer: NotRequired[str]
    output_dir: NotRequired[str | None]
    seconds: NotRequired[float]
    finished_at: NotRequired[str]
    migrated: NotRequired[MigratedRecord]


class BoundedErrors:
    """A file's errors as they come: the first ``limit`` kept whole, the others counted by kind."""

    def __init__(self, limit: int = MAX_ERRORS_PER_FILE) -> None:
        self.limit = limit
        self.kept: list[ErrorRecord] = []
        self.omitted: dict[ErrorKind, int] = {}

    def add(self, record: ErrorRecord) -> None:
        if len(self.kept) < self.limit:
            self.kept.append(record)
        else:
            self.count(record["kind"])

    def count(self, kind: ErrorKind, n: int = 1) -> None:
        """``n`` more errors of ``kind`` whose records are not kept."""
        if n:
            self.omitted[kind] = self.omitted.get(kind, 0) + n


def omitted_errors(entry: CacheEntry) -> int:
    """How many failed items an entry counts beyond the error records it keeps."""
    omitted = entry.get("errors_omitted")
    return sum(n for n in omitted.values() if isinstance(n, int)) if isinstance(omitted, dict) else 0


@dataclass(frozen=True)
class RenderJob:
    """One or more input files sent to one worker; their items may share TeX runs."""

    files: tuple[ListedFile, ...]
    settings: RenderSettings  # ``renderer`` already resolved (never "auto")
    output_dir: str
    # The run's store of typeset images (``worker.shared``), or None: every item typeset itself.
    share_dir: str | None = None

    def one_file(self, listed: ListedFile) -> RenderJob:
        return RenderJob((listed,), self.settings, self.output_dir, self.share_dir)


@dataclass(frozen=True)
class FileOutcome:
    """What a worker made of one input file; the orchestrator turns it into a cache entry."""

    key: str
    paper_id: str | None
    images: list[ImageRecord]
    errors: list[ErrorRecord]
    input_fp: InputFingerprint | None
    seconds: float
    errors_omitted: dict[ErrorKind, int] = field(default_factory=dict)
    source: str | None = None  # the input's resolved absolute path (see CacheEntry)

    @staticmethod
    def failed(listed: ListedFile, kind: ErrorKind, message: str,
               input_fp: InputFingerprint | None = None) -> FileOutcome:
        """An outcome for a file that failed whole (bad input, a worker that kept crashing)."""
        return FileOutcome(key=listed.key, paper_id=None, images=[],
                           errors=[{"id": None, "kind": kind, "message": message}],
                           input_fp=input_fp, seconds=0.0)
