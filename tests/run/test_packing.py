"""jobs: packing listed files into jobs (pure)."""

from __future__ import annotations

from asyncrender.model import ListedFile
from asyncrender.run.packing import pack_jobs


def files(n: int, size: int = 100) -> list[tuple[ListedFile, int]]:
    return [(ListedFile(f"f{i}", f"f{i}"), size) for i in range(n)]


def test_small_lists_are_spread_over_every_slot() -> None:
    jobs = pack_jobs(files(19), slots=4, files_per_job=16, bytes_per_job=1 << 16)
    assert [len(j) for j in jobs] == [5, 5, 5, 4]


def test_long_lists_fill_jobs_up_to_the_limits() -> None:
    jobs = pack_jobs(files(256), slots=4, files_per_job=16, bytes_per_job=1 << 16)
    assert {len(j) for j in jobs} == {16}
    jobs = pack_jobs(files(256, size=30_000), slots=4, files_per_job=16, bytes_per_job=1 << 16)
    assert {len(j) for j in jobs} == {2}


def test_a_large_file_goes_alone_and_order_is_kept() -> None:
    chunk = files(3) + [(ListedFile("big", "big"), 1 << 20)] + files(2)
    jobs = pack_jobs(chunk, slots=1, files_per_job=16, bytes_per_job=1 << 16)
    assert [[f.key for f in j] for j in jobs] == [["f0", "f1", "f2"], ["big"], ["f0", "f1"]]
    assert pack_jobs([], slots=2, files_per_job=4, bytes_per_job=10) == []
