"""Issue 12, item 4: ``--resume`` where an input was replaced by a FIFO or ``/dev/zero``.

The entry of an empty input records size 0, so a FIFO or ``/dev/zero`` (size 0 too, another
mtime) used to send ``--resume`` to compare content hashes: it opened and read them, and hung
(the FIFO waits for a writer, ``/dev/zero`` never ends) with Ctrl-C ignored. Non-regular files
now fail as ``input`` without being opened for reading, and the run ends by itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from asyncrender.cache.manager import DistributedCacheManager
from tests.reliability.support import cli_args, kill_group, run_cli, start_cli, wait_session_empty


@pytest.mark.parametrize("special", ["fifo", "dev_zero"])
def test_resume_never_reads_a_fifo_or_a_device(tmp_path: Path, special: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    target = folder / "a_extracted.json"
    target.write_bytes(b"")  # fails as input; its entry records size 0
    listing = folder / "list.txt"
    listing.write_text("a_extracted.json\n")
    cache, out, log = tmp_path / "cache", tmp_path / "out", tmp_path / "log"
    first = run_cli(cli_args(listing, cache, out))
    assert first.returncode == 0, first.stderr.decode()
    target.unlink()
    if special == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")

    proc = start_cli(cli_args(listing, cache, out, "--resume"), log)
    try:
        code = proc.wait(timeout=90)  # generous: the run itself takes about two seconds
    except subprocess.TimeoutExpired:
        kill_group(proc)
        pytest.fail(f"--resume hung on a {special} where an input was")
    assert code == 0, log.read_text()
    assert wait_session_empty(proc.pid) == []
    entry = DistributedCacheManager(cache).load_file_cache("a_extracted.json")
    assert entry is not None
    assert [e["kind"] for e in entry["errors"]] == ["input"]
    assert "not a regular file" in json.dumps(entry["errors"])
