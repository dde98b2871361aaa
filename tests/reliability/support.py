"""Helpers shared by the reliability tests: a generated corpus, the real CLI, and a cache audit."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image

from asyncrender.cache.manager import DistributedCacheManager

ROOT = Path(__file__).resolve().parents[2]
SOAK = os.environ.get("ASYNCRENDER_SOAK") == "1"


def make_corpus(folder: Path, files: int, items: int, *, prefix: str = "p") -> Path:
    """``files`` extracted files of ``items`` small formulas each, and a list naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for f in range(files):
        name = f"{prefix}{f:04d}_extracted.json"
        doc = {"paper_id": f"{prefix}{f:04d}",
               "items": [{"id": f"eq{i}", "latex": f"x_{{{f}}}^{{{i}}} + \\alpha_{i}"} for i in range(items)]}
        (folder / name).write_text(json.dumps(doc))
        lines.append(name)
    listing = folder / "list.txt"
    listing.write_text("\n".join(lines) + "\n")
    return listing


def cli_args(listing: Path, cache: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "asyncrender", "render", str(listing), "-c", str(cache), "-o", str(out),
            "--renderer", "mathtext", "-j", "2", "--quiet", *extra]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def start_cli(args: list[str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """The real CLI in a session (and process group) of its own, so that a test can kill it all.

    Its output goes to ``log`` (a file, so that no pipe fills up and none is left open)."""
    with open(log or os.devnull, "ab") as sink:
        return subprocess.Popen(args, env=cli_env(), start_new_session=True, stdout=sink, stderr=sink)


def kill_group(proc: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):  # the run may have ended by itself
        os.killpg(proc.pid, signum)


def run_cli(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, env=cli_env(), capture_output=True, timeout=timeout, start_new_session=True)


def session_processes(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``: what a run left behind."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state ppid pgrp session
            found.append(int(entry))
    return found


def children() -> dict[int, list[int]]:
    """Every process's children, by parent pid (zombies included)."""
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                tree.setdefault(parent_of(int(name)), []).append(int(name))
            except OSError:  # ended meanwhile
                continue
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = children(), [], [pid]
    while todo:
        kids = tree.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def parent_of(pid: int) -> int:
    """The parent pid (``/proc/<pid>/stat``'s field 4: the name, field 2, may hold spaces and ``)``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_dead(pids: list[int], within: float = 30.0) -> list[int]:
    """Wait (up to a generous bound) for ``pids`` to end; those still alive."""
    deadline = time.monotonic() + within
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def wait_session_empty(sid: int, within: float = 30.0) -> list[str]:
    """Wait (up to a generous bound) for a session's processes to die; what is left, described."""
    deadline = time.monotonic() + within
    while (left := session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [_describe(pid) for pid in left]


def _describe(pid: int) -> str:
    try:
        return f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return str(pid)


def entry_count(cache: Path) -> int:
    """How many entry files the cache holds now (0 before the run made its folder)."""
    folder = cache / "file_caches"
    return sum(name.endswith(".cache") for name in os.listdir(folder)) if folder.exists() else 0


def temp_files(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*.tmp")]


def audit(cache: Path, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Every key has a valid entry, no entry is corrupt, every listed image is a whole PNG.

    Returns the entries by key. Images are decoded in full with Pillow.
    """
    manager = DistributedCacheManager(cache, create=False)
    entries: dict[str, dict[str, Any]] = {}
    for scanned in manager.scan():
        assert scanned.entry is not None, f"corrupt entry {scanned.path}: {scanned.problem}"
        entries[scanned.entry["file"]] = scanned.entry
    missing = set(keys) - set(entries)
    assert not missing, f"no entry for {sorted(missing)[:5]}"
    for entry in entries.values():
        for image in entry["images"]:
            with Image.open(image["path"]) as im:
                im.load()
                assert im.size == (image["width"], image["height"])
    return entries
