"""cache.legacy and migration: the old single-file cache becomes per-file entries."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from asyncrender.cache.legacy import MalformedLegacyEntry, convert_legacy_entry, legacy_mapping
from asyncrender.cache.manager import DistributedCacheManager


def test_conversion_keeps_unknown_fields_and_normalises_the_key() -> None:
    old = {"status": "success", "images": ["out/p/eq1.png"], "timestamp": 123, "worker": "w3"}
    entry = convert_legacy_entry("./papers/a.json", old, "cache.json", "t")
    assert entry["file"] == "papers/a.json"
    assert entry["images"] == [{"id": "eq1", "path": "out/p/eq1.png"}]
    assert (entry["timestamp"], entry["worker"]) == (123, "w3")
    assert entry["migrated"] == {"from": "cache.json", "at": "t"}
    assert entry["input"] is None


def test_status_is_derived_when_missing_and_errors_become_records() -> None:
    entry = convert_legacy_entry("a.json", {"images": [], "error": "boom"}, "c", "t")
    assert entry["status"] == "failed"
    assert entry["errors"] == [{"id": None, "kind": "legacy", "message": "boom"}]


@pytest.mark.parametrize("bad", [5, "x", None, {"images": 3}, {"images": [7]}, {"errors": 1}])
def test_malformed_entries_are_refused(bad: object) -> None:
    with pytest.raises(MalformedLegacyEntry):
        convert_legacy_entry("a.json", bad, "c", "t")


def test_mapping_may_sit_under_files() -> None:
    assert legacy_mapping({"files": {"a": {}}, "version": 2}) == {"a": {}}
    assert legacy_mapping({"a": {}}) == {"a": {}}


def test_5000_entries_migrate_and_a_second_migration_rewrites_nothing(tmp_path: Path) -> None:
    legacy = {f"papers/{i:05d}_extracted.json": {"status": "success", "images": [f"out/{i}/eq.png"], "n": i}
              for i in range(5000)}
    legacy["papers/broken.json"] = "not an entry"
    legacy_file = tmp_path / "rendered_images_cache.json"
    legacy_file.write_text(json.dumps({"files": legacy}))
    cache = DistributedCacheManager(tmp_path / "cache")

    report = cache.migrate_legacy(legacy_file)
    assert (report.migrated, report.already_present, report.malformed) == (5000, 0, 1)
    names = os.listdir(cache.entries_dir)
    assert len(names) == 5000
    entry = cache.load_file_cache("papers/00042_extracted.json")
    assert entry is not None and entry["n"] == 42 and entry["status"] == "success"
    assert cache.is_file_cached("./papers/00042_extracted.json")

    mtimes = {n: os.stat(cache.entries_dir / n).st_mtime_ns for n in names}
    assert cache.migrate_from_legacy_cache(legacy_file) == 0
    assert {n: os.stat(cache.entries_dir / n).st_mtime_ns for n in os.listdir(cache.entries_dir)} == mtimes


def test_a_legacy_entry_never_overwrites_an_existing_one(tmp_path: Path) -> None:
    cache = DistributedCacheManager(tmp_path / "cache")
    cache.save_file_cache("a.json", {"status": "partial", "images": [], "errors": [], "mine": True})
    legacy_file = tmp_path / "cache.json"
    legacy_file.write_text(json.dumps({"./a.json": {"status": "success", "images": []}}))
    assert cache.migrate_from_legacy_cache(legacy_file) == 0
    kept = cache.load_file_cache("a.json")
    assert kept is not None and kept["mine"] is True
