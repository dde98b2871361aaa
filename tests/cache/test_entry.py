"""cache.entry: naming, building, checking and the resume decision (pure, no event loop)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from asyncrender.cache.entry import (
    CorruptEntry,
    Resume,
    build_entry,
    config_fingerprint,
    decode_entry,
    encode_entry,
    entry_file_name,
    resume_decision,
)
from asyncrender.config import RenderSettings
from asyncrender.model import InputFingerprint

CONFIG = config_fingerprint(RenderSettings(), "latex", "pdfTeX 3.14")


def entry(status_errors: list[dict[str, Any]] | None = None, images: int = 1, **changes: Any) -> dict[str, Any]:
    built = build_entry(
        key="p/a.json", paper_id="a", images=[{"id": str(i), "path": f"/o/{i}.png"} for i in range(images)],
        errors=status_errors or [], input_fp=InputFingerprint(10, 1000, "ab" * 32), config=CONFIG,
        output_dir="/o", seconds=0.5, finished_at="2026-01-01T00:00:00Z")
    built.update(changes)
    return built


def decide(e: dict[str, Any] | None, size: int | None = 10, mtime_ns: int | None = 1000,
           retry_failed: bool = False) -> Resume:
    return resume_decision(e, size=size, mtime_ns=mtime_ns, config_fp=CONFIG["fingerprint"], output_dir="/o",
                           retry_failed=retry_failed)


def test_entry_file_name_is_md5_of_the_key() -> None:
    assert entry_file_name("p/a.json") == hashlib.md5(b"p/a.json").hexdigest() + ".cache"


def test_status_follows_images_and_errors() -> None:
    assert entry()["status"] == "success"
    assert entry([{"id": "x", "kind": "latex", "message": "m"}])["status"] == "partial"
    assert entry([{"id": "x", "kind": "latex", "message": "m"}], images=0)["status"] == "failed"


def test_round_trip_and_corruption_is_detected() -> None:
    e = entry()
    assert decode_entry(encode_entry(e), entry_file_name("p/a.json")) == e
    with pytest.raises(CorruptEntry, match="not valid JSON"):
        decode_entry(encode_entry(e)[:-5])
    with pytest.raises(CorruptEntry, match="does not hash"):
        decode_entry(encode_entry(e), entry_file_name("other.json"))
    with pytest.raises(CorruptEntry, match="unknown entry version"):
        decode_entry(encode_entry({**e, "version": 99}))
    with pytest.raises(CorruptEntry, match="not a JSON object"):
        decode_entry(b"[1]")


def test_config_fingerprint_changes_with_pixels_not_batch_size() -> None:
    fp = CONFIG["fingerprint"]
    assert config_fingerprint(RenderSettings(batch_size=7), "latex", "pdfTeX 3.14")["fingerprint"] == fp
    assert config_fingerprint(RenderSettings(dpi=300), "latex", "pdfTeX 3.14")["fingerprint"] != fp
    assert config_fingerprint(RenderSettings(), "mathtext", "pdfTeX 3.14")["fingerprint"] != fp
    assert config_fingerprint(RenderSettings(), "latex", "pdfTeX 3.15")["fingerprint"] != fp


def test_resume_skips_only_what_is_still_valid() -> None:
    assert decide(None) is Resume.RENDER
    assert decide(entry()) is Resume.SKIP
    assert decide(entry(), mtime_ns=2000) is Resume.CHECK_CONTENT  # touched: the content decides
    assert decide(entry(), size=11) is Resume.RENDER
    assert decide(entry(), size=None, mtime_ns=None) is Resume.RENDER  # input gone
    assert decide(entry(config={**CONFIG, "fingerprint": "other"})) is Resume.RENDER
    assert decide(entry(output_dir="/elsewhere")) is Resume.RENDER


def test_failures_are_skipped_unless_retried_and_transient_ones_always_retry() -> None:
    latex = [{"id": "x", "kind": "latex", "message": "m"}]
    assert decide(entry(latex, images=0)) is Resume.SKIP
    assert decide(entry(latex)) is Resume.SKIP
    assert decide(entry(latex, images=0), retry_failed=True) is Resume.RENDER
    assert decide(entry(latex), retry_failed=True) is Resume.RENDER
    for kind in ("crash", "timeout"):
        assert decide(entry([{"id": "x", "kind": kind, "message": "m"}])) is Resume.RENDER


def test_migrated_entries_are_trusted() -> None:
    migrated = {"file": "p/a.json", "status": "success", "images": [], "errors": [], "input": None,
                "config": None, "migrated": {"from": "cache.json", "at": "t"}}
    assert decide(migrated, size=99, mtime_ns=5) is Resume.SKIP
    failed = {**migrated, "status": "failed"}
    assert decide(failed) is Resume.SKIP
    assert decide(failed, retry_failed=True) is Resume.RENDER


def test_an_entry_read_by_its_key_needs_no_hash_and_any_other_is_still_checked() -> None:
    e = entry()
    name = entry_file_name("p/a.json")
    assert decode_entry(encode_entry(e), name, named_by="p/a.json") == e
    with pytest.raises(CorruptEntry, match="does not hash"):  # an entry moved under another key's name
        decode_entry(encode_entry(e), entry_file_name("other.json"), named_by="other.json")
