"""What an export may read, and what a killed export leaves behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from asyncrender.processes import pid_alive, started_at


def image_inside(output_dir: object, path: str) -> bool:
    """Whether an entry's image ``path`` may be exported: it resolves (symlinks followed) to a file
    inside the entry's ``output_dir``, so a tampered entry cannot export (hard-link) any other file.
    A migrated entry has no ``output_dir``: its images must be ``.png`` files (or missing)."""
    try:
        real = os.path.realpath(path)
        if not isinstance(output_dir, str):  # a missing one is counted as missing by the caller
            return real.endswith(".png") and (os.path.isfile(real) or not os.path.lexists(real))
        return Path(real).is_relative_to(os.path.realpath(output_dir))
    except (OSError, ValueError):
        return False


def sweep_partial_exports(target: Path) -> int:
    """Remove ``.<name>.<pid>.partial`` folders next to ``target`` that an export killed midway left
    (their process is gone, or its pid now belongs to a process started after the folder was)."""
    removed = 0
    prefix, suffix = f".{target.name}.", ".partial"
    try:
        names = os.listdir(target.parent)
    except OSError:
        return 0
    for name in names:
        pid = name[len(prefix) : -len(suffix)] if name.startswith(prefix) and name.endswith(suffix) else ""
        if not pid.isdigit():
            continue
        path = target.parent / name
        if pid_alive(int(pid)) and not _started_after(int(pid), path):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def _started_after(pid: int, path: Path) -> bool:
    """Whether process ``pid`` started after ``path`` was last changed (then it did not make it)."""
    started = started_at(pid)
    try:
        return started is not None and started > path.stat().st_mtime + 1
    except OSError:
        return False
