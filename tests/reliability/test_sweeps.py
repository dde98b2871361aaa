"""Issue 12, item 6: the sweeps of orphaned temp files delete only names asyncrender makes.

A user's ``notes.tmp`` (or ``x.1.tmp``) older than five minutes in the cache folder or in a paper
folder stays; an old temp of asyncrender's own shape, and a dead writer's, go.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.reliability.support import cli_args, make_corpus, run_cli

USER_NAMES = ["notes.tmp", "draft.1.tmp", "a.b.tmp", "x.host.12.nothex00.tmp"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweeps_keep_the_users_tmp_files(tmp_path: Path) -> None:
    listing = make_corpus(tmp_path / "in", files=2, items=2)
    cache, out = tmp_path / "cache", tmp_path / "out"
    first = run_cli(cli_args(listing, cache, out))
    assert first.returncode == 0, first.stderr.decode()
    paper = out / "p0000"
    users = [folder / name for folder in (cache, cache / "file_caches", paper) for name in USER_NAMES]
    ours_old = cache / "file_caches" / f"x.cache.otherhost.{os.getpid()}.0123abcd.tmp"
    ours_dead = paper / f".eq0.png.{socket.gethostname()}.{_dead_pid()}.89abcdef.tmp"
    for path in [*users, ours_old, ours_dead]:
        path.write_text("mine")
        os.utime(path, (0, 0))  # far older than the five minutes after which an orphan goes

    again = run_cli(cli_args(listing, cache, out))
    assert again.returncode == 0, again.stderr.decode()
    assert [p for p in users if not p.exists()] == []
    assert not ours_old.exists()
    assert not ours_dead.exists()
