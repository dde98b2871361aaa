"""cache.manager: real files, atomic writes, crashes, metadata versions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from asyncrender.cache.manager import CacheFormatError, DistributedCacheManager

ENTRY = {"status": "success", "images": [], "errors": []}


def test_layout_and_round_trip(tmp_path: Path) -> None:
    cache = DistributedCacheManager(tmp_path / "c")
    meta = json.loads((tmp_path / "c" / "metadata.json").read_text())
    assert (meta["format"], meta["version"]) == ("asyncrender-cache", 1) and "created_at" in meta
    assert not cache.is_file_cached("a.json")
    cache.save_file_cache("./a.json", ENTRY)
    assert cache.entry_path("a.json").exists()
    assert cache.load_file_cache("a.json") == {**ENTRY, "file": "a.json"}
    assert [e["file"] for e in cache.iter_entries()] == ["a.json"]
    assert cache.save_summary()["files"]["total"] == 1
    assert json.loads((tmp_path / "c" / "summary.json").read_text())["files"]["by_status"]["success"] == 1


def test_async_twins(tmp_path: Path) -> None:
    cache = DistributedCacheManager(tmp_path / "c", fsync=True)

    async def main() -> None:
        await cache.asave_file_cache("b.json", ENTRY)
        assert await cache.aload_file_cache("b.json") == {**ENTRY, "file": "b.json"}
        assert (await cache.asave_summary())["files"]["total"] == 1

    anyio.run(main)


@pytest.mark.parametrize("meta", [{"format": "asyncrender-cache", "version": 2}, {"format": "other"}, "x"])
def test_unknown_or_newer_metadata_is_refused_and_nothing_touched(tmp_path: Path, meta: object) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(CacheFormatError):
        DistributedCacheManager(folder)
    assert os.listdir(folder) == ["metadata.json"]


def test_corrupt_entries_read_as_absent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = DistributedCacheManager(tmp_path / "c")
    cache.save_file_cache("a.json", ENTRY)
    path = cache.entry_path("a.json")
    path.write_bytes(path.read_bytes()[:10])
    assert cache.load_file_cache("a.json") is None
    assert "corrupt" in caplog.text
    assert list(cache.iter_entries()) == []


CRASH_BETWEEN_WRITE_AND_RENAME = textwrap.dedent("""
    import os, signal, sys
    from asyncrender.cache.manager import DistributedCacheManager
    cache = DistributedCacheManager(sys.argv[1])
    def die(src, dst):  # the temp file is written; the process dies before the rename
        os.kill(os.getpid(), signal.SIGKILL)
    os.replace = die
    cache.save_file_cache("a.json", {"status": "failed", "images": [], "errors": [], "new": True})
""")


def test_a_crash_between_temp_write_and_rename_leaves_the_old_entry_whole(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    cache = DistributedCacheManager(folder)
    cache.save_file_cache("a.json", ENTRY)
    proc = subprocess.run([sys.executable, "-c", CRASH_BETWEEN_WRITE_AND_RENAME, str(folder)])
    assert proc.returncode == -9
    temps = [n for n in os.listdir(cache.entries_dir) if n.endswith(".tmp")]
    assert len(temps) == 1
    assert cache.load_file_cache("a.json") == {**ENTRY, "file": "a.json"}  # old entry, whole
    # The next run removes what the dead process left.
    assert DistributedCacheManager(folder).cleanup_temp_files() == 1
    assert [n for n in os.listdir(cache.entries_dir) if n.endswith(".tmp")] == []


def test_cleanup_keeps_a_live_writers_temp_file(tmp_path: Path) -> None:
    cache = DistributedCacheManager(tmp_path / "c")
    import socket

    live = cache.entries_dir / f"x.cache.{socket.gethostname()}.{os.getpid()}.abcd0123.tmp"
    live.write_bytes(b"{}")
    assert cache.cleanup_temp_files() == 0
    os.utime(live, (0, 0))  # very old: whoever wrote it is long gone
    assert cache.cleanup_temp_files() == 1


def test_save_entries_counts_out_the_entries_the_caller_read(tmp_path: Path) -> None:
    """``replaced``: the entries the writes replace, as the caller read them; none is read again."""
    from asyncrender.cache.summary import SummaryBuilder

    cache = DistributedCacheManager(tmp_path / "c")
    cache.save_file_cache("a.json", ENTRY)
    old = cache.read_entry("a.json")
    assert old is not None
    failed = {**ENTRY, "status": "failed", "file": "a.json"}
    delta = SummaryBuilder()
    assert cache.save_entries([("a.json", failed, False)], delta, [old]) == [None]
    assert dict(delta.by_status) == {"success": -1, "partial": 0, "failed": 1}
    assert cache.read_entry("a.json") == failed
    delta = SummaryBuilder()
    cache.save_entries([("a.json", failed, False)], delta)  # none given: read before the write
    assert dict(delta.by_status) == {"success": 0, "partial": 0, "failed": 0}


def test_read_entry_reads_a_large_entry_whole(tmp_path: Path) -> None:
    cache = DistributedCacheManager(tmp_path / "c")
    big = {**ENTRY, "errors": [{"id": str(i), "kind": "latex", "message": "m" * 100} for i in range(2000)]}
    cache.save_file_cache("a.json", big)
    assert cache.entry_path("a.json").stat().st_size > 1 << 17
    assert cache.read_entry("a.json") == {**big, "file": "a.json"}
