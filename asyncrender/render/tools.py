"""The TeX tools outside Python: where their precompiled formats are kept, their versions, and
where TeX finds a package.

A tool's version line (``latex --version``) is part of the cache's config fingerprint and of a
format's name. Asking costs a process start (10-30 ms); the orchestrator asks at every run's start
and every worker again. So each answer is kept in ``<format cache>/tool-versions.json``, keyed by
the binary's path, device, inode, size and modification time: an upgraded or replaced binary is a
new key and is asked again. A missing tool, or one that prints nothing, is never remembered.
Where ``kpsewhich`` finds a file (``preview.sty``: is TeX usable at all?) is kept there too, and
trusted while that file is still there.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
from pathlib import Path

from asyncrender.tempfiles import write_atomic

VERSIONS_FILE = "tool-versions.json"
MAX_REMEMBERED = 64  # binaries; the oldest answers go first


def format_cache_dir() -> Path:
    """Where precompiled formats (and tool versions) are kept across runs:
    ``$ASYNCRENDER_FORMAT_DIR``, else ``$XDG_CACHE_HOME/asyncrender/formats`` (``~/.cache/...``)."""
    explicit = os.environ.get("ASYNCRENDER_FORMAT_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "asyncrender" / "formats"


def binary_identity(tool: str) -> str | None:
    """What names the binary ``tool`` runs now (None if it is not on ``PATH``)."""
    path = shutil.which(tool)
    if path is None:
        return None
    try:
        st = os.stat(path)  # follows the symlinks (latex -> pdftex): the file that runs
    except OSError:
        return None
    return f"{tool}|{path}|{st.st_dev}:{st.st_ino}|{st.st_size}|{st.st_mtime_ns}"


def tool_version(tool: str) -> str:
    """The first line ``tool --version`` prints ("<tool> missing" or "<tool> ?" when it cannot say)."""
    identity = binary_identity(tool)
    if identity is None:
        return f"{tool} missing"
    known = _remembered()
    if identity in known:
        return known[identity]
    line = _ask(tool)
    if line is not None:
        _remember(identity, line)
    return line if line is not None else f"{tool} ?"


def tex_file(name: str) -> str | None:
    """The path where TeX finds ``name`` (``kpsewhich name``), or None."""
    identity = binary_identity("kpsewhich")
    if identity is None:
        return None
    key = f"{identity}|find {name}"
    known = _remembered().get(key)
    if known is not None and os.path.isfile(known):
        return known
    try:
        out = subprocess.run(["kpsewhich", name], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    found = out.stdout.strip() if out.returncode == 0 else ""
    if not found:
        return None
    _remember(key, found)
    return found


def _ask(tool: str) -> str | None:
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0].strip() if out.strip() else None


def _remembered() -> dict[str, str]:
    try:
        data = json.loads((format_cache_dir() / VERSIONS_FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _remember(identity: str, line: str) -> None:
    """Add one answer (read, add, write by rename: two processes at once may lose one answer,
    which is then asked again, never a wrong one). An unwritable folder just means asking again."""
    known = _remembered()
    known.pop(identity, None)
    known[identity] = line
    kept = dict(list(known.items())[-MAX_REMEMBERED:])
    with contextlib.suppress(OSError):
        folder = format_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / VERSIONS_FILE, json.dumps(kept, indent=1).encode())


@functools.cache
def tex_available() -> bool:
    """latex and dvipng on PATH, and preview.sty found by kpsewhich."""
    return bool(shutil.which("latex") and shutil.which("dvipng") and tex_file("preview.sty"))


@functools.cache
def tex_versions() -> str:
    """The latex backend's version: latex's and dvipng's version lines."""
    return "; ".join(tool_version(tool) for tool in ("latex", "dvipng"))
