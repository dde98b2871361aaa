"""How listed files are packed into render jobs. Pure: no I/O.

A job (``model.RenderJob``) carries one or more input files to one worker; the backend then typesets all their items
together (the TeX backend packs them into batches, so small papers share one TeX run). Results come
back per file, so the cache keeps one entry per file whatever the packing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

File = TypeVar("File")  # a ListedFile, or one with what the orchestrator carries along with it


def pack_jobs(
    files: Sequence[tuple[File, int]], *, slots: int, files_per_job: int, bytes_per_job: int
) -> list[list[File]]:
    """Group ``(file, size in bytes)`` pairs, in list order, into jobs.

    A job takes files until it holds ``files_per_job`` files or ``bytes_per_job`` bytes (a file
    larger than that goes alone). So that packing never starves a worker, a job also holds no more
    than its fair share of this chunk: ``ceil(len(files) / slots)`` files, ``slots`` being the
    number of jobs the run keeps in flight.
    """
    if not files:
        return []
    per_job = max(1, min(files_per_job, math.ceil(len(files) / max(1, slots))))
    jobs: list[list[File]] = []
    current: list[File] = []
    size = 0
    for listed, nbytes in files:
        if current and (len(current) >= per_job or size + nbytes > bytes_per_job):
            jobs.append(current)
            current, size = [], 0
        current.append(listed)
        size += nbytes
    jobs.append(current)
    return jobs
