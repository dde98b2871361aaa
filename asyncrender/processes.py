"""Which process is which: a pid alone names a process only until it ends (pids are reused, and a
container restarted with the same hostname runs its first process as pid 1 again). A pid together
with the process's start time (``/proc/<pid>/stat``, clock ticks since boot) and the boot it belongs
to (``/proc/sys/kernel/random/boot_id``) names exactly one process, ever.

Where ``/proc`` is absent (not Linux) the start time is ``None`` and only the pid is compared.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _read_boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


BOOT_ID = _read_boot_id()


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (a zombie counts: it still holds its pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


def _stat(pid: int) -> tuple[bytes, int] | None:
    """``(state, start time)`` of process ``pid`` from ``/proc/<pid>/stat``; None if gone (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except (OSError, ValueError):
        return None
    # The name (field 2) may hold spaces and parentheses: the fields after the last ")" are plain.
    # They start at field 3 (state); the start time is field 22.
    fields = stat[stat.rindex(b")") + 2 :].split()
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot; None if it is gone (or no /proc)."""
    found = _stat(pid)
    return found[1] if found else None


def started_at(pid: int) -> float | None:
    """When process ``pid`` started, as a Unix time (boot time + its start time); None if unknown."""
    ticks = start_time(pid)
    try:
        with open("/proc/stat", "rb") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
    except (OSError, StopIteration, ValueError):
        return None
    return None if ticks is None else boot + ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessId:
    """One process, unambiguously: its pid, its start time and its boot."""

    pid: int
    start: int | None
    boot: str = BOOT_ID

    @staticmethod
    def of(pid: int) -> ProcessId:
        return ProcessId(pid, start_time(pid))

    def alive(self) -> bool:
        """Whether this very process still runs (another one with its pid does not count). Only
        meaningful on this host: a process of another boot or machine is never seen as alive."""
        if self.boot != BOOT_ID or not pid_alive(self.pid):
            return False
        found = _stat(self.pid)
        if found is None:  # no /proc here (or it ended just now): the pid is all we can go by
            return True
        state, start = found
        return state not in (b"Z", b"X") and (self.start is None or start == self.start)

    def tag(self) -> str:
        """``<pid>-<start>-<boot, 8 hex>``: for names (scratch folders) a sweep can check."""
        return f"{self.pid}-{self.start or 0}-{self.boot.replace('-', '')[:8] or 'noboot'}"

    @staticmethod
    def from_tag(tag: str) -> ProcessId | None:
        pid, _, rest = tag.partition("-")
        start, _, boot8 = rest.partition("-")
        if not (pid.isdigit() and start.isdigit() and boot8):
            return None
        if boot8 != (BOOT_ID.replace("-", "")[:8] or "noboot"):
            return ProcessId(int(pid), int(start), boot="other:" + boot8)
        return ProcessId(int(pid), int(start) or None)


def me() -> ProcessId:
    return ProcessId.of(os.getpid())


def owner_of(tag: str) -> ProcessId | None:
    """The process a name's ``ProcessId.tag`` part names; a bare pid (names made before tags)
    names the pid alone. None when it is neither."""
    return ProcessId(int(tag), None) if tag.isdigit() else ProcessId.from_tag(tag)
