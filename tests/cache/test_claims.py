"""cache.claims: one live run renders a file at a time; a dead run's claims are taken over."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import anyio

from asyncrender import AsyncRenderer, Config, FileResult
from asyncrender.cache.claims import CLAIM_EXPIRY, Holder, claim_path, is_stale, release, try_claim
from asyncrender.config import RenderSettings, RunSettings
from asyncrender.tempfiles import HOST
from tests.support.papers import WritePapers, simple_paper


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


ME = Holder.this_process("test-run")


def stale(text: bytes, age_seconds: float) -> bool:
    return is_stale(Holder.decode(text), age_seconds)


def test_staleness() -> None:
    assert not stale(ME.encode(), age_seconds=1e9)  # alive here: never stale
    assert not stale(f"{HOST} {os.getpid()}".encode(), age_seconds=1e9)  # the old form: by pid
    assert stale(f"{HOST} {dead_pid()}".encode(), age_seconds=0)  # dead here: stale at once
    assert stale(Holder(HOST, ME.boot, os.getpid(), (ME.start or 0) + 1, "x").encode(), 0)  # pid reused
    assert not stale(b"other-host 1", age_seconds=CLAIM_EXPIRY - 1)  # elsewhere: only by age
    assert stale(b"other-host 1", age_seconds=CLAIM_EXPIRY + 1)
    assert stale(b"garbage", age_seconds=CLAIM_EXPIRY + 1)
    assert not stale(b"garbage", age_seconds=0)


def test_one_claim_wins_until_released(tmp_path: Path) -> None:
    folder = str(tmp_path)
    assert try_claim(folder, "a.json", time.time(), ME) is None
    held = try_claim(folder, "a.json", time.time(), ME)  # held by a live process (this one)
    assert held is not None and "test-run"[:8] in held.reason and not held.broken
    assert try_claim(folder, "b.json", time.time(), ME) is None
    release(folder, "a.json")
    assert try_claim(folder, "a.json", time.time(), ME) is None


def test_a_dead_runs_claim_is_taken_over(tmp_path: Path) -> None:
    folder = str(tmp_path)
    Path(claim_path(folder, "a.json")).write_text(f"{HOST} {dead_pid()}")
    assert try_claim(folder, "a.json", time.time(), ME) is None
    Path(claim_path(folder, "b.json")).write_text("far-away-host 123")
    assert try_claim(folder, "b.json", time.time(), ME) is not None
    assert try_claim(folder, "b.json", time.time() + CLAIM_EXPIRY + 1, ME) is None


def test_a_folder_in_a_claims_place_is_reported_not_waited_for(tmp_path: Path) -> None:
    Path(claim_path(str(tmp_path), "a.json")).mkdir()
    held = try_claim(str(tmp_path), "a.json", time.time(), ME)
    assert held is not None and held.broken and "not a claim file" in held.reason


def test_two_resume_runs_at_once_render_each_file_once(tmp_path: Path, write_papers: WritePapers) -> None:
    listing = write_papers({f"{i}.json": simple_paper(f"p{i}") for i in range(24)})
    paths = sorted((listing.parent / "papers").iterdir())
    config = Config(render=RenderSettings(renderer="mathtext", dpi=80), run=RunSettings(files_per_job=1))
    results: list[list[FileResult]] = [[], []]

    async def one_run(index: int) -> None:
        async with AsyncRenderer(tmp_path / "cache", tmp_path / "out", jobs=1, config=config, resume=True) as r:
            results[index] = [res async for res in r.render(paths)]

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(one_run, 0)
            tg.start_soon(one_run, 1)

    anyio.run(main)
    rendered = [res.key for run in results for res in run if not res.skipped]
    assert sorted(rendered) == sorted(str(p) for p in paths)  # each file once, by one run or the other
    assert all(len(run) == len(paths) for run in results)
    assert not list((tmp_path / "cache" / "file_caches").glob("*.claim"))  # all released
