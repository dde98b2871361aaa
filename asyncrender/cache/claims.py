"""Claims: which live run is rendering a file right now, so that two ``--resume`` runs on one cache
folder (two terminals, two machines on a shared folder) do not both render it.

``file_caches/<md5>.claim`` holds ``<host> <pid>``; it is created with ``O_CREAT | O_EXCL``, so of
two runs claiming one file at once exactly one wins. The winner renders the file, writes its entry,
then removes the claim; the loser skips the file (its result says ``claimed``). A claim whose owner
is gone is stale and is taken over: at once when its process is dead on this host, otherwise once
it is older than ``CLAIM_EXPIRY`` (another machine's processes cannot be seen from here).

What remains: two runs taking over one stale claim at the same instant may both render that file
(duplicate work, never a corrupt or lost entry: entries are still written by rename).
"""

from __future__ import annotations

import contextlib
import os

from asyncrender.model import key_digest
from asyncrender.processes import pid_alive
from asyncrender.tempfiles import HOST

CLAIM_SUFFIX = ".claim"
CLAIM_EXPIRY = 3600.0  # seconds; a file takes seconds to render, an hour-old claim is a dead run's


def claim_text() -> bytes:
    return f"{HOST} {os.getpid()}".encode()


def is_stale(text: bytes, age_seconds: float, expiry: float = CLAIM_EXPIRY) -> bool:
    """Whether a claim holding ``text``, made ``age_seconds`` ago, belongs to nobody any more."""
    host, _, pid = text.decode("utf-8", "replace").partition(" ")
    if host == HOST and pid.isdigit():
        return not pid_alive(int(pid))
    return age_seconds > expiry


def claim_path(entries_dir: str, key: str) -> str:
    return os.path.join(entries_dir, key_digest(key) + CLAIM_SUFFIX)


def try_claim(entries_dir: str, key: str, now: float, expiry: float = CLAIM_EXPIRY) -> bool:
    """Claim ``key`` for this process; False when a live run holds it."""
    path = claim_path(entries_dir, key)
    for _ in range(2):  # a stale claim is removed, then claimed like a free one
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                with open(path, "rb") as f:
                    text = f.read(256)
                    age = now - os.fstat(f.fileno()).st_mtime
            except FileNotFoundError:
                continue  # released meanwhile: try again
            if not is_stale(text, age, expiry):
                return False
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(claim_text())
        return True
    return False


def release(entries_dir: str, key: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(claim_path(entries_dir, key))
