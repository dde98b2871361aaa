"""What the orchestrator needs from a place where jobs run, and the outcomes every runner shares.

A ``JobRunner`` takes a ``RenderJob`` and returns its ``FileOutcome``s. The orchestrator calls
exactly the members this protocol names; a runner with nothing to kill makes ``terminate`` a
no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio

from asyncrender.model import FileOutcome, ListedFile, RenderJob


class JobRunner(Protocol):
    @property
    def workers(self) -> int:
        """How many jobs run at once (the orchestrator keeps ``workers × jobs_in_flight`` in flight)."""
        ...

    async def run(self, job: RenderJob) -> list[FileOutcome]: ...

    async def aclose(self) -> None:
        """Let the jobs in flight finish, then release the workers."""
        ...

    def terminate(self) -> None:
        """Stop now (Ctrl-C, cancellation): kill the workers, drop what is queued."""
        ...


def worker_died(listed: ListedFile, how: str) -> FileOutcome:
    """The file that kept killing its workers (``how`` says where and how often) fails alone."""
    return FileOutcome.failed(listed, "crash", f"{listed.path}: {how}")


def worker_raised(job: RenderJob, exc: BaseException) -> list[FileOutcome]:
    """A worker that raised instead of returning: a bug, reported on every file of the job."""
    message = f"the worker raised {type(exc).__name__}: {exc}"
    return [FileOutcome.failed(listed, "crash", f"{listed.path}: {message}") for listed in job.files]


async def run_files_alone(job: RenderJob,
                          run: Callable[[RenderJob], Awaitable[list[FileOutcome]]]) -> list[FileOutcome]:
    """Run each file of ``job`` as a job of its own, concurrently; outcomes in job order."""
    results: list[list[FileOutcome]] = [[] for _ in job.files]

    async def one(index: int) -> None:
        results[index] = await run(job.one_file(job.files[index]))

    async with anyio.create_task_group() as tg:
        for index in range(len(job.files)):
            tg.start_soon(one, index)
    return [outcome for per_file in results for outcome in per_file]
