"""What a cache entry is, and how it is named, built, checked and judged for ``--resume``.

Pure functions only: no files, no clock (callers pass the time in). The manager does the I/O.

An entry is one JSON object per input file, stored as ``file_caches/<md5>.cache`` where ``<md5>``
is the hex MD5 of its ``file`` field encoded as UTF-8.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from enum import Enum
from typing import Any, cast

import msgspec

from asyncrender.config import RenderSettings
from asyncrender.model import (
    STATUSES,
    TRANSIENT_ERROR_KINDS,
    CacheEntry,
    ConfigRecord,
    ErrorKind,
    ErrorRecord,
    ImageRecord,
    InputFingerprint,
    Status,
    key_digest,
)

ENTRY_VERSION = 1
ENTRY_SUFFIX = ".cache"


class CorruptEntry(ValueError):
    """An entry file that cannot be trusted (the message says why); it is treated as absent."""


def entry_file_name(key: str) -> str:
    return key_digest(key) + ENTRY_SUFFIX


def config_fingerprint(settings: RenderSettings, renderer: str, renderer_version: str) -> ConfigRecord:
    """Every setting that changes an outcome, plus the renderer, and a SHA-256 over all of it.

    ``settings.renderer`` may say ``auto``; ``renderer`` is what it resolved to.
    """
    described: dict[str, Any] = settings.pixel_settings()
    described["renderer"] = renderer
    described["renderer_version"] = renderer_version
    canonical = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return cast(ConfigRecord, {"fingerprint": hashlib.sha256(canonical.encode()).hexdigest(), **described})


def file_status(images: Sequence[object], errors: Sequence[object]) -> Status:
    if not errors:
        return "success"
    return "partial" if images else "failed"


def build_entry(
    *,
    key: str,
    paper_id: str | None,
    images: list[ImageRecord],
    errors: list[ErrorRecord],
    errors_omitted: dict[ErrorKind, int] | None = None,
    source: str | None = None,
    input_fp: InputFingerprint | None,
    config: ConfigRecord,
    output_dir: str,
    seconds: float,
    finished_at: str,
) -> CacheEntry:
    entry: CacheEntry = {
        "version": ENTRY_VERSION,
        "file": key,
        "status": file_status(images, errors),
        "paper_id": paper_id,
        "images": images,
        "errors": errors,
        "input": input_fp.as_record() if input_fp else None,
        "config": config,
        "renderer": f"{config['renderer']} {config['renderer_version']}",
        "output_dir": output_dir,
        "seconds": round(seconds, 6),
        "finished_at": finished_at,
    }
    if errors_omitted:
        entry["errors_omitted"] = errors_omitted
    if source is not None:
        entry["source"] = source
    return entry


def entry_paper_id(entry: CacheEntry) -> str:
    """The paper an entry belongs to (a migrated entry may lack one: its input path stands in)."""
    paper_id = entry.get("paper_id")
    return str(paper_id) if paper_id not in (None, "") else str(entry["file"])


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def encode_entry(entry: CacheEntry) -> bytes:
    r"""Compact, readable UTF-8 JSON (msgspec: several times faster than ``json``, the same text but
    for how large floats are spelled). A lone surrogate (a path listed in invalid UTF-8, kept by
    surrogateescape) is not UTF-8: such an entry goes through ``json``, where it becomes a JSON
    \uXXXX escape (surrogates only occur inside JSON strings, where backslashreplace's ``\udcff`` is
    exactly that escape), so the entry stays valid UTF-8 and decodes to the same string."""
    try:
        return _encode(entry)
    except UnicodeEncodeError:
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def decode_entry(data: bytes, file_name: str | None = None, *, named_by: str | None = None) -> CacheEntry:
    """Parse and check an entry; ``file_name`` (``<md5>.cache``) must match its ``file`` field.

    ``named_by``: the key ``file_name`` was made from (``entry_file_name(named_by)``), when the
    caller has it: an entry whose ``file`` is that very key matches with no hash to compute."""
    try:
        entry = _decode(data)
    except msgspec.DecodeError:
        try:  # json also takes what msgspec refuses (a lone surrogate's escape), and says why not
            entry = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptEntry(f"not valid JSON ({exc})") from None
    if not isinstance(entry, dict):
        raise CorruptEntry("not a JSON object")
    version = entry.get("version", ENTRY_VERSION)
    if version != ENTRY_VERSION:
        raise CorruptEntry(f"unknown entry version {version!r}")
    key = entry.get("file")
    if not isinstance(key, str) or not key:
        raise CorruptEntry("no 'file' field")
    if entry.get("status") not in STATUSES:
        raise CorruptEntry(f"unknown status {entry.get('status')!r}")
    if not isinstance(entry.get("images", []), list) or not isinstance(entry.get("errors", []), list):
        raise CorruptEntry("'images' and 'errors' must be lists")
    if file_name is not None and key != named_by and file_name != entry_file_name(key):
        raise CorruptEntry(f"its 'file' {key!r} does not hash to the file name {file_name}")
    return cast(CacheEntry, entry)  # checked above as far as readers rely on it


class Resume(Enum):
    SKIP = "skip"
    RENDER = "render"
    CHECK_CONTENT = "check_content"  # size or mtime differ: compare the content hash to decide


def resume_decision(
    entry: CacheEntry | None,
    *,
    size: int | None,
    mtime_ns: int | None,
    config_fp: str,
    output_dir: str,
    retry_failed: bool,
) -> Resume:
    """Whether ``--resume`` may skip a file, from its entry and the input's current ``stat``.

    ``size``/``mtime_ns`` are ``None`` when the input cannot be stat'ed now. Migrated entries
    (from the legacy cache) carry no fingerprints and are trusted as they are.
    """
    if entry is None:
        return Resume.RENDER
    if entry.get("migrated") and entry.get("input") is None:
        return Resume.RENDER if retry_failed and entry["status"] != "success" else Resume.SKIP
    if (entry.get("config") or {}).get("fingerprint") != config_fp or entry.get("output_dir") != output_dir:
        return Resume.RENDER
    kinds = {e.get("kind") for e in entry.get("errors", []) if isinstance(e, dict)}
    kinds |= set(entry.get("errors_omitted") or ())
    if kinds & TRANSIENT_ERROR_KINDS or (retry_failed and entry["status"] != "success"):
        return Resume.RENDER
    recorded = entry.get("input")
    if recorded is None or size is None:
        return Resume.SKIP if recorded is None and size is None else Resume.RENDER
    if recorded.get("size") == size and recorded.get("mtime_ns") == mtime_ns:
        return Resume.SKIP
    return Resume.CHECK_CONTENT if recorded.get("size") == size else Resume.RENDER


def content_matches(entry: CacheEntry, sha256: str) -> bool:
    recorded = entry.get("input")
    return recorded is not None and recorded.get("sha256") == sha256
