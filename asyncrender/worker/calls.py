"""What the local pool calls in its workers. A pool sends a function by name (its module and its
name), and the worker imports that module to find it: these live here, apart from the pool's own
module, whose asyncio, anyio and ``concurrent.futures`` would otherwise load in every worker
(~25 ms each). The worker's code is imported inside each call, so the orchestrator, which names
these functions but never runs them, does not load it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncrender.model import FileOutcome, RenderJob
    from asyncrender.processes import ProcessId


def init_worker(orchestrator: ProcessId) -> None:
    from asyncrender.worker.process import init_worker

    init_worker(orchestrator)


def render_job(job: RenderJob) -> list[FileOutcome]:
    from asyncrender.worker.process import render_job

    return render_job(job)


def ready() -> None:
    """What ``LocalPoolRunner.start`` sends each worker: nothing to do but start."""
