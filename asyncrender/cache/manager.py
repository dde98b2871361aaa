"""The cache folder on disk: one small entry file per input, no lock anywhere.

    cache_dir/metadata.json            {"format": "asyncrender-cache", "version": 1, "created_at": ...}
    cache_dir/file_caches/<md5>.cache  one entry per input file (see ``cache.entry``)
    cache_dir/summary.json             totals over all entries (see ``cache.summary``)

Every write goes to a temp file in the same folder and is renamed over the final name, so a crash
leaves an entry whole or absent, and two writers of one entry never interleave (the last rename
wins). The plain methods are the API the old tool's users know; the ``a``-prefixed twins run the
same code in one thread hop each (aiofiles' executor wrapper), for the event loop.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import anyio.to_thread

from asyncrender.cache import claims, runs
from asyncrender.cache.entry import ENTRY_SUFFIX, CorruptEntry, decode_entry, encode_entry, entry_file_name
from asyncrender.cache.legacy import MalformedLegacyEntry, convert_legacy_entry
from asyncrender.cache.legacy_stream import LegacyJSONError, has_files_wrapper, iter_legacy_members
from asyncrender.cache.summary import Summary, SummaryBuilder
from asyncrender.model import CacheEntry, normalise_key
from asyncrender.storage import posix_folder
from asyncrender.tempfiles import STALE_TEMP_SECONDS, remove_orphans, write_atomic

log = logging.getLogger("asyncrender")

CACHE_FORMAT = "asyncrender-cache"
CACHE_VERSION = 1


class CacheFormatError(RuntimeError):
    """The folder holds a cache this version cannot use; nothing in it was touched."""


class CacheWriteError(OSError):
    """An entry or the summary could not be written (a full disk, a lost mount): the run stops."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_READ_BLOCK = 1 << 16  # an entry is a few hundred bytes to a few hundred kB


def read_whole(path: str) -> bytes:
    """A file's bytes with bare ``os`` calls (no file object: a third of the cost of a small read).
    Read to end of file: a short read is not taken for the end."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, _READ_BLOCK)
        if not data:
            return data
        blocks = [data]
        while block := os.read(fd, _READ_BLOCK):
            blocks.append(block)
    finally:
        os.close(fd)
    return blocks[0] if len(blocks) == 1 else b"".join(blocks)


@dataclass(frozen=True)
class ScannedEntry:
    """One file of ``file_caches/``: its entry, or why it cannot be trusted."""

    path: Path
    entry: CacheEntry | None
    problem: str | None


@dataclass(frozen=True)
class RunStart:
    """What a run saw of the cache's totals when it began (see ``cache.runs``)."""

    marker: runs.RunMarker
    base: Summary | None  # summary.json as read then, or None (absent, unreadable)
    identity: tuple[int, int, int] | None


@dataclass(frozen=True)
class MigrationReport:
    migrated: int
    already_present: int
    malformed: int


