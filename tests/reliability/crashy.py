"""Test-only render functions for the worker pool: they die, or misbehave, on marked items.

They must live in an importable module (not a test file) so that forkserver workers can unpickle
them. Each wraps the real ``worker.render_job_with`` with ``CrashyBackend`` around mathtext.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Sequence

from asyncrender.config import RenderSettings
from asyncrender.model import FileOutcome, RenderJob
from asyncrender.render.base import ItemOutcome, RenderItem
from asyncrender.render.mathtext import MathtextBackend
from asyncrender.worker.process import render_job_with


class CrashyBackend(MathtextBackend):
    """Mathtext, except that an item whose LaTeX contains a marker kills the worker:

    ``KILLME`` SIGKILL, ``EXITME`` ``os._exit(3)``, ``SEGVME`` a real segfault (reading address 0),
    ``RAISEME`` raises (a backend bug), ``SIGINTME`` sends SIGINT to the worker (which must ignore it).
    """

    name = "crashy"

    def render(self, items: Sequence[RenderItem], settings: RenderSettings) -> list[ItemOutcome]:
        for item in items:
            if "KILLME" in item.latex:
                os.kill(os.getpid(), signal.SIGKILL)
            if "EXITME" in item.latex:
                os._exit(3)
            if "SEGVME" in item.latex:
                ctypes.string_at(0)
            if "RAISEME" in item.latex:
                raise RuntimeError("backend bug")
            if "SIGINTME" in item.latex:
                os.kill(os.getpid(), signal.SIGINT)
        return super().render([i for i in items], settings)


def crashy_render(job: RenderJob) -> list[FileOutcome]:
    return render_job_with(job, CrashyBackend())


def raising_render(job: RenderJob) -> list[FileOutcome]:
    raise MemoryError("the worker ran out of memory")


def parent_pid_render(job: RenderJob) -> list[FileOutcome]:
    """Reports, as the paper id, the worker's parent pid (forkserver: not the test process)."""
    parent = str(os.getppid())
    return [FileOutcome(key=f.key, paper_id=parent, images=[], errors=[], input_fp=None, seconds=0.0)
            for f in job.files]
