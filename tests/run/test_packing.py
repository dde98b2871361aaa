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


def _keys(jobs: list[list[ListedFile]]) -> list[str]:
    return [f.key for job in jobs for f in job]


def test_several_workers_get_a_multiple_of_them_in_equal_jobs() -> None:
    """150 papers of 7 KB under a 128 KiB limit: 8 jobs of 18 and one of 6 for 2 workers would
    leave one worker alone on the last full job; 10 jobs of 15 finish together."""
    chunk = files(150, size=7_000)
    alone = pack_jobs(chunk, slots=4, files_per_job=32, bytes_per_job=128 * 1024)
    assert [len(j) for j in alone] == [18] * 8 + [6]
    even = pack_jobs(chunk, slots=4, files_per_job=32, bytes_per_job=128 * 1024, workers=2)
    assert [len(j) for j in even] == [15] * 10
    assert _keys(even) == _keys(alone)  # the same files, in list order
    four = pack_jobs(files(19), slots=8, files_per_job=16, bytes_per_job=1 << 16, workers=4)  # 7 jobs of 3, 1
    assert len(four) == 8 and {len(j) for j in four} == {2, 3} and _keys(four) == [f"f{i}" for i in range(19)]


def test_evening_out_never_breaks_the_limits() -> None:
    """A large file among small ones: no split ends sooner than the large file's job, so the jobs
    stay as packed; and however the files fall, no job is over a limit."""
    chunk = files(3) + [(ListedFile("big", "big"), 1 << 20)] + files(2)
    packed = pack_jobs(chunk, slots=1, files_per_job=16, bytes_per_job=1 << 16, workers=2)
    assert [[f.key for f in j] for j in packed] == [["f0", "f1", "f2"], ["big"], ["f0", "f1"]]
    for n in range(1, 40):
        for workers in (2, 3, 4):
            jobs = pack_jobs(files(n, size=900), slots=2 * workers, files_per_job=4, bytes_per_job=3_000,
                             workers=workers)
            assert _keys(jobs) == [f"f{i}" for i in range(n)] and all(jobs)
            assert all(len(j) <= 4 and 900 * len(j) <= 3_000 for j in jobs), (n, workers, jobs)
