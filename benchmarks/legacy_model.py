"""A faithful model of the OLD single-file cache design, for comparison only.

The old tool kept every entry in one ``cache.json``. Each update took an exclusive lock
(``fcntl.flock`` on ``cache.json.lock``, waiting up to 30 s), read and parsed the whole file,
changed one entry and wrote the whole file back. So every write costs O(entries), and all writers
queue behind one lock. ``LegacyCacheManager`` puts that design behind the cache manager's API, so
the orchestrator can run with it unchanged (end-to-end benchmark).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any, cast

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.cache.summary import Summary, summarise
from asyncrender.model import CacheEntry, normalise_key

LOCK_TIMEOUT = 30.0
_POLL = 0.005


class LockTimeout(TimeoutError):
    pass


class LegacyJsonCache:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def _lock(self, deadline: float | None = None) -> int:
        """Open and flock the lock file (30 s timeout, as the old tool); ``deadline`` gives up early."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        give_up = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                now = time.monotonic()
                if now > give_up or (deadline is not None and now > deadline):
                    os.close(fd)
                    raise LockTimeout(f"{self.lock_path}: lock not acquired") from None
                time.sleep(_POLL)

    def read_all(self) -> dict[str, Any]:
        try:
            with open(self.path, "rb") as f:
                doc: dict[str, Any] = json.load(f)
                return doc
        except FileNotFoundError:
            return {}

    def _write_all(self, doc: dict[str, Any]) -> None:
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(doc, f)

    def update(self, key: str, entry: dict[str, Any], deadline: float | None = None) -> bool:
        """Lock, read everything, set one entry, write everything. ``False`` if past ``deadline``
        once the lock is held (so a timed benchmark does not wait for every queued writer)."""
        fd = self._lock(deadline)
        try:
            if deadline is not None and time.monotonic() > deadline:
                return False
            doc = self.read_all()
            doc[key] = entry
            self._write_all(doc)
            return True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def fill(self, entries: dict[str, Any]) -> None:
        self._write_all(entries)


class LegacyCacheManager(DistributedCacheManager):
    """The cache manager's API over the old design (``cache_dir/cache.json``)."""

    def __init__(self, cache_dir: str | os.PathLike[str], *, fsync: bool = False) -> None:
        super().__init__(cache_dir, fsync=fsync)
        self.legacy = LegacyJsonCache(self.cache_dir / "cache.json")

    def save_file_cache(self, file_path: str | os.PathLike[str], entry: CacheEntry) -> None:
        key = normalise_key(os.fspath(file_path))
        self.legacy.update(key, {**entry, "file": key})

    def load_file_cache(self, file_path: str | os.PathLike[str]) -> CacheEntry | None:
        found = self.legacy.read_all().get(normalise_key(os.fspath(file_path)))
        return cast("CacheEntry | None", found)

    def save_summary(self) -> Summary:
        return summarise(cast("list[CacheEntry]", list(self.legacy.read_all().values())), "")
