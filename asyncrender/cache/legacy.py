"""Turning the old tool's single ``cache.json`` into per-file entries. Pure: no files here.

The legacy cache is one JSON object mapping each input path to its entry, or holding that mapping
under a top-level ``"files"`` key. Each legacy entry becomes an entry of ours under the same key
rule (``normalise_key``); every field we do not know is kept as it was. Migrated entries carry
``"migrated"`` and no input or config fingerprint: ``--resume`` trusts them (see ``resume_decision``).
"""

from __future__ import annotations

from typing import Any, cast

from asyncrender.cache.entry import ENTRY_VERSION, file_status
from asyncrender.model import STATUSES, CacheEntry, InputError, normalise_key


class MalformedLegacyEntry(ValueError):
    pass


def legacy_mapping(doc: Any) -> dict[str, Any]:
    """The path -> entry mapping inside a legacy cache document."""
    if isinstance(doc, dict):
        files = doc.get("files")
        mapping: dict[str, Any] = files if isinstance(files, dict) else doc
        return mapping
    raise MalformedLegacyEntry("a legacy cache must be a JSON object")


def convert_legacy_entry(path: str, old: Any, source: str, migrated_at: str) -> CacheEntry:
    """Our entry for one legacy entry; ``MalformedLegacyEntry`` if it cannot be one."""
    if not isinstance(old, dict):
        raise MalformedLegacyEntry(f"{path!r}: entry is not an object")
    try:
        key = normalise_key(path)
    except InputError:
        raise MalformedLegacyEntry("an entry has an empty path") from None
    images = [_image(i, path) for i in old.get("images", [])] if isinstance(old.get("images", []), list) else None
    if images is None:
        raise MalformedLegacyEntry(f"{path!r}: 'images' is not a list")
    errors_raw = old.get("errors", [])
    if isinstance(errors_raw, str):
        errors_raw = [errors_raw]
    if not isinstance(errors_raw, list):
        raise MalformedLegacyEntry(f"{path!r}: 'errors' is not a list")
    errors = [e if isinstance(e, dict) else {"id": None, "kind": "legacy", "message": str(e)} for e in errors_raw]
    if isinstance(old.get("error"), str) and not errors:
        errors = [{"id": None, "kind": "legacy", "message": old["error"]}]
    status = old.get("status")
    if status not in STATUSES:
        status = file_status(images, errors)
    entry = dict(old)
    entry.update(
        version=ENTRY_VERSION,
        file=key,
        status=status,
        images=images,
        errors=errors,
        input=None,
        config=old.get("config") if isinstance(old.get("config"), dict) else None,
        migrated={"from": source, "at": migrated_at},
    )
    return cast(CacheEntry, entry)  # the old tool's fields are kept beside ours


def _image(raw: Any, path: str) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"id": raw.rsplit("/", 1)[-1].rsplit(".", 1)[0], "path": raw}
    if isinstance(raw, dict) and isinstance(raw.get("path"), str):
        return raw
    raise MalformedLegacyEntry(f"{path!r}: an image is neither a path nor an object with 'path'")
