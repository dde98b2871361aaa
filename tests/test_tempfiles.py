"""tempfiles: temp names carry the writer's ProcessId (pid, start time, boot), so a temp whose pid
now belongs to another process is still an orphan; bare-pid names of older versions still work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from asyncrender.processes import ProcessId, me
from asyncrender.tempfiles import HOST, is_orphan, remove_orphans, temp_path, write_atomic


def test_temp_names_carry_this_process_and_are_not_orphans_while_it_lives(tmp_path: Path) -> None:
    name = temp_path(tmp_path / "eq1.png", hidden=True).name
    assert name.startswith(f".eq1.png.{HOST}.{me().tag()}.")
    assert not is_orphan(name, age_seconds=0.0)


def test_a_live_pid_with_another_start_time_does_not_keep_a_temp(tmp_path: Path) -> None:
    """The pid was reused: the writer is dead although a process with its pid runs (this one)."""
    mine = me()
    assert mine.start is not None
    reused = ProcessId(mine.pid, mine.start + 1)
    (tmp_path / f".eq1.png.{HOST}.{reused.tag()}.0123abcd.tmp").write_bytes(b"partial")
    (tmp_path / f".eq2.png.{HOST}.{mine.tag()}.0123abcd.tmp").write_bytes(b"being written")
    assert remove_orphans(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == [f".eq2.png.{HOST}.{mine.tag()}.0123abcd.tmp"]


def test_bare_pid_names_of_older_versions(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert is_orphan(f"x.cache.{HOST}.{dead}.0123abcd.tmp", age_seconds=0.0)
    assert not is_orphan(f"x.cache.{HOST}.{os.getpid()}.0123abcd.tmp", age_seconds=0.0)
    assert not is_orphan(f"x.cache.otherhost.{dead}.0123abcd.tmp", age_seconds=0.0)  # another host's: by age
    assert is_orphan(f"x.cache.otherhost.{dead}.0123abcd.tmp", age_seconds=10_000.0)


def test_write_atomic_leaves_only_the_final_file(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.png", b"png", hidden=True)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    assert (tmp_path / "a.png").read_bytes() == b"png"


def test_a_forked_child_draws_other_temp_names_than_its_parent(tmp_path: Path) -> None:
    """Without a new seed after fork, parent and child would draw the same names (and collide)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next temp name, then out
        os.write(write_end, temp_path(tmp_path / "a.png").name.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 4096).decode()
    os.close(read_end)
    mine = temp_path(tmp_path / "a.png").name
    assert child.rsplit(".", 2)[-2] != mine.rsplit(".", 2)[-2]
