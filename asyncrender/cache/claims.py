"""Claims: which live run is rendering a file right now, so that two ``--resume`` runs on one cache
folder (two terminals, two machines on a shared folder) do not both render it.

``file_caches/<md5>.claim`` names its run unambiguously, as JSON: host, boot id, pid, the process's
start time and a run id (``Holder``). A pid alone is not enough: pids are reused, and a container
restarted with the same hostname runs its first process as pid 1 again. The claim is created with
``O_CREAT | O_EXCL``, so of two runs claiming one file at once exactly one wins. The winner renders
the file, writes its entry, then removes the claim; the loser waits for it (``run.renderer``).

A claim whose run is gone is stale and is taken over:
- on this host (same hostname and boot): at once when its process is gone, or when another process
  now has its pid (the start time differs);
- with this hostname but another boot id (this machine rebooted, or a container restarted on
  another machine): at once;
- from another host: once it is older than ``CLAIM_EXPIRY`` (its processes cannot be seen here).
A claim of the old form ``<host> <pid>`` (no start time) is judged by the pid alone.

What remains: two runs taking over one stale claim at the same instant may both render that file
(duplicate work, never a corrupt or lost entry: entries are still written by rename).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass

from asyncrender.model import key_digest
from asyncrender.processes import BOOT_ID, ProcessId, me
from asyncrender.tempfiles import HOST

CLAIM_SUFFIX = ".claim"
CLAIM_EXPIRY = 3600.0  # seconds; a file takes seconds to render, an hour-old claim is a dead run's
_MAX_CLAIM_BYTES = 1024


@dataclass(frozen=True)
class Holder:
    """The run a claim names."""

    host: str
    boot: str
    pid: int
    start: int | None
    run: str

    @staticmethod
    def this_process(run: str) -> Holder:
        mine = me()
        return Holder(HOST, BOOT_ID, mine.pid, mine.start, run)

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @staticmethod
    def decode(text: bytes) -> Holder | None:
        """The holder a claim names (the old ``<host> <pid>`` form too); None when unreadable."""
        try:
            raw = json.loads(text)
        except ValueError:
            host, _, old_pid = text.decode("utf-8", "replace").partition(" ")
            return Holder(host, "", int(old_pid), None, "") if old_pid.isdigit() else None
        if not isinstance(raw, dict):
            return None
        pid, start = raw.get("pid"), raw.get("start")
        if not isinstance(pid, int) or not (start is None or isinstance(start, int)):
            return None
        return Holder(str(raw.get("host", "")), str(raw.get("boot", "")), pid, start, str(raw.get("run", "")))

    def describe(self) -> str:
        run = f"run {self.run[:8]}, " if self.run else ""
        return f"{run}pid {self.pid} on {self.host}"


def is_stale(holder: Holder | None, age_seconds: float, expiry: float = CLAIM_EXPIRY) -> bool:
    """Whether a claim naming ``holder``, made ``age_seconds`` ago, belongs to nobody any more."""
    if holder is None or holder.host != HOST:
        return age_seconds > expiry
    if holder.boot and holder.boot != BOOT_ID:
        return True
    return not ProcessId(holder.pid, holder.start).alive()


@dataclass(frozen=True)
class Held:
    """Why a file could not be claimed: a live run holds it, or (``broken``) the claim's name is
    taken by something that is not a claim file (a folder, an unreadable file): waiting won't help."""

    reason: str
    broken: bool = False


def claim_path(entries_dir: str, key: str) -> str:
    return os.path.join(entries_dir, key_digest(key) + CLAIM_SUFFIX)


def try_claim(entries_dir: str, key: str, now: float, holder: Holder,
              expiry: float = CLAIM_EXPIRY) -> Held | None:
    """Claim ``key`` for ``holder`` (this process's run); None when it is now ours, else why not."""
    path = claim_path(entries_dir, key)
    for _ in range(2):  # a stale claim is removed, then claimed like a free one
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                with open(path, "rb") as f:
                    text = f.read(_MAX_CLAIM_BYTES)
                    age = now - os.fstat(f.fileno()).st_mtime
            except FileNotFoundError:
                continue  # released meanwhile: try again
            except OSError as exc:  # a folder of that name, no permission, ...
                return Held(f"{path}: not a claim file ({exc.strerror or exc}); remove it", broken=True)
            other = Holder.decode(text)
            if not is_stale(other, age, expiry):
                return Held(f"claimed by {other.describe() if other else 'an unreadable claim'}")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(holder.encode())
        return None
    return Held("claimed by another run (taken over by it just now)")


def release(entries_dir: str, key: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(claim_path(entries_dir, key))
