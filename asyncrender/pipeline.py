"""The async orchestrator: stream paths in, keep a bounded number of jobs in flight, write entries.

    paths ──► prepare (resume check + size, one thread hop per chunk) ──► pack into jobs
          ──► N dispatchers (N = workers × jobs_in_flight_per_worker) ──► runner (process pool)
          ──► one cache entry per file, written as its job returns ──► results to the caller

Memory stays flat however long the list: the producer reads a chunk, and blocks on the job stream
(no buffer) while every dispatcher is busy. It runs inside the caller's event loop (asyncio; anyio
task groups) and never chooses a loop policy: uvloop is the CLI's choice.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from asyncrender.cache.entry import Resume, build_entry, config_fingerprint, content_matches, resume_decision
from asyncrender.cache.manager import CacheWriteError, DistributedCacheManager, utc_now
from asyncrender.config import Config, RenderSettings
from asyncrender.executor import JobRunner, LocalPoolRunner
from asyncrender.inputs import ListedFile, listed_file
from asyncrender.jobs import FileOutcome, RenderJob, pack_jobs
from asyncrender.render import get_backend, resolve_renderer
from asyncrender.shard import select_shard

PREPARE_CHUNK = 256
CLAIMED = "claimed"
log = logging.getLogger("asyncrender")

PathLike = str | os.PathLike[str] | ListedFile


@dataclass(frozen=True)
class FileResult:
    """One input file done: rendered now (``entry`` just written) or skipped by ``--resume``:
    its entry was still valid, or (``status`` ``claimed``) another live run is rendering it now."""

    key: str
    status: str
    skipped: bool
    images: int
    failed_items: int
    entry: dict[str, Any] | None = field(default=None, repr=False)


@dataclass
class RunStats:
    files: int = 0
    skipped: int = 0
    claimed: int = 0  # of the skipped: files another live run was rendering (see cache.claims)
    by_status: dict[str, int] = field(default_factory=lambda: {"success": 0, "partial": 0, "failed": 0})
    images: int = 0
    failed_items: int = 0

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.skipped += result.skipped
        self.claimed += result.status == CLAIMED
        if not result.skipped:
            self.by_status[result.status] += 1
            self.images += result.images
            self.failed_items += result.failed_items


class AsyncRenderer:
    """Render input files into PNGs and cache entries, inside the caller's event loop.

        async with AsyncRenderer(cache_dir="cache", output_dir="rendered", jobs=4) as r:
            async for result in r.render(paths):
                ...

    ``summary.json`` is written when the block exits, also on error or cancellation.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        output_dir: str | os.PathLike[str],
        jobs: int | None = None,
        *,
        config: Config | None = None,
        resume: bool | None = None,
        retry_failed: bool | None = None,
        fsync: bool | None = None,
        runner: JobRunner | None = None,
    ) -> None:
        config = config or Config()
        self.config = config.with_overrides(
            {}, {"jobs": jobs, "resume": resume, "retry_failed": retry_failed, "fsync": fsync})
        self.cache_dir = Path(cache_dir)
        self.output_dir = Path(output_dir).resolve()
        self.stats = RunStats()
        self._runner = runner
        self._owns_runner = runner is None
        self._cache: DistributedCacheManager | None = None
        self._settings: RenderSettings | None = None
        self._config_fp: dict[str, Any] = {}
        self._task_group: TaskGroup | None = None
        self._active_renders = 0
        self._claims: set[str] = set()  # keys this run claimed and has not written yet
        self.summary: dict[str, Any] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncRenderer:
        run = self.config.run
        self._cache = await anyio.to_thread.run_sync(
            lambda: DistributedCacheManager(self.cache_dir, fsync=run.fsync))
        await anyio.to_thread.run_sync(self._cache.cleanup_temp_files)
        renderer = await anyio.to_thread.run_sync(resolve_renderer, self.config.render.renderer)
        version = await anyio.to_thread.run_sync(lambda: get_backend(renderer).version())
        self._settings = RenderSettings(**{**self.config.render.__dict__, "renderer": renderer})
        self._config_fp = config_fingerprint(self.config.render, renderer, version)
        if self._runner is None:
            self._runner = await anyio.to_thread.run_sync(self._make_runner)
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        return self

    def _make_runner(self) -> JobRunner:
        run = self.config.run
        if run.executor == "local":
            return LocalPoolRunner(run.worker_count)
        from asyncrender.dask_executor import make_dask_runner

        runner: JobRunner = make_dask_runner(run.executor, run.scheduler, run.jobs)
        return runner

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool | None:
        assert self._task_group is not None and self._runner is not None and self._cache is not None
        # A render the caller left unfinished (``break``, an error, a cancellation) is abandoned:
        # no new file starts and the workers are killed rather than waited for.
        abandoned = exc is not None or self._active_renders > 0
        if abandoned:
            self._task_group.cancel_scope.cancel()
        failure: BaseException | None = exc
        try:
            return await self._task_group.__aexit__(exc_type, exc, tb)
        except BaseException as raised:  # e.g. a cache entry that could not be written
            failure = raised
            raise
        finally:
            with anyio.CancelScope(shield=True):
                if self._claims:  # files this run claimed and will not finish: free them now
                    await anyio.to_thread.run_sync(self._release_all_claims)
                if self._owns_runner:
                    if (abandoned or failure is not None) and hasattr(self._runner, "terminate"):
                        self._runner.terminate()
                    else:
                        await self._runner.aclose()
                try:
                    self.summary = await self._cache.asave_summary()
                except OSError as write_error:
                    if failure is None:
                        raise CacheWriteError(f"cannot write {self.cache_dir / 'summary.json'}: "
                                              f"{write_error.strerror or write_error}") from write_error
                    # Do not hide the error that ended the run behind this one.
                    log.error("cannot write %s: %s", self.cache_dir / "summary.json", write_error)

    @property
    def cache(self) -> DistributedCacheManager:
        if self._cache is None:
            raise RuntimeError("use AsyncRenderer in 'async with' first")
        return self._cache

    @property
    def config_fingerprint(self) -> dict[str, Any]:
        return self._config_fp

    # -- the run --------------------------------------------------------------------------------

    def render(self, paths: Iterable[PathLike] | AsyncIterable[PathLike]) -> AsyncIterator[FileResult]:
        """Render ``paths`` (any iterable or async iterable); yield a ``FileResult`` per file as it
        is done, in completion order. Breaking out of the loop cancels the rest."""
        return self.render_listed(_as_listed_chunks(paths))

    async def render_listed(self, chunks: AsyncIterable[list[ListedFile]]) -> AsyncIterator[FileResult]:
        """Like ``render``, from chunks of ``ListedFile`` (what ``inputs.read_file_list`` yields)."""
        if self._task_group is None:
            raise RuntimeError("use AsyncRenderer in 'async with' first")
        # A Dask runner knows its cluster's size; the local pool has run.worker_count processes.
        workers: int = getattr(self._runner, "workers", self.config.run.worker_count)
        slots = workers * self.config.run.jobs_in_flight_per_worker
        job_send, job_receive = anyio.create_memory_object_stream[RenderJob](0)
        result_send, result_receive = anyio.create_memory_object_stream[FileResult](slots)
        scope = anyio.CancelScope()

        async def supervise() -> None:
            with scope:
                async with anyio.create_task_group() as tg, result_send:
                    tg.start_soon(self._produce, chunks, job_send, result_send.clone(), slots)
                    for _ in range(slots):
                        tg.start_soon(self._dispatch, job_receive.clone(), result_send.clone())
                    job_receive.close()

        self._task_group.start_soon(supervise)
        self._active_renders += 1  # until every result was taken
        try:
            async with result_receive:
                async for result in result_receive:
                    self.stats.add(result)
                    yield result
            self._active_renders -= 1
        finally:
            scope.cancel()

    async def run(self, paths: Iterable[PathLike] | AsyncIterable[PathLike]) -> RunStats:
        """Render everything, return the run's totals."""
        async for _ in self.render(paths):
            pass
        return self.stats

    async def _produce(self, chunks: AsyncIterable[list[ListedFile]], jobs: MemoryObjectSendStream[RenderJob],
                       results: MemoryObjectSendStream[FileResult], slots: int) -> None:
        run = self.config.run
        assert self._settings is not None
        async with jobs, results:
            async for chunk in _rechunk(chunks, PREPARE_CHUNK):
                mine = select_shard(chunk, run.shard)
                to_render, skipped = await anyio.to_thread.run_sync(self._prepare, mine)
                for result in skipped:
                    await results.send(result)
                for files in pack_jobs(to_render, slots=slots, files_per_job=run.files_per_job,
                                       bytes_per_job=run.bytes_per_job):
                    await jobs.send(RenderJob(tuple(files), self._settings, str(self.output_dir)))

    def _prepare(self, chunk: list[ListedFile]) -> tuple[list[tuple[ListedFile, int]], list[FileResult]]:
        """In a thread: stat each file, and with ``--resume`` find those whose entry is still valid."""
        to_render: list[tuple[ListedFile, int]] = []
        skipped: list[FileResult] = []
        for listed in chunk:
            try:
                st: os.stat_result | None = os.stat(listed.path)
            except (OSError, ValueError):
                st = None
            if self.config.run.resume:
                skip = self._resume_skip(listed, st)
                if skip is not None:
                    skipped.append(skip)
                    continue
            to_render.append((listed, st.st_size if st else 0))
        return to_render, skipped

    def _resume_skip(self, listed: ListedFile, st: os.stat_result | None) -> FileResult | None:
        """With ``--resume``: why this file is not rendered now, or None (then it is claimed)."""
        done = self._valid_entry(listed, st)
        if done is not None:
            return done
        # A key this run holds already is a duplicate line of the list.
        if listed.key in self._claims or not self.cache.claim(listed.key):
            return FileResult(listed.key, CLAIMED, True, 0, 0, None)
        self._claims.add(listed.key)
        # Another run may have written the entry between our read and our claim: look once more.
        done = self._valid_entry(listed, st)
        if done is not None:
            self._release(listed.key)
        return done

    def _valid_entry(self, listed: ListedFile, st: os.stat_result | None) -> FileResult | None:
        """A skipped result when the file's entry is still valid, else None."""
        entry = self.cache.load_file_cache(listed.key)
        if entry is None or not self._still_valid(entry, listed, st):
            return None
        return FileResult(listed.key, entry["status"], True, len(entry["images"]), len(entry["errors"]), entry)

    def _release_all_claims(self) -> None:
        for key in list(self._claims):
            self._release(key)

    def _release(self, key: str) -> None:
        self.cache.release_claim(key)
        self._claims.discard(key)

    def _still_valid(self, entry: dict[str, Any], listed: ListedFile, st: os.stat_result | None) -> bool:
        decision = resume_decision(
            entry, size=st.st_size if st else None, mtime_ns=st.st_mtime_ns if st else None,
            config_fp=self._config_fp["fingerprint"], output_dir=str(self.output_dir),
            retry_failed=self.config.run.retry_failed)
        if decision is Resume.CHECK_CONTENT:
            try:
                with open(listed.path, "rb") as f:
                    return content_matches(entry, hashlib.file_digest(f, "sha256").hexdigest())
            except OSError:
                return False
        return decision is Resume.SKIP

    async def _dispatch(self, jobs: MemoryObjectReceiveStream[RenderJob],
                        results: MemoryObjectSendStream[FileResult]) -> None:
        assert self._runner is not None
        async with jobs, results:
            async for job in jobs:
                for outcome in await self._runner.run(job):
                    entry = self._entry(outcome)
                    try:
                        claimed = outcome.key in self._claims
                        await self.cache.asave_file_cache(outcome.key, entry, release_claim=claimed)
                        self._claims.discard(outcome.key)
                    except OSError as exc:
                        # No entry, no partial entry (the temp file is gone): stop the run, since
                        # every later entry would fail alike; --resume continues once there is room.
                        raise CacheWriteError(
                            f"cannot write the cache entry of {outcome.key} in {self.cache.entries_dir}: "
                            f"{exc.strerror or exc}") from exc
                    await results.send(FileResult(outcome.key, entry["status"], False, len(entry["images"]),
                                                  len(entry["errors"]), entry))

    def _entry(self, outcome: FileOutcome) -> dict[str, Any]:
        return build_entry(
            key=outcome.key, paper_id=outcome.paper_id, images=outcome.images, errors=outcome.errors,
            input_fp=outcome.input_fp, config=self._config_fp, output_dir=str(self.output_dir),
            seconds=outcome.seconds, finished_at=utc_now())


async def _as_listed_chunks(paths: Iterable[PathLike] | AsyncIterable[PathLike]) -> AsyncIterator[list[ListedFile]]:
    def listed(p: PathLike) -> ListedFile:
        return p if isinstance(p, ListedFile) else listed_file(os.fspath(p), None)

    if isinstance(paths, AsyncIterable):
        async for p in paths:
            yield [listed(p)]
        return
    chunk: list[ListedFile] = []
    for p in paths:
        chunk.append(listed(p))
        if len(chunk) >= PREPARE_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _rechunk(chunks: AsyncIterable[list[ListedFile]], size: int) -> AsyncIterator[list[ListedFile]]:
    """Split large chunks to at most ``size`` files, so one thread hop never holds a huge chunk."""
    async for chunk in chunks:
        for start in range(0, len(chunk), size):
            yield chunk[start : start + size]
