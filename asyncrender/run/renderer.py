"""The async orchestrator: stream paths in, keep a bounded number of jobs in flight, write entries.

    paths ──► prepare (resume check + size, one thread hop per chunk) ──► pack into jobs
          ──► N dispatchers (N = workers × jobs_in_flight_per_worker) ──► runner (process pool)
          ──► one cache entry per file, written as its job returns ──► results to the caller

Each file's entry is read once, at prepare (the resume gate needs it): it rides with the job to the
write, which counts it out of the run's summary delta (``cache.runs``). Results travel one list per
job (or per prepared chunk) between tasks, and are yielded to the caller one file at a time.

Memory stays flat however long the list: the producer reads a chunk, and blocks on the job stream
(no buffer) while every dispatcher is busy. It runs inside the caller's event loop (asyncio; anyio
task groups) and never chooses a loop policy: uvloop is the CLI's choice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from asyncrender.cache.entry import build_entry, config_fingerprint
from asyncrender.cache.manager import CacheWriteError, DistributedCacheManager, RunStart, utc_now
from asyncrender.cache.summary import Summary, SummaryBuilder
from asyncrender.config import Config, ConfigError, RenderSettings
from asyncrender.executors.base import JobRunner
from asyncrender.executors.local_pool import LocalPoolRunner
from asyncrender.filesystems import in_memory
from asyncrender.inputs.filelist import listed_file
from asyncrender.lifetime import scratch_root, sweep_scratch
from asyncrender.model import CLAIMED, CacheEntry, ConfigRecord, FileOutcome, ListedFile, RenderJob
from asyncrender.render import backend_version, resolve_renderer
from asyncrender.run.gate import ResumeGate
from asyncrender.run.packing import pack_jobs
from asyncrender.run.results import FileResult, RunStats
from asyncrender.run.shard import select_shard
from asyncrender.storage import ObjectStat, is_url, posix_folder, stat_url
from asyncrender.worker.shared import run_share_dir, sweep_share_dirs

PREPARE_CHUNK = 256
# Once everything else is done, a run waits this long for files another live run has claimed; after
# that they are reported as not rendered (exit 1). Their claims are asked again every CLAIM_POLL s.
CLAIM_WAIT = 600.0
CLAIM_POLL = 0.5
log = logging.getLogger("asyncrender")

PathLike = str | os.PathLike[str] | ListedFile


@dataclass(frozen=True, slots=True)
class _PendingJob:
    """A job on its way to a dispatcher, with the entry each of its files' keys held when the gate
    read it (None: none): what the job's writes replace."""

    job: RenderJob
    replaced: dict[str, CacheEntry | None]


