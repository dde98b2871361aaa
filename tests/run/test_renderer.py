"""pipeline: the library API, driven from the test's own event loop, with real worker processes."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from asyncrender import AsyncRenderer, Config, FileResult
from asyncrender.cache.entry import entry_file_name
from asyncrender.config import RenderSettings, RunSettings
from asyncrender.filesystems import in_memory
from tests.support.papers import WritePapers, simple_paper


def mathtext(dpi: int = 100, **run: Any) -> Config:
    return Config(render=RenderSettings(renderer="mathtext", dpi=dpi), run=RunSettings(**run))


def run_render(paths: list[Path], cache: Path, out: Path, config: Config, **kwargs: Any) -> list[FileResult]:
    async def main() -> list[FileResult]:
        async with AsyncRenderer(cache, out, jobs=2, config=config, **kwargs) as renderer:
            return [result async for result in renderer.render(paths)]

    return anyio.run(main)


def one_item_papers(folder: Path, count: int) -> list[Path]:
    """``count`` papers of one item each in ``folder``; their paths."""
    folder.mkdir()
    paths = [folder / f"p{k}_extracted.json" for k in range(count)]
    for k, path in enumerate(paths):
        path.write_text(json.dumps({"paper_id": f"p{k}", "items": ["x"]}))
    return paths


def entry_mtimes(cache: Path) -> dict[str, int]:
    folder = cache / "file_caches"
    return {name: os.stat(folder / name).st_mtime_ns for name in os.listdir(folder)}


def test_library_api_inside_the_callers_event_loop(tmp_path: Path, write_papers: WritePapers) -> None:
    listing = write_papers({f"{i}_extracted.json": simple_paper(f"p{i}") for i in range(6)})
    paths = [listing.parent / "papers" / f"{i}_extracted.json" for i in range(6)]

    async def gen() -> AsyncIterator[Path]:
        for p in paths:
            await anyio.sleep(0)
            yield p

    async def main() -> tuple[list[FileResult], dict[str, Any] | None]:
        async with AsyncRenderer(tmp_path / "cache", tmp_path / "out", jobs=2, config=mathtext()) as r:
            results = [res async for res in r.render(gen())]  # an async iterable works too
        return results, r.summary

    results, summary = anyio.run(main)
    assert sorted(r.key for r in results) == sorted(str(p) for p in paths)
    assert all(r.status == "success" and r.images == 3 and not r.skipped for r in results)
    assert summary is not None and summary["files"]["total"] == 6 and summary["items"]["rendered"] == 18


def test_resume_rewrites_nothing_then_renders_only_what_changed(tmp_path: Path, write_papers: WritePapers) -> None:
    listing = write_papers({f"{i}.json": simple_paper(f"p{i}") for i in range(5)})
    paths = sorted((listing.parent / "papers").iterdir())
    cache, out = tmp_path / "cache", tmp_path / "out"
    run_render(paths, cache, out, mathtext())
    before = entry_mtimes(cache)
    assert len(before) == 5

    results = run_render(paths, cache, out, mathtext(), resume=True)
    assert all(r.skipped for r in results)
    assert entry_mtimes(cache) == before

    # Touching a file (mtime changes, content not) still skips it: the content hash decides.
    os.utime(paths[1], ns=(1, 1))
    assert all(r.skipped for r in run_render(paths, cache, out, mathtext(), resume=True))

    paths[0].write_text(json.dumps(simple_paper("p0", n=4)))
    results = run_render(paths, cache, out, mathtext(), resume=True)
    rendered = [r for r in results if not r.skipped]
    assert [(r.key, r.images) for r in rendered] == [(str(paths[0]), 4)]
    after = entry_mtimes(cache)
    assert [n for n in after if after[n] != before[n]] == [entry_file_name(str(paths[0]))]

    # A setting that changes pixels renders everything again.
    results = run_render(paths, cache, out, mathtext(dpi=120), resume=True)
    assert not any(r.skipped for r in results)
    assert all(e != before[n] for n, e in entry_mtimes(cache).items())


def test_without_resume_everything_renders_again(tmp_path: Path, write_papers: WritePapers) -> None:
    listing = write_papers({f"{i}.json": simple_paper(f"p{i}") for i in range(3)})
    paths = sorted((listing.parent / "papers").iterdir())
    run_render(paths, tmp_path / "cache", tmp_path / "out", mathtext())
    assert not any(r.skipped for r in run_render(paths, tmp_path / "cache", tmp_path / "out", mathtext()))


def test_breaking_out_of_the_loop_stops_the_run(tmp_path: Path, write_papers: WritePapers) -> None:
    listing = write_papers({f"{i}.json": simple_paper(f"p{i}") for i in range(40)})
    paths = sorted((listing.parent / "papers").iterdir())

    async def main() -> int:
        async with AsyncRenderer(tmp_path / "cache", tmp_path / "out", jobs=2,
                                 config=mathtext(files_per_job=1)) as r:
            async for _ in r.render(paths):
                break
        return len(os.listdir(tmp_path / "cache" / "file_caches"))

    assert anyio.run(main) < 40


def test_render_outside_async_with_is_an_error(tmp_path: Path) -> None:
    renderer = AsyncRenderer(tmp_path / "cache", tmp_path / "out", config=mathtext())

    async def main() -> None:
        async for _ in renderer.render([]):
            pass

    with pytest.raises(RuntimeError, match="async with"):
        anyio.run(main)


def test_a_jobs_results_come_one_file_at_a_time_and_break_stops(tmp_path: Path) -> None:
    """Results travel one list per job inside the orchestrator; the caller still gets one
    ``FileResult`` per file, and breaking out after a few leaves the rest of the job unreported."""
    from benchmarks.null_runner import NullRunner

    paths = one_item_papers(tmp_path / "papers", 64)

    async def main(stop: int | None) -> tuple[list[FileResult], int]:
        async with AsyncRenderer(tmp_path / "cache", tmp_path / "out", 1, runner=NullRunner(1),
                                 config=mathtext(files_per_job=16)) as r:
            taken: list[FileResult] = []
            async for result in r.render(paths):
                taken.append(result)
                if len(taken) == stop:
                    break
        return taken, r.stats.files

    taken, counted = anyio.run(main, 3)
    assert len(taken) == 3 and counted == 3
    taken, counted = anyio.run(main, None)
    assert sorted(r.key for r in taken) == sorted(str(p) for p in paths) and counted == 64
    assert all(isinstance(r, FileResult) and r.images == 1 for r in taken)


@pytest.mark.parametrize("io_threads", [1, 3])
def test_entry_writes_use_at_most_io_threads_threads(tmp_path: Path, io_threads: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-file cache work runs in the run's own few threads, however many jobs are in flight."""
    import threading
    import time

    from asyncrender.cache.manager import DistributedCacheManager
    from benchmarks.null_runner import NullRunner

    paths = one_item_papers(tmp_path / "papers", 48)
    lock, busy, most = threading.Lock(), [0], [0]
    save = DistributedCacheManager.save_entries

    def slow_save(self: DistributedCacheManager, *args: Any, **kwargs: Any) -> Any:
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.02)  # long enough for every job in flight to be waiting here at once
        try:
            return save(self, *args, **kwargs)
        finally:
            with lock:
                busy[0] -= 1

    monkeypatch.setattr(DistributedCacheManager, "save_entries", slow_save)

    async def main() -> int:
        async with AsyncRenderer(tmp_path / "cache", tmp_path / "out", 4, runner=NullRunner(4),
                                 config=mathtext(files_per_job=1, io_threads=io_threads)) as r:
            return len([result async for result in r.render(paths)])

    assert anyio.run(main) == 48
    assert most[0] == io_threads  # 8 jobs in flight; never more than io_threads writing at once


def test_the_default_io_threads_follow_the_cache_file_system(tmp_path: Path) -> None:
    """One thread for a cache in memory (no call waits there: a second only passes the GIL
    around), two on a disk; an explicit ``io_threads`` wins."""
    places = [tmp_path] + ([Path("/dev/shm")] if os.path.isdir("/dev/shm") else [])
    for place in places:
        work = place / f"io-threads-{os.getpid()}"
        work.mkdir()
        try:
            for io_threads, expected in ((0, 1 if in_memory(work) else 2), (3, 3)):
                assert anyio.run(_io_thread_count, work, io_threads) == expected, (work, io_threads)
        finally:
            shutil.rmtree(work, ignore_errors=True)


async def _io_thread_count(work: Path, io_threads: int) -> float:
    async with AsyncRenderer(work / "cache", work / "out", jobs=1, config=mathtext(io_threads=io_threads)) as renderer:
        return renderer._io_threads().total_tokens
