"""Jobs in a supervised local process pool (``--executor local``, the default).

Its workers are forked from the orchestrator when it starts them while it has a single thread (the
CLI does, before its event loop: ``start(fork=True)``); otherwise, and for every pool built later,
they come from the ``forkserver`` (``executors.forkserver``): ``fork`` from a process that has
threads (the event loop's executor has some) can deadlock, and Python 3.12 warns about it. A worker that
dies (SIGKILL, ``os._exit``, a segfault in a backend) breaks the whole ``ProcessPoolExecutor``:
every job in flight fails with ``BrokenProcessPool``, the guilty one and its innocent neighbours
alike. The supervisor then builds a new pool (once per breakage) and sends each file that was in
flight to quarantine: single-worker pools (at most ``workers`` of them) where a file runs alone,
so that a death there blames exactly that file. A file thus has at most two strikes: the shared
breakage and a death alone, after which it fails as ``crash``; innocent files render in quarantine.
A worker that raises (a bug, not a death) fails its job's files as ``crash`` too; the run goes on.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import anyio

from asyncrender.executors.base import run_files_alone, worker_died, worker_raised
from asyncrender.executors.forkserver import PRELOAD, forkable, forkserver_context
from asyncrender.model import FileOutcome, RenderJob
from asyncrender.processes import me
from asyncrender.worker import calls

MAX_STRIKES = 2


class LocalPoolRunner:
    """A ``ProcessPoolExecutor`` of ``workers`` processes that survives its workers dying."""

    def __init__(self, workers: int, *,
                 render: Callable[[RenderJob], list[FileOutcome]] | None = None) -> None:
        self.workers = workers
        self._render = render if render is not None else calls.render_job
        self._context = forkserver_context()
        # Made by ``start`` or the first job: a forkserver pool's queues start the resource tracker.
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0
        self.rebuilds = 0
        self._quarantine: list[ProcessPoolExecutor] = []  # idle single-worker pools
        self._quarantine_busy: set[ProcessPoolExecutor] = set()
        self._quarantine_slots: anyio.CapacityLimiter | None = None  # made in the event loop
        self._started: threading.Event | None = None  # set once ``start`` has started the workers

    def start(self, *, fork: bool = False) -> None:
        """Start the workers now rather than at the first job.

        By default they start in a thread of their own: starting them blocks (the first waits for
        the forkserver to come up), and the orchestrator goes on setting up meanwhile. ``run``
        waits for it, off the event loop.

        ``fork=True`` is for a caller that starts them before its event loop and its threads (the
        CLI): if this process has a single thread, the workers are forked from it here and now,
        with no forkserver and no resource tracker (two interpreters, ~0.15 s of CPU a run). With
        more than one thread it starts them as above: a fork copies only the calling thread, and a
        lock another thread held stays held forever in the child. A pool rebuilt after a death,
        and the quarantine's pools, always come from the forkserver (the run has threads by then).
        """
        self._started = threading.Event()
        if fork and forkable():
            try:
                self._fork_workers()
                self._started.set()
                return
            except OSError:  # no fork (memory, a process limit): the forkserver's way, whose first
                self._drop_pool()  # job meets the cause again and reports it as the run's error
        threading.Thread(target=self._start_workers, args=(self._started,), name="asyncrender-pool-start",
                         daemon=True).start()

    def _start_workers(self, started: threading.Event) -> None:
        try:
            pool = self._current_pool()
            for _ in range(self.workers):
                pool.submit(calls.ready)
        except Exception:  # a broken or shut pool, a forkserver that failed: the first job meets it
            pass  # again and reports it, where this thread's traceback would reach the user's terminal
        finally:
            started.set()

    def _fork_workers(self) -> None:
        if self.workers > len(os.sched_getaffinity(0)):
            # More workers than cores: load their code once, here, rather than once in each.
            for module in PRELOAD:
                importlib.import_module(module)
        pool = self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                                initializer=calls.init_worker, initargs=(me(),))
        # With "fork" the first job forks every worker, in this thread, before the pool starts the
        # thread that manages them (concurrent.futures: ``_start_executor_manager_thread``).
        for _ in range(self.workers):
            pool.submit(calls.ready)

    def _drop_pool(self) -> None:
        if self._pool is not None:
            _kill_workers(self._pool)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _current_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = self._new_pool(self.workers)
        return self._pool

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=self._context, initializer=calls.init_worker,
                                   initargs=(me(),))

    def _rebuild(self, generation: int) -> None:
        """Replace a broken pool once, however many jobs saw it break."""
        if generation != self._generation:
            return
        old, self._pool = self._pool, self._new_pool(self.workers)
        self._generation += 1
        self.rebuilds += 1
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    async def run(self, job: RenderJob) -> list[FileOutcome]:
        if self._started is not None and not self._started.is_set():
            await anyio.to_thread.run_sync(self._started.wait)
        while True:
            generation = self._generation
            try:
                future = self._current_pool().submit(self._render, job)
            except BrokenProcessPool:  # broke before this job was sent: no strike for it
                self._rebuild(generation)
                continue
            try:
                return await _wait(future)
            except BrokenProcessPool:
                self._rebuild(generation)
                break
            except Exception as exc:
                return worker_raised(job, exc)
        # Strike one, shared by every job in flight: each file now runs alone in quarantine.
        return await run_files_alone(job, self._alone)

    async def _alone(self, job: RenderJob) -> list[FileOutcome]:
        """Run a one-file job in a quarantine pool of its own; a death there is its second strike."""
        if self._quarantine_slots is None:
            self._quarantine_slots = anyio.CapacityLimiter(self.workers)
        async with self._quarantine_slots:
            pool = self._quarantine.pop() if self._quarantine else self._new_pool(1)
            self._quarantine_busy.add(pool)
            broken = False
            try:
                return await _wait(pool.submit(self._render, job))
            except BrokenProcessPool:
                broken = True
                return [worker_died(job.files[0], f"a worker died rendering this file "
                                                  f"({MAX_STRIKES} times, the last time alone)")]
            except Exception as exc:
                return worker_raised(job, exc)
            finally:
                self._quarantine_busy.discard(pool)
                if broken:
                    pool.shutdown(wait=False, cancel_futures=True)
                else:
                    self._quarantine.append(pool)

    async def aclose(self) -> None:
        if self._started is not None:
            await anyio.to_thread.run_sync(self._started.wait)
        for pool in self._pools():
            await anyio.to_thread.run_sync(pool.shutdown)

    def terminate(self) -> None:
        """Stop now: kill the workers and cancel queued jobs (for Ctrl-C and cancellation)."""
        if self._started is not None:
            self._started.wait()  # else a worker it is starting could outlive this
        for pool in self._pools():
            _kill_workers(pool)
            # Its workers are dead, so waiting costs nothing, and it leaves no management thread
            # for concurrent.futures' exit hook, which races with a closed wake-up pipe on 3.11.
            pool.shutdown(wait=True, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        """The worker processes of every pool (for tests and diagnostics)."""
        return [p.pid for pool in self._pools() for p in _processes(pool) if p.pid is not None]

    def _pools(self) -> list[ProcessPoolExecutor]:
        return [*([self._pool] if self._pool is not None else []), *self._quarantine, *self._quarantine_busy]


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    for process in _processes(pool):
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGKILL)


async def _wait(future: Future[list[FileOutcome]]) -> list[FileOutcome]:
    try:
        return await asyncio.wrap_future(future)
    except anyio.get_cancelled_exc_class():
        future.cancel()
        raise


def _processes(pool: ProcessPoolExecutor) -> list[multiprocessing.process.BaseProcess]:
    """A pool's worker processes. ``concurrent.futures`` has no public accessor; its private
    ``_processes`` is None after shutdown."""
    return list((pool._processes or {}).values())
