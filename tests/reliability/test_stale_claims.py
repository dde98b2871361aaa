"""Issue 12, item 1: a claim names its run unambiguously (host, boot id, pid, the process's start
time, a run id), and a run never ends complete with a listed file unrendered because of a claim.

Real processes hold the claims: a ``sleep`` that is not asyncrender at all (a reused pid), and the
test's own process (a container restarted as pid 1 with the same hostname looks like this: the pid
is alive, but it is another process than the one that claimed).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from asyncrender import AsyncRenderer, Config, RenderSettings
from asyncrender.cache.claims import Holder, claim_path
from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.processes import BOOT_ID, start_time
from asyncrender.tempfiles import HOST
from tests.reliability.support import cli_args, make_corpus, run_cli

KEY = "p0001_extracted.json"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "600"])
    yield proc
    proc.kill()
    proc.wait()


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    listing = make_corpus(tmp_path / "in", files=3, items=2)
    cache, out = tmp_path / "cache", tmp_path / "out"
    DistributedCacheManager(cache)  # the folder, so that a claim can be planted before the run
    return listing, cache, out


def _plant(cache: Path, text: bytes, key: str = KEY) -> Path:
    path = Path(claim_path(str(cache / "file_caches"), key))
    path.write_bytes(text)
    return path


def _has_entry(cache: Path) -> bool:
    return DistributedCacheManager(cache).load_file_cache(KEY) is not None


@pytest.mark.parametrize("form", ["new", "old"])
def test_a_live_claim_is_waited_for_then_the_run_fails_naming_the_file(
        tmp_path: Path, sleeper: subprocess.Popen[bytes], form: str) -> None:
    listing, cache, out = _setup(tmp_path)
    holder = Holder(HOST, BOOT_ID, sleeper.pid, start_time(sleeper.pid), "forged")
    _plant(cache, holder.encode() if form == "new" else f"{HOST} {sleeper.pid}".encode())

    done = run_cli(cli_args(listing, cache, out, "--resume", "--claim-wait", "1", "--json"))
    assert done.returncode == 1, done.stderr.decode()
    assert f"{KEY}: not rendered: claimed by" in done.stderr.decode()
    assert json.loads(done.stdout)["run"]["claimed"] == 1
    assert not _has_entry(cache)

    sleeper.kill()  # the claimant is gone: the next run takes its claim over
    sleeper.wait()
    again = run_cli(cli_args(listing, cache, out, "--resume"))
    assert again.returncode == 0, again.stderr.decode()
    assert _has_entry(cache)


def test_a_claim_released_during_the_wait_is_rendered(tmp_path: Path) -> None:
    listing, cache, out = _setup(tmp_path)
    short = subprocess.Popen(["sleep", "3"])
    try:
        _plant(cache, Holder(HOST, BOOT_ID, short.pid, start_time(short.pid), "forged").encode())
        done = run_cli(cli_args(listing, cache, out, "--resume", "--claim-wait", "120"))
    finally:
        short.wait()
    assert done.returncode == 0, done.stderr.decode()
    assert _has_entry(cache)


def test_a_reused_pid_does_not_hold_a_claim(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    listing, cache, out = _setup(tmp_path)
    start = start_time(sleeper.pid)
    assert start is not None
    # The claim's process had this pid once, but started at another time: not the sleep.
    _plant(cache, Holder(HOST, BOOT_ID, sleeper.pid, start - 1, "gone").encode())
    done = run_cli(cli_args(listing, cache, out, "--resume", "--claim-wait", "600"))
    assert done.returncode == 0, done.stderr.decode()
    assert _has_entry(cache)


@pytest.mark.parametrize("who", ["this process", "pid 1", "another boot"])
def test_a_claim_naming_a_live_pid_of_another_process_is_stale(tmp_path: Path, who: str) -> None:
    listing, cache, out = _setup(tmp_path)
    if who == "this process":  # our own pid, another start time: a run that died, pid reused by us
        holder = Holder(HOST, BOOT_ID, os.getpid(), (start_time(os.getpid()) or 0) + 7, "old")
    elif who == "pid 1":  # a container restarted with the same hostname, the run was its pid 1
        holder = Holder(HOST, BOOT_ID, 1, (start_time(1) or 0) + 7, "old")
    else:  # this hostname, another boot: the machine rebooted since
        holder = Holder(HOST, "another-boot", os.getpid(), start_time(os.getpid()), "old")
    paths = [str(listing.parent / line) for line in listing.read_text().split()]
    _plant(cache, holder.encode(), paths[1])

    async def run() -> list[str]:
        config = Config(render=RenderSettings(renderer="mathtext"))
        async with AsyncRenderer(cache, out, jobs=1, config=config, resume=True, claim_wait=600) as r:
            return [res.status async for res in r.render(paths)]

    statuses = anyio.run(run)
    assert statuses == ["success"] * 3
    assert DistributedCacheManager(cache).load_file_cache(paths[1]) is not None
