"""Temp files for atomic writes: how they are named, and how a crash's leftovers are found.

Every atomic write (cache entries, summary, PNGs) goes through
``<final>.<host>.<process>.<random>.tmp`` in the final file's folder, then a rename; ``<process>`` is
``processes.ProcessId.tag`` (pid, start time, boot: a pid alone is soon another process's, since
pids wrap around). Host and process let a later run tell an orphan (its writer is dead) from a
file another live run is writing right now; the random part keeps two writers apart even when
they share a pid on two machines of one shared folder. Names with a bare pid (older versions) are
still recognised. PNG temps start with ``.``
so that they never look like images. Pure naming here, plus one folder sweep.

A sweep removes only names of exactly that shape: a user's ``notes.tmp`` in the
cache folder or a paper folder is not asyncrender's, whatever its age, and stays.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import socket
import time
from pathlib import Path

from asyncrender.processes import me, owner_of

TEMP_SUFFIX = ".tmp"
STALE_TEMP_SECONDS = 300.0
HOST = socket.gethostname()
# <final name>.<host>.<pid>-<start>-<boot>.<8 hex>.tmp (or a bare <pid>); the final name and the
# host may hold dots.
_TEMP_NAME = re.compile(r"(?P<head>.+)\.(?P<owner>[0-9]+(?:-[0-9]+-[0-9a-z]+)?)\.[0-9a-f]{8}\.tmp", re.DOTALL)


def temp_path(path: Path, *, hidden: bool = False) -> Path:
    """A unique temp name next to ``path`` (``hidden``: with a leading dot)."""
    prefix = "." if hidden and not path.name.startswith(".") else ""
    return path.with_name(f"{prefix}{path.name}{_tail()}")


_TEMP_TAIL = f".{HOST}.{me().tag()}."
# The random part of temp names: os.urandom costs a system call (as much as the write itself at
# tens of thousands of entries a second); a private generator seeded from it, seeded again in a
# forked child, keeps names apart as well. Private, so a caller's random.seed() cannot make twins.
_TOKENS = random.Random()
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def _tail() -> str:
    """What a temp name adds to the final name: ``.<host>.<process>.<random>.tmp``."""
    return f"{_TEMP_TAIL}{_TOKENS.getrandbits(32):08x}{TEMP_SUFFIX}"


def _after_fork() -> None:
    global _TEMP_TAIL
    _TEMP_TAIL = f".{HOST}.{me().tag()}."
    _TOKENS.seed()


os.register_at_fork(after_in_child=_after_fork)


def write_atomic(path: Path | str, data: bytes, fsync: bool = False, *, hidden: bool = False) -> None:
    """Write ``data`` to ``path`` whole or not at all: a temp file (``temp_path``'s name) in the same
    folder, then a rename. A reader, or a crash, never sees a partial file under the final name.
    With ``fsync``, the file and then its folder are synced, so the rename survives a power cut too.

    Plain ``os`` calls on ``str`` paths (open, write, close, rename: no file object, no ``Path``):
    the orchestrator writes one entry per file, tens of thousands a second.
    """
    final = os.fspath(path)
    tail = _tail()
    if hidden:
        folder, name = os.path.split(final)
        tmp = os.path.join(folder, f"{'' if name.startswith('.') else '.'}{name}{tail}")
    else:
        tmp = final + tail  # the same name as the hidden branch's without its dot: no split, no join
    try:
        fd = os.open(tmp, _TEMP_FLAGS, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if fsync:
        dir_fd = os.open(os.path.dirname(final) or ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def is_orphan(name: str, age_seconds: float, max_age: float = STALE_TEMP_SECONDS) -> bool:
    """Whether a temp file named ``name``, last written ``age_seconds`` ago, belongs to nobody.

    A temp of a dead process on this host is an orphan at once; any other (another host's, or one
    whose name we do not know) only once it is older than ``max_age``.
    """
    match = _TEMP_NAME.fullmatch(name)
    if match is None:  # not a name asyncrender makes: never ours to delete
        return False
    owner = owner_of(match["owner"])
    if match["head"].endswith("." + HOST) and owner is not None and not owner.alive():
        return True
    return age_seconds > max_age


def remove_orphans(folder: Path, max_age: float = STALE_TEMP_SECONDS) -> int:
    """Remove the orphaned temp files directly in ``folder`` (absent folder: nothing to do)."""
    removed = 0
    now = time.time()
    try:
        it = os.scandir(folder)
    except OSError:  # absent, not a folder, unreadable: nothing we can or need to sweep
        return 0
    with it:
        for dirent in it:
            if not dirent.name.endswith(TEMP_SUFFIX):
                continue
            try:
                age = now - dirent.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue
            if is_orphan(dirent.name, age, max_age):
                try:
                    Path(dirent.path).unlink(missing_ok=True)
                except OSError:
                    continue
                removed += 1
    return removed
