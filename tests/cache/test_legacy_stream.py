"""The streamed legacy reader: same mapping as json.load + legacy_mapping, in bounded pieces."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncrender.cache.legacy import legacy_mapping
from asyncrender.cache.legacy_stream import LegacyJSONError, has_files_wrapper, iter_legacy_members
from asyncrender.cache.manager import DistributedCacheManager


def streamed(text: str, chunk: int = 1 << 16) -> dict[str, Any]:
    def reader() -> Any:
        buf = io.StringIO(text)
        return lambda n: buf.read(min(n, chunk))  # tiny chunks: every boundary case

    wrapped = has_files_wrapper(reader())
    return {k: json.loads(v) for k, v in iter_legacy_members(reader(), wrapped)}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3), max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.text(), json_values, max_size=6), wrap=st.booleans(),
       indent=st.sampled_from([None, 1]), chunk=st.integers(1, 7))
def test_matches_json_load(doc: dict[str, Any], wrap: bool, indent: int | None, chunk: int) -> None:
    if wrap:
        doc = {"version": 1, "files": doc, "meta": {"x": ["}", "\\"]}}
    text = json.dumps(doc, indent=indent, ensure_ascii=indent is None)
    assert streamed(text, chunk) == legacy_mapping(json.loads(text))


BAD = ["[1]", "", '{"a":1', '{"a" 1}', '{"a":1} x', '{"a":"x', '{"a":{"b":1}', "{1:2}"]


@pytest.mark.parametrize("bad", BAD)
def test_malformed_documents_raise(bad: str) -> None:
    with pytest.raises(LegacyJSONError):
        streamed(bad)


def test_migration_streams_a_wrapped_file(tmp_path: Any) -> None:
    legacy = tmp_path / "cache.json"
    legacy.write_text(json.dumps({"files": {"a.json": {"images": ["x/1.png"]}, "b.json": {"images": 3},
                                            "./a.json": {"images": []}}, "version": 3}))
    report = DistributedCacheManager(tmp_path / "c").migrate_legacy(legacy)
    assert (report.migrated, report.already_present, report.malformed) == (1, 1, 1)
    entry = DistributedCacheManager(tmp_path / "c").load_file_cache("a.json")
    assert entry is not None and entry["images"] == [{"id": "1", "path": "x/1.png"}]
