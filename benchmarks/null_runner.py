"""BENCHMARK-ONLY job runner: returns each job's outcomes at once, in-process, doing no work.

It isolates the orchestrator's own CPU (stat, resume gate, packing, dispatch, entry encode and
atomic write, results) from workers, processes and PNGs: ``render_listing(..., null=True)``. Each
file gets one image record, shaped as a real one, pointing at a PNG that is never drawn.
"""

from __future__ import annotations

import os

import anyio.to_thread

from asyncrender.model import FileOutcome, ImageRecord, InputFingerprint, RenderJob


class NullRunner:
    """Implements ``executors.base.JobRunner``; ``workers`` sets how many jobs are kept in flight."""

    def __init__(self, workers: int = 2) -> None:
        self._workers = workers

    @property
    def workers(self) -> int:
        return self._workers

    async def run(self, job: RenderJob) -> list[FileOutcome]:
        # Off the event loop, as a real runner's work is (in its worker processes).
        return await anyio.to_thread.run_sync(_outcomes, job)

    async def aclose(self) -> None:
        return None

    def terminate(self) -> None:
        return None


def _outcomes(job: RenderJob) -> list[FileOutcome]:
    return [_outcome(job, listed.key, listed.path) for listed in job.files]


def _outcome(job: RenderJob, key: str, path: str) -> FileOutcome:
    st = os.stat(path)  # the input's real size and mtime, so that --resume skips it afterwards
    paper = os.path.basename(path).removesuffix("_extracted.json")
    image: ImageRecord = {"id": "eq0", "path": f"{job.output_dir}/{paper}/eq0.png", "width": 1, "height": 1,
                          "type": "display", "latex": "x", "depth": 0}
    return FileOutcome(key=key, paper_id=paper, images=[image], errors=[],
                       input_fp=InputFingerprint(st.st_size, st.st_mtime_ns, "0" * 64), seconds=0.0,
                       source=path)
