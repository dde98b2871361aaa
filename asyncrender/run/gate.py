"""The resume and claims gate: with ``--resume``, whether a listed file is rendered now.

A file is skipped when its entry is still valid for the input as it is now and the settings as
they are now (``cache.entry.resume_decision``), or when another live run holds its claim
(``cache.claims``; the orchestrator asks again until that claim is released or goes stale, see
``run.renderer``). Otherwise this run claims it, and the claim is released once its entry is
written, or at the end of the run if it never is. Blocking: called in a worker thread.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid

from asyncrender.cache.claims import Holder
from asyncrender.cache.entry import Resume, content_matches, resume_decision
from asyncrender.cache.keys import other_file
from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.model import CacheEntry, ListedFile
from asyncrender.run.results import FileResult
from asyncrender.storage import ObjectStat, is_url, open_binary


class ResumeGate:
    def __init__(self, cache: DistributedCacheManager, *, config_fp: str, output_dir: str,
                 retry_failed: bool) -> None:
        self._cache = cache
        self._config_fp = config_fp
        self._output_dir = output_dir
        self._retry_failed = retry_failed
        self._claims: set[str] = set()  # keys this run claimed and has not written yet
        self.holder = Holder.this_process(uuid.uuid4().hex)  # a run id: two runs in one process differ

    def decide(self, listed: ListedFile, st: os.stat_result | ObjectStat | None, *,
               resume: bool) -> tuple[FileResult | None, CacheEntry | None]:
        """Whether ``listed`` is rendered now: ``(result, entry)``. ``result`` is the result of a
        file not rendered now, or None. Never rendered: a file whose key holds another file's entry
        (``run.keys``). With ``resume``, not rendered now: a file whose entry is still valid, or
        claimed by another live run, or whose claim cannot be made; otherwise this run now holds its
        claim. ``entry`` is the entry its key held as last read here, None for none: what the
        render's write will replace (the run's summary delta counts it out, see ``cache.runs``)."""
        entry = self._cache.read_entry(listed.key)
        other = other_file(entry, listed.path, st if isinstance(st, os.stat_result) else None)
        if other is not None:
            return FileResult.refused(listed.key, f"its cache key is another file's, {other} (list the two "
                                                  "by paths that differ, or use another cache folder)"), entry
        if not resume:
            return None, entry
        if entry is None or not self._still_valid(entry, listed, st):
            # A key this run holds already is a duplicate line of the list.
            if listed.key in self._claims:
                return FileResult.claimed(listed.key, "listed twice: rendered by this run already"), entry
            held = self._cache.claim(listed.key, self.holder)
            if held is not None:
                make = FileResult.refused if held.broken else FileResult.claimed
                return make(listed.key, held.reason), entry
            self._claims.add(listed.key)
            # Another run may have written the entry between our read and our claim: look once more.
            entry = self._cache.read_entry(listed.key)
            if entry is None or not self._still_valid(entry, listed, st):
                return None, entry
            self._release(listed.key)
        return FileResult.of_entry(listed.key, entry, skipped=True), entry

    def written(self, key: str) -> bool:
        """The entry of ``key`` is being written: whether this run held its claim (the cache
        releases it with the write)."""
        held = key in self._claims
        self._claims.discard(key)
        return held

    def holds(self, key: str) -> bool:
        """Whether this run holds the claim of ``key`` (and will write its entry)."""
        return key in self._claims

    @property
    def holds_claims(self) -> bool:
        return bool(self._claims)

    def release_all(self) -> None:
        for key in list(self._claims):
            self._release(key)

    def _release(self, key: str) -> None:
        self._cache.release_claim(key)
        self._claims.discard(key)

    def _still_valid(self, entry: CacheEntry, listed: ListedFile, st: os.stat_result | ObjectStat | None) -> bool:
        decision = resume_decision(
            entry, size=st.st_size if st else None, mtime_ns=st.st_mtime_ns if st else None,
            config_fp=self._config_fp, output_dir=self._output_dir, retry_failed=self._retry_failed)
        if decision is Resume.CHECK_CONTENT:
            digest = url_digest(listed.path) if is_url(listed.path) else regular_file_digest(listed.path)
            return digest is not None and content_matches(entry, digest)
        return decision is Resume.SKIP


def regular_file_digest(path: str) -> str | None:
    """The SHA-256 of a regular file's content; None for anything else (a FIFO, ``/dev/zero``, a
    folder), which is never read: opening a FIFO blocks until a writer comes, and ``/dev/zero``
    never ends. Opened non-blocking and checked on the open descriptor, so a file swapped for a
    FIFO after a ``stat`` cannot hang the run either."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except (OSError, ValueError):
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            return hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            return None


def url_digest(url: str) -> str | None:
    """The SHA-256 of an object in storage (read through fsspec, in blocks); None when unreadable."""
    digest = hashlib.sha256()
    try:
        with open_binary(url) as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()