class DistributedCacheManager:
    def __init__(self, cache_dir: str | os.PathLike[str], *, fsync: bool = False, create: bool = True) -> None:
        try:
            self.cache_dir = Path(posix_folder(cache_dir, "the cache folder"))
        except ValueError as exc:
            raise CacheFormatError(str(exc)) from None
        self.entries_dir = self.cache_dir / "file_caches"
        self._entries_dir_str = str(self.entries_dir)
        self._entries_prefix = self._entries_dir_str + os.sep  # + an entry's name: its path
        self.fsync = fsync
        self.metadata = self._open(create)

    def _open(self, create: bool) -> dict[str, Any]:
        meta_path = self.cache_dir / "metadata.json"
        try:
            meta = json.loads(meta_path.read_bytes())
        except FileNotFoundError:
            if not create:
                raise CacheFormatError(f"{self.cache_dir}: not a cache folder (no metadata.json)") from None
            self._make_entries_dir(parents=True)
            meta = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "created_at": utc_now()}
            write_atomic(meta_path, json.dumps(meta, indent=2).encode(), self.fsync)
            return meta
        except (OSError, ValueError) as exc:
            raise CacheFormatError(f"{meta_path}: unreadable cache metadata: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
            raise CacheFormatError(f"{meta_path}: not an asyncrender cache (format {meta.get('format')!r})"
                                   if isinstance(meta, dict) else f"{meta_path}: not an asyncrender cache")
        if meta.get("version") != CACHE_VERSION:
            raise CacheFormatError(
                f"{meta_path}: cache version {meta.get('version')!r}; this asyncrender reads version "
                f"{CACHE_VERSION} only (a newer asyncrender made it?). Nothing was changed."
            )
        self._make_entries_dir(parents=False)
        return meta

    def _make_entries_dir(self, parents: bool) -> None:
        try:
            self.entries_dir.mkdir(parents=parents, exist_ok=True)
        except FileExistsError:
            raise CacheFormatError(f"{self.entries_dir}: is a file; the cache keeps its entries in a "
                                   "folder of that name") from None
        except OSError as exc:
            raise CacheFormatError(f"{self.entries_dir}: cannot make the entries folder: "
                                   f"{exc.strerror or exc}") from None

    # -- entries -----------------------------------------------------------------------------

    def entry_path(self, file_path: str | os.PathLike[str]) -> Path:
        return self.entries_dir / entry_file_name(normalise_key(os.fspath(file_path)))

    def save_file_cache(self, file_path: str | os.PathLike[str], entry: CacheEntry) -> None:
        """Write the entry of ``file_path`` (its ``file`` field is set to the key)."""
        key = normalise_key(os.fspath(file_path))
        entry = {**entry, "file": key}
        write_atomic(self.entries_dir / entry_file_name(key), encode_entry(entry), self.fsync)
        runs.mark_stale(self.cache_dir)  # written outside a run's delta: the next run recounts

    def load_file_cache(self, file_path: str | os.PathLike[str]) -> CacheEntry | None:
        """The entry of ``file_path``, or ``None`` if absent or corrupt (a corrupt one is logged)."""
        return self.read_entry(normalise_key(os.fspath(file_path)))

    def read_entry(self, key: str) -> CacheEntry | None:
        """``load_file_cache`` by a key already normalised (a ``ListedFile``'s): the orchestrator's
        read, once per listed file (100,000s of times), so str paths, ``os`` calls, one MD5."""
        name = entry_file_name(key)
        path = self._entries_prefix + name
        try:
            data = read_whole(path)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a folder of that name, no permission: not an entry
            log.warning("cache entry %s cannot be read and is treated as absent: %s", path, exc.strerror or exc)
            return None
        try:
            return decode_entry(data, name, named_by=key)
        except CorruptEntry as exc:
            log.warning("cache entry %s is corrupt and treated as absent: %s", path, exc)
            return None

    def claim(self, file_path: str | os.PathLike[str], holder: claims.Holder) -> claims.Held | None:
        """Claim the file for ``holder`` (see ``cache.claims``); None when it is ours now, else why not."""
        return claims.try_claim(str(self.entries_dir), normalise_key(os.fspath(file_path)), time.time(), holder)

    def release_claim(self, file_path: str | os.PathLike[str]) -> None:
        claims.release(str(self.entries_dir), normalise_key(os.fspath(file_path)))

    def is_file_cached(self, file_path: str | os.PathLike[str]) -> bool:
        return self.load_file_cache(file_path) is not None

    def scan(self, ordered: bool = False) -> Iterator[ScannedEntry]:
        """Every entry file, read and checked, in directory order (no sorting: a million is fine).

        ``ordered`` sorts by entry file name (the MD5 of the key), an order that is the same on
        every file system, for outputs that must be reproducible; it holds the names in memory.
        """
        with os.scandir(self.entries_dir) as it:
            names: Iterable[str] = (d.name for d in it if d.name.endswith(ENTRY_SUFFIX))
            if ordered:
                names = sorted(names)
            for name in names:
                # Bare os calls on a str path: a Path per entry costs more than the read (1M entries).
                path = os.path.join(self.entries_dir, name)
                try:
                    entry = decode_entry(read_whole(path), name)
                    yield ScannedEntry(Path(path), entry, None)
                except CorruptEntry as exc:
                    yield ScannedEntry(Path(path), None, str(exc))
                except OSError as exc:
                    yield ScannedEntry(Path(path), None, f"unreadable: {exc.strerror or exc}")

    def iter_entries(self, ordered: bool = False) -> Iterator[CacheEntry]:
        """Every valid entry (sorted by entry file name with ``ordered``); corrupt ones are logged
        and skipped."""
        for scanned in self.scan(ordered):
            if scanned.entry is not None:
                yield scanned.entry
            else:
                log.warning("cache entry %s is corrupt and skipped: %s", scanned.path, scanned.problem)

    def cleanup_temp_files(self, max_age: float = STALE_TEMP_SECONDS) -> int:
        """Remove temp files a crash left: those of a dead process on this host, or old ones."""
        return sum(remove_orphans(folder, max_age) for folder in (self.cache_dir, self.entries_dir))

    # -- summary and migration -----------------------------------------------------------------

    def begin_run(self, run_id: str) -> RunStart:
        """Mark a run as running and read the totals it starts from (``cache.runs``)."""
        marker = runs.RunMarker(self.cache_dir, run_id)
        path = self.cache_dir / "summary.json"
        identity = runs.file_identity(path)
        try:
            base = cast(Summary, json.loads(path.read_bytes()))
            SummaryBuilder().applied_to(base, "")  # has every field a delta needs
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            base = None
        return RunStart(marker, base, identity)

    def end_run(self, start: RunStart, delta: SummaryBuilder, exact: bool) -> Summary:
        """Write ``summary.json`` at a run's end: the start's totals plus ``delta`` when nothing
        else can have changed the cache meanwhile, else a recount (``cache.runs``)."""
        attempt_ns = start.marker.started_ns
        stale = runs.take_stale(self.cache_dir)
        recount = (not exact or stale or start.base is None or start.marker.overlapped(attempt_ns)
                   or runs.file_identity(self.cache_dir / "summary.json") != start.identity)
        if recount:
            attempt_ns = time.time_ns()
            summary = self.save_summary()
        else:
            assert start.base is not None
            summary = delta.applied_to(start.base, utc_now())
            self._write_summary(summary)
        start.marker.end()
        for _ in range(10):  # a run that ended meanwhile may have written before us: count again
            if not start.marker.ended_since(attempt_ns):
                break
            attempt_ns = time.time_ns()
            runs.take_stale(self.cache_dir)
            summary = self.save_summary()
            recount = True
        if recount:
            start.marker.sweep()
        return summary

    def _write_summary(self, summary: Summary) -> None:
        write_atomic(self.cache_dir / "summary.json", json.dumps(summary, indent=2).encode(), self.fsync)

    def save_summary(self) -> Summary:
        """Recount every entry and write ``summary.json``."""
        builder = SummaryBuilder()
        for entry in self.iter_entries():
            builder.add(entry)
        summary = builder.result(utc_now())
        self._write_summary(summary)
        return summary

    def migrate_legacy(self, legacy_file: str | os.PathLike[str]) -> MigrationReport:
        """Per-file entries from a legacy single-file cache; existing entries are never overwritten."""
        source = os.fspath(legacy_file)
        # Streamed, one entry at a time: a million-entry legacy file never sits in memory whole.
        # A first pass finds whether the mapping is wrapped in "files" (see legacy.legacy_mapping).
        try:
            with open(source, encoding="utf-8") as f:
                wrapped = has_files_wrapper(f.read)
        except (LegacyJSONError, UnicodeDecodeError) as exc:
            raise MalformedLegacyEntry(f"{source}: not a legacy cache: {exc}") from None
        migrated = present = malformed = 0
        when = utc_now()
        with open(source, encoding="utf-8") as f:
            for path, text in iter_legacy_members(f.read, wrapped):
                try:
                    entry = convert_legacy_entry(path, json.loads(text), source, when)
                except (MalformedLegacyEntry, ValueError) as exc:
                    log.warning("%s: legacy entry skipped: %s", source, exc)
                    malformed += 1
                    continue
                target = self.entries_dir / entry_file_name(entry["file"])
                if target.exists():
                    present += 1
                    continue
                write_atomic(target, encode_entry(entry), self.fsync)
                migrated += 1
        if migrated:
            runs.mark_stale(self.cache_dir)
        return MigrationReport(migrated=migrated, already_present=present, malformed=malformed)

    def migrate_from_legacy_cache(self, legacy_file: str | os.PathLike[str]) -> int:
        """The old tool's name: migrate and return how many entries were written."""
        return self.migrate_legacy(legacy_file).migrated

    # -- async twins, one thread hop each --------------------------------------------------------

    async def asave_file_cache(self, file_path: str | os.PathLike[str], entry: CacheEntry,
                               release_claim: bool = False) -> None:
        """``save_file_cache`` (then, with ``release_claim``, ``release_claim``) in one thread hop."""
        await anyio.to_thread.run_sync(self._save_and_release, file_path, entry, release_claim)

    def _save_and_release(self, file_path: str | os.PathLike[str], entry: CacheEntry, release: bool) -> None:
        self.save_file_cache(file_path, entry)
        if release:
            self.release_claim(file_path)

    def save_entries(self, entries: Iterable[tuple[str, CacheEntry, bool]],
                     delta: SummaryBuilder | None = None,
                     replaced: Sequence[CacheEntry | None] | None = None) -> list[OSError | None]:
        """Write several entries, each atomically (temp file + rename), in order: ``(key, entry,
        release its claim)``, the key already normalised and in the entry. One call, so one thread
        hop, for a whole job's entries. Returns, per entry, ``None`` or the ``OSError`` that kept it
        from being written; after the first error that is not a folder in the entry's place, the
        rest are not tried (they would fail alike: a full disk) and get that error too.

        ``delta`` (a run's, see ``cache.runs``) gets each written entry, minus the one it replaced:
        ``replaced[i]`` when given (the entry the caller read under the i-th key, None: none), else
        the entry read just before the write. The caller vouches that nothing it did wrote those
        keys since it read them (the orchestrator: ``AsyncRenderer._delta_exact``)."""
        results: list[OSError | None] = []
        fatal: OSError | None = None
        for index, (key, entry, release) in enumerate(entries):
            if fatal is not None:
                results.append(fatal)
                continue
            path = self._entries_prefix + entry_file_name(key)
            old = None if delta is None else replaced[index] if replaced is not None else self.read_entry(key)
            try:
                write_atomic(path, encode_entry(entry), self.fsync)
            except IsADirectoryError as exc:
                results.append(exc)
                continue
            except OSError as exc:
                fatal = exc
                results.append(exc)
                continue
            if release:
                claims.release(self._entries_dir_str, key)
            if delta is not None:
                if old is not None:
                    delta.add(old, -1)
                delta.add(entry)
            results.append(None)
        return results

    async def aload_file_cache(self, file_path: str | os.PathLike[str]) -> CacheEntry | None:
        return await anyio.to_thread.run_sync(self.load_file_cache, file_path)

    async def asave_summary(self) -> Summary:
        return await anyio.to_thread.run_sync(self.save_summary)


