"""How listed files are packed into render jobs. Pure: no I/O.

A job (``model.RenderJob``) carries one or more input files to one worker; the backend then typesets all their items
together (the TeX backend packs them into batches, so small papers share one TeX run). Results come
back per file, so the cache keeps one entry per file whatever the packing.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import TypeVar

File = TypeVar("File")  # a ListedFile, or one with what the orchestrator carries along with it


def pack_jobs(
    files: Sequence[tuple[File, int]], *, slots: int, files_per_job: int, bytes_per_job: int, workers: int = 1
) -> list[list[File]]:
    """Group ``(file, size in bytes)`` pairs, in list order, into jobs.

    A job takes files until it holds ``files_per_job`` files or ``bytes_per_job`` bytes (a file
    larger than that goes alone). So that packing never starves a worker, a job also holds no more
    than its fair share of this chunk: ``ceil(len(files) / slots)`` files, ``slots`` being the
    number of jobs the run keeps in flight.

    With several ``workers`` the jobs are then evened out: as many as that made, rounded up to a
    multiple of ``workers``, of about equal bytes, when they keep both limits and let the workers
    finish the chunk sooner (``_finish``). Otherwise the last chunk of a run ends with one worker
    on a full job while the others wait: 8 full jobs and a small one on 2 workers take as long as
    10 jobs of the same files.
    """
    if not files:
        return []
    per_job = max(1, min(files_per_job, math.ceil(len(files) / max(1, slots))))
    jobs: list[list[File]] = []
    sizes: list[int] = []
    current: list[File] = []
    size = 0
    for listed, nbytes in files:
        if current and (len(current) >= per_job or size + nbytes > bytes_per_job):
            jobs.append(current)
            sizes.append(size)
            current, size = [], 0
        current.append(listed)
        size += nbytes
    jobs.append(current)
    sizes.append(size)
    if workers > 1 and len(files) > 1:
        even = _even(files, min(len(files), math.ceil(len(jobs) / workers) * workers))
        if all(len(job) <= per_job and (len(job) == 1 or nbytes <= bytes_per_job) for job, nbytes in even) \
                and _finish([nbytes for _, nbytes in even], workers) < _finish(sizes, workers):
            return [job for job, _ in even]
    return jobs


def _finish(sizes: Sequence[int], workers: int) -> int:
    """When ``workers`` are done with jobs of these sizes (bytes), each job going in order to the
    worker free first, as the orchestrator's dispatch does."""
    free_at = [0] * workers
    for size in sizes:
        heapq.heapreplace(free_at, free_at[0] + size)
    return max(free_at)


def _even(files: Sequence[tuple[File, int]], count: int) -> list[tuple[list[File], int]]:
    """``files`` in list order cut into ``count`` jobs of about equal bytes (each with its bytes):
    job k ends once the files so far reach k/count of the total (every file weighs at least 1)."""
    total = sum(max(1, nbytes) for _, nbytes in files)
    jobs: list[tuple[list[File], int]] = []
    current: list[File] = []
    size = done = 0
    for index, (listed, nbytes) in enumerate(files):
        current.append(listed)
        size += nbytes
        done += max(1, nbytes)
        left_files, left_jobs = len(files) - index - 1, count - len(jobs) - 1
        if left_jobs and (done * count >= total * (len(jobs) + 1) or left_files == left_jobs):
            jobs.append((current, size))
            current, size = [], 0
    jobs.append((current, size))
    return jobs
