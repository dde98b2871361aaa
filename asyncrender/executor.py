"""Where jobs run: a supervised local process pool (and, in ``dask_executor``, a Dask cluster).

A ``JobRunner`` takes a ``RenderJob`` and returns its ``FileOutcome``s; the orchestrator needs
nothing else from it.

The local pool uses the ``forkserver`` start method: ``fork`` from a process that has threads
(the event loop's executor has some) can deadlock, and Python 3.12 warns about it. A worker that
dies (SIGKILL, ``os._exit``, a segfault in a backend) breaks the whole ``ProcessPoolExecutor``:
every job in flight fails with ``BrokenProcessPool``. The supervisor then builds a new pool and
runs those jobs again. A job that was in flight at two breakages is split into single files, and
a single file that was in flight at two breakages is the likely culprit: it is failed as ``crash``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

import anyio

from asyncrender.jobs import FileOutcome, RenderJob, failed_outcome
from asyncrender.worker import init_worker, render_job

MAX_STRIKES = 2


class JobRunner(Protocol):
    async def run(self, job: RenderJob) -> list[FileOutcome]: ...

    async def aclose(self) -> None: ...


class LocalPoolRunner:
    """A ``ProcessPoolExecutor`` of ``workers`` processes that survives its workers dying."""

    def __init__(self, workers: int, *, render: Callable[[RenderJob], list[FileOutcome]] = render_job) -> None:
        self.workers = workers
        self._render = render
        self._context = multiprocessing.get_context("forkserver")
        self._pool = self._new_pool()
        self._generation = 0
        self.rebuilds = 0

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self._context, initializer=init_worker)

    def _rebuild(self, generation: int) -> None:
        """Replace a broken pool once, however many jobs saw it break."""
        if generation != self._generation:
            return
        old = self._pool
        self._pool = self._new_pool()
        self._generation += 1
        self.rebuilds += 1
        old.shutdown(wait=False, cancel_futures=True)

    async def run(self, job: RenderJob) -> list[FileOutcome]:
        return await self._run(job, strikes=0)

    async def _run(self, job: RenderJob, strikes: int) -> list[FileOutcome]:
        while strikes < MAX_STRIKES:
            generation = self._generation
            try:
                return await _submit(self._pool, self._render, job)
            except BrokenProcessPool:
                self._rebuild(generation)
                strikes += 1
        if len(job.files) == 1:
            return [failed_outcome(job.files[0], "crash",
                                   f"{job.files[0].path}: a worker died rendering this file {MAX_STRIKES} times")]
        # Several files shared the breakages: retry each alone to find the one that kills workers.
        return await run_files_alone(job, lambda single: self._run(single, strikes=MAX_STRIKES - 1))

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._pool.shutdown)

    def terminate(self) -> None:
        """Stop now: cancel queued jobs and kill the workers (for Ctrl-C and cancellation)."""
        # Take the worker list first: shutdown() forgets it.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)


async def run_files_alone(job: RenderJob,
                          run: Callable[[RenderJob], Awaitable[list[FileOutcome]]]) -> list[FileOutcome]:
    """Run each file of ``job`` as a job of its own, concurrently; outcomes in job order."""
    results: list[list[FileOutcome]] = [[] for _ in job.files]

    async def one(index: int) -> None:
        results[index] = await run(RenderJob((job.files[index],), job.settings, job.output_dir))

    async with anyio.create_task_group() as tg:
        for index in range(len(job.files)):
            tg.start_soon(one, index)
    return [outcome for per_file in results for outcome in per_file]


async def _submit(pool: Executor, render: Callable[[RenderJob], list[FileOutcome]],
                  job: RenderJob) -> list[FileOutcome]:
    future = pool.submit(render, job)
    try:
        return await asyncio.wrap_future(future)
    except anyio.get_cancelled_exc_class():
        future.cancel()
        raise