class AsyncRenderer:
    """Render input files into PNGs and cache entries, inside the caller's event loop.

        async with AsyncRenderer(cache_dir="cache", output_dir="rendered", jobs=4) as r:
            async for result in r.render(paths):
                ...

    ``summary.json`` is written when the block exits, also on error or cancellation.

    ``runner`` runs the jobs instead of a pool the renderer makes (a Dask runner, a test's); the
    renderer closes only a runner of its own, or one handed over with ``owns_runner=True`` (then
    terminated if the run is abandoned, else closed, when the block exits).
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
        claim_wait: float | None = None,
        owns_runner: bool = False,
    ) -> None:
        config = config or Config()
        self.config = config.with_overrides(
            {}, {"jobs": jobs, "resume": resume, "retry_failed": retry_failed, "fsync": fsync})
        self.cache_dir = Path(posix_folder(cache_dir, "the cache folder"))
        self.output_dir = Path(posix_folder(output_dir, "the output folder")).resolve()
        self.stats = RunStats()
        self._runner = runner
        self.claim_wait = CLAIM_WAIT if claim_wait is None else claim_wait
        self._owns_runner = runner is None or owns_runner
        self._cache: DistributedCacheManager | None = None
        self._settings: RenderSettings | None = None
        self._config_fp: ConfigRecord = {}
        self._task_group: TaskGroup | None = None
        self._active_renders = 0
        self._gate: ResumeGate | None = None
        self._share_dir: Path | None = None  # the run's store of typeset images (worker.shared)
        # summary.json by delta (cache.runs): what this run's writes changed, and whether exactly
        self._run_start: RunStart | None = None
        self._delta = SummaryBuilder()
        self._delta_exact = True
        # Keys from just before their prepare (the gate reads the entry there) until their entry is
        # written or they are set aside, with how many times each is in flight: a key in flight
        # twice (listed twice) may have been read before the other copy's write (see _register).
        self._in_flight: dict[str, int] = {}
        self.summary: Summary | None = None
        self._io_limiter: anyio.CapacityLimiter | None = None  # made in _set_up, in the event loop

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncRenderer:
        try:
            check_apart(self.cache_dir, self.output_dir)
            if self._runner is None:
                self._runner = await anyio.to_thread.run_sync(self._make_runner)
            await self._set_up()
        except BaseException:
            if self._owns_runner and self._runner is not None:  # (one handed over included)
                await anyio.to_thread.run_sync(self._runner.terminate)
            raise
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        return self

    async def _set_up(self) -> None:
        """The cache, the renderer and its fingerprint, the resume gate, the run's image store."""
        run = self.config.run
        self._cache = await anyio.to_thread.run_sync(
            lambda: DistributedCacheManager(self.cache_dir, fsync=run.fsync))
        await anyio.to_thread.run_sync(self._cache.cleanup_temp_files)
        cache_in_memory = await anyio.to_thread.run_sync(in_memory, self.cache_dir)
        self._io_limiter = anyio.CapacityLimiter(run.io_thread_count(cache_in_memory))
        await anyio.to_thread.run_sync(sweep_scratch, (scratch_root() or tempfile.gettempdir(), tempfile.gettempdir()))
        renderer = await anyio.to_thread.run_sync(resolve_renderer, self.config.render.renderer)
        version = await anyio.to_thread.run_sync(backend_version, renderer)
        self._settings = RenderSettings(**{**self.config.render.__dict__, "renderer": renderer})
        self._config_fp = config_fingerprint(self.config.render, renderer, version)
        self._gate = ResumeGate(self._cache, config_fp=self._config_fp.get("fingerprint", ""),
                                output_dir=str(self.output_dir), retry_failed=run.retry_failed)
        run_id = uuid.uuid4().hex[:8]
        if run.share_images:
            self._share_dir = run_share_dir(self.output_dir, run_id)
            await anyio.to_thread.run_sync(self._make_share_dir, self._share_dir)
        self._run_start = await anyio.to_thread.run_sync(self._cache.begin_run, run_id)

    def _end_summary(self) -> Summary:
        assert self._cache is not None
        if self._run_start is None:
            return self._cache.save_summary()
        return self._cache.end_run(self._run_start, self._delta, self._delta_exact)

    def _make_share_dir(self, folder: Path) -> None:
        sweep_share_dirs(self.output_dir)
        folder.mkdir(parents=True, exist_ok=True)

    def _remove_share_dir(self) -> None:
        if self._share_dir is not None:
            shutil.rmtree(self._share_dir, ignore_errors=True)
            with contextlib.suppress(OSError):  # another run's store may still be there
                self._share_dir.parent.rmdir()

    def _io_threads(self) -> anyio.CapacityLimiter:
        """The threads the per-file cache work runs in (prepare, entry writes): a few of its own
        (``run.io_thread_count``: fewer for a cache in memory), not anyio's default 40, which
        fight over the GIL."""
        assert self._io_limiter is not None, "made in _set_up"
        return self._io_limiter

    def _make_runner(self) -> JobRunner:
        run = self.config.run
        if run.executor == "local":
            pool = LocalPoolRunner(run.worker_count)
            pool.start()  # workers take a few tenths of a second to start: they do so meanwhile
            return pool
        from asyncrender.executors.dask_cluster import make_dask_runner

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
                if self._gate is not None and self._gate.holds_claims:
                    # files this run claimed and will not finish: free them now
                    await anyio.to_thread.run_sync(self._gate.release_all)
                if self._owns_runner:
                    if abandoned or failure is not None:
                        await anyio.to_thread.run_sync(self._runner.terminate)
                    else:
                        await self._runner.aclose()
                await anyio.to_thread.run_sync(self._remove_share_dir)
                try:
                    self.summary = await anyio.to_thread.run_sync(self._end_summary)
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
    def config_fingerprint(self) -> ConfigRecord:
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
        assert self._runner is not None
        slots = self._runner.workers * self.config.run.jobs_in_flight_per_worker
        job_send, job_receive = anyio.create_memory_object_stream[_PendingJob](0)
        # One message per job's (or prepared chunk's) results: one hand-over, not one per file.
        result_send, result_receive = anyio.create_memory_object_stream[list[FileResult]](slots)
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
                async for batch in result_receive:
                    for result in batch:
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

    async def _produce(self, chunks: AsyncIterable[list[ListedFile]], jobs: MemoryObjectSendStream[_PendingJob],
                       results: MemoryObjectSendStream[list[FileResult]], slots: int) -> None:
        run = self.config.run
        waiting: dict[str, tuple[ListedFile, FileResult]] = {}  # claimed by another live run
        async with jobs, results:
            async for chunk in _rechunk(chunks, PREPARE_CHUNK):
                await self._send(select_shard(chunk, run.shard), jobs, results, slots, waiting)
            await self._wait_for_claims(waiting, jobs, results, slots)

    async def _send(self, files: list[ListedFile], jobs: MemoryObjectSendStream[_PendingJob],
                    results: MemoryObjectSendStream[list[FileResult]], slots: int,
                    waiting: dict[str, tuple[ListedFile, FileResult]]) -> None:
        """Prepare ``files``: send the jobs of those to render and the results of those skipped; put
        those another live run has claimed into ``waiting``."""
        run = self.config.run
        assert self._settings is not None
        self._register(files)
        to_render, skipped = await anyio.to_thread.run_sync(self._prepare, files, limiter=self._io_threads())
        self._unregister(result.key for result in skipped)
        by_key = {listed.key: listed for listed in files}
        done: list[FileResult] = []
        for result in skipped:
            if result.status == CLAIMED:
                waiting[result.key] = (by_key[result.key], result)
            else:
                done.append(result)
        if done:
            await results.send(done)
        share_dir = str(self._share_dir) if self._share_dir is not None else None
        assert self._runner is not None
        for packed in pack_jobs(to_render, slots=slots, files_per_job=run.files_per_job,
                                bytes_per_job=run.bytes_per_job, workers=self._runner.workers):
            job = RenderJob(tuple(listed for listed, _ in packed), self._settings, str(self.output_dir), share_dir)
            await jobs.send(_PendingJob(job, {listed.key: entry for listed, entry in packed}))

    def _register(self, files: list[ListedFile]) -> None:
        """Mark ``files``' keys in flight, before the gate reads their entries. The entry a write
        replaces is the one read at prepare, so a key registered twice at once (listed twice) may
        carry an entry the other copy's write is about to replace: the delta is no longer exact
        (the run recounts at its end). A copy registered after the other's write is read after it."""
        in_flight = self._in_flight
        for listed in files:
            count = in_flight.get(listed.key, 0)
            if count:
                self._delta_exact = False
            in_flight[listed.key] = count + 1

    def _unregister(self, keys: Iterable[str]) -> None:
        in_flight = self._in_flight
        for key in keys:
            count = in_flight.pop(key) - 1
            if count:
                in_flight[key] = count

    async def _wait_for_claims(self, waiting: dict[str, tuple[ListedFile, FileResult]],
                               jobs: MemoryObjectSendStream[_PendingJob],
                               results: MemoryObjectSendStream[list[FileResult]], slots: int) -> None:
        """Ask again for the files other live runs had claimed, until each is done (its entry
        written), free (its claim released or stale: this run renders it) or ``claim_wait`` has
        passed: those are reported as ``claimed``, so the run does not end complete without them.
        Files this run claimed itself (listed twice) are waited for however long they take."""
        assert self._gate is not None
        deadline = anyio.current_time() + self.claim_wait
        while waiting:
            others = [key for key in waiting if not self._gate.holds(key)]
            if others and anyio.current_time() >= deadline:
                await results.send([waiting.pop(key)[1] for key in others])
                continue
            await anyio.sleep(CLAIM_POLL)
            retry = [listed for listed, _ in waiting.values()]
            waiting.clear()
            await self._send(retry, jobs, results, slots, waiting)

    def _prepare(self, chunk: list[ListedFile]) -> tuple[list[tuple[tuple[ListedFile, CacheEntry | None], int]],
                                                        list[FileResult]]:
        """In a thread: stat each file, and set aside those the gate skips (with ``--resume``, or
        refused). Those to render come with the entry their key holds now, and their size."""
        assert self._gate is not None
        resume = self.config.run.resume
        to_render: list[tuple[tuple[ListedFile, CacheEntry | None], int]] = []
        skipped: list[FileResult] = []
        for listed in chunk:
            try:
                st: os.stat_result | ObjectStat | None = stat_url(listed.path) if is_url(listed.path) \
                    else os.stat(listed.path)
            except (OSError, ValueError):
                st = None
            if isinstance(st, os.stat_result) and not stat.S_ISREG(st.st_mode):
                st = None  # a FIFO, a device, a folder: rendered (and failed as input), never read here
            skip, entry = self._gate.decide(listed, st, resume=resume)
            if skip is not None:
                skipped.append(skip)
                continue
            to_render.append(((listed, entry), st.st_size if st else 0))
        return to_render, skipped

    async def _dispatch(self, jobs: MemoryObjectReceiveStream[_PendingJob],
                        results: MemoryObjectSendStream[list[FileResult]]) -> None:
        async with jobs, results:
            async for pending in jobs:
                try:
                    await self._run_job(pending, results)
                finally:
                    self._unregister(listed.key for listed in pending.job.files)

    async def _run_job(self, pending: _PendingJob, results: MemoryObjectSendStream[list[FileResult]]) -> None:
        """Run one job, write its entries (one thread hop; each atomically, on its own), and send
        its results as one list."""
        assert self._runner is not None
        outcomes = await self._runner.run(pending.job)
        finished_at = utc_now()
        batch = [(outcome.key, self._entry(outcome, finished_at),
                  self._gate is not None and self._gate.written(outcome.key)) for outcome in outcomes]
        # What the writes replace, as the gate read it; a runner's outcome under a key its job did
        # not have (none does) would have no such entry: then each is read just before its write.
        keys = [key for key, _, _ in batch]
        replaced = [pending.replaced[key] for key in keys] if all(k in pending.replaced for k in keys) else None
        delta = SummaryBuilder()
        written = await anyio.to_thread.run_sync(self.cache.save_entries, batch, delta, replaced,
                                                 limiter=self._io_threads())
        self._delta.merge(delta)
        done: list[FileResult] = []
        for (key, entry, _), error in zip(batch, written, strict=True):
            if error is None:
                done.append(FileResult.of_entry(key, entry, skipped=False))
            elif isinstance(error, IsADirectoryError):  # that file alone: a folder sits where its entry goes
                done.append(FileResult.refused(key, (
                    f"its cache entry {self.cache.entry_path(key)} is a folder (remove it)")))
            else:
                if done:
                    await results.send(done)
                # No entry, no partial entry (the temp file is gone): stop the run, since
                # every later entry would fail alike; --resume continues once there is room.
                raise CacheWriteError(
                    f"cannot write the cache entry of {key} in {self.cache.entries_dir}: "
                    f"{error.strerror or error}") from error
        await results.send(done)

    def _entry(self, outcome: FileOutcome, finished_at: str) -> CacheEntry:
        return build_entry(
            key=outcome.key, paper_id=outcome.paper_id, images=outcome.images, errors=outcome.errors,
            errors_omitted=outcome.errors_omitted, source=outcome.source,
            input_fp=outcome.input_fp, config=self._config_fp, output_dir=str(self.output_dir),
            seconds=outcome.seconds, finished_at=finished_at)


def check_apart(cache_dir: Path, output_dir: Path) -> None:
    """Refuse a cache folder and an output folder that overlap: a paper folder could then be the
    cache's ``file_caches`` or ``summary.json`` (a paper id ``summary.json``), or the cache a paper's."""
    cache, out = cache_dir.resolve(), output_dir.resolve()
    if cache == out or cache.is_relative_to(out) or out.is_relative_to(cache):
        raise ConfigError(f"the cache folder {cache_dir} and the output folder {output_dir} overlap; "
                          "give two separate folders")


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
