"""What kind of file system a local folder is on, from the kernel's mount table.

The orchestrator's thread count for cache work depends on it (``config.RunSettings.io_thread_count``):
on a file system in memory no call waits, so a second thread only hands Python's GIL back and forth.
"""

from __future__ import annotations

import os
import re

MOUNT_TABLE = "/proc/self/mountinfo"
IN_MEMORY = frozenset({"tmpfs", "ramfs"})
_ESCAPE = re.compile(r"\\([0-7]{3})")  # the table writes a space in a mount point as \040


def file_system_type(folder: str | os.PathLike[str], table: str = MOUNT_TABLE) -> str | None:
    """The type (``ext4``, ``tmpfs``, ``nfs4``, ...) of the mount that holds ``folder``'s real path:
    the one with the longest mount point, the last of equals (a mount over another hides it).
    None where the table cannot be read (no ``/proc``)."""
    path = os.path.realpath(folder)
    best, kind = -1, None
    try:
        with open(table, encoding="utf-8", errors="surrogateescape") as lines:
            for line in lines:
                fields = line.split()
                # id parent major:minor root mount-point options [optional fields...] - type source ...
                try:
                    mount_point = _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
                    fs_type = fields[fields.index("-", 6) + 1]
                except (IndexError, ValueError):
                    continue
                inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
                if inside and len(mount_point) >= best:
                    best, kind = len(mount_point), fs_type
    except OSError:
        return None
    return kind


def in_memory(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` is on a file system in memory (tmpfs, ramfs)."""
    return file_system_type(folder) in IN_MEMORY
