"""cache.keys: which other file holds a key's entry (the cheap answers first)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from asyncrender.cache.keys import other_file
from asyncrender.model import CacheEntry


def _entry(source: str) -> CacheEntry:
    return {"version": 1, "file": "a.json", "source": source, "status": "success", "paper_id": None,
            "images": [], "errors": [], "input": None, "config": None}


def test_the_recorded_path_itself_is_this_file_without_a_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.json"
    path.write_text("{}")
    st = os.stat(path)

    def no_stat(*args: object, **kwargs: object) -> os.stat_result:
        raise AssertionError("stat called")

    with monkeypatch.context() as m:
        m.setattr(os, "stat", no_stat)
        assert other_file(_entry(str(path)), str(path), st) is None


def test_another_existing_file_is_named_and_a_link_to_this_one_is_not(tmp_path: Path) -> None:
    here, there = tmp_path / "a.json", tmp_path / "b.json"
    here.write_text("{}")
    there.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(here)
    for st in (os.stat(here), None):
        assert other_file(_entry(str(there)), str(here), st) == str(there)
        assert other_file(_entry(str(link)), str(here), st) is None
    there.unlink()
    assert other_file(_entry(str(there)), str(here), os.stat(here)) is None  # gone: the key is taken over
