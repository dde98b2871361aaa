"""Point 7: a full disk (ENOSPC) while writing images or entries, on a real, tiny tmpfs.

An image that cannot be written fails that item as ``io`` (a transient kind: ``--resume`` retries
it); an entry that cannot be written stops the run cleanly with a clear message and exit 1, and
leaves no partial entry. After making room, ``--resume`` completes the run. Needs permission to
mount a tmpfs (root in CI); skipped otherwise.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncrender.cache.manager import DistributedCacheManager
from tests.reliability.support import audit, cli_args, make_corpus, run_cli, temp_files


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)]
    done = subprocess.run(command, capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def make_room(mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)


def test_full_output_disk_fails_items_as_io_and_resume_recovers(tmp_path: Path, tiny_disk: Path) -> None:
    listing = make_corpus(tmp_path / "in", files=12, items=4)
    keys = [line for line in listing.read_text().split("\n") if line]
    cache, out = tmp_path / "cache", tiny_disk / "out"
    done = run_cli(cli_args(listing, cache, out, "--json"))
    assert done.returncode == 0, done.stderr.decode()
    entries = {e["file"]: e for e in DistributedCacheManager(cache).iter_entries()}
    io_errors = [err for e in entries.values() for err in e["errors"] if err["kind"] == "io"]
    assert io_errors and all("No space left on device" in err["message"] for err in io_errors)
    assert temp_files(out) == []  # no partial image under any name
    audit(cache, keys)  # every image an entry lists is whole

    make_room(tiny_disk)
    done = run_cli(cli_args(listing, cache, out, "--resume", "--json"))
    assert done.returncode == 0, done.stderr.decode()
    entries = audit(cache, keys)
    assert all(e["status"] == "success" for e in entries.values())


def test_full_cache_disk_stops_the_run_cleanly_and_resume_recovers(tmp_path: Path, tiny_disk: Path) -> None:
    listing = make_corpus(tmp_path / "in", files=40, items=1)
    keys = [line for line in listing.read_text().split("\n") if line]
    cache, out = tiny_disk / "cache", tmp_path / "out"
    done = run_cli(cli_args(listing, cache, out))
    assert done.returncode == 1
    message = done.stderr.decode()
    assert "cannot write the cache entry" in message and "No space left on device" in message
    assert "Traceback" not in message
    written = list(DistributedCacheManager(cache).scan())
    assert written and all(s.entry is not None for s in written)  # whole entries only
    assert temp_files(cache) == []

    make_room(tiny_disk)
    done = run_cli(cli_args(listing, cache, out, "--resume", "--json"))
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["run"]["skipped"] == len(written)
    audit(cache, keys)
