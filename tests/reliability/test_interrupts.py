"""Point 3: Ctrl-C and SIGTERM on the real CLI, and cancelling the library's render from the caller.

No new file starts, what is in flight is abandoned (its workers are killed), summary.json is
written, the exit status is 130 / 143, no process of the run is left, and ``--resume`` completes.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import anyio
import pytest

from asyncrender.config import Config, RenderSettings, RunSettings
from asyncrender.executors.local_pool import LocalPoolRunner
from asyncrender.run.renderer import AsyncRenderer
from tests.reliability.support import (
    audit,
    cli_args,
    entry_count,
    kill_group,
    make_corpus,
    run_cli,
    start_cli,
    temp_files,
    wait_dead,
    wait_session_empty,
)


def wait_for_entries(cache: Path, at_least: int, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if entry_count(cache) >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {at_least} entries within {within} s")


@pytest.mark.parametrize(("signum", "whole_group"), [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_signal_stops_the_run_cleanly_and_resume_completes(tmp_path: Path, signum: int,
                                                           whole_group: bool) -> None:
    listing = make_corpus(tmp_path / "in", files=60, items=6)
    keys = [line for line in listing.read_text().split("\n") if line]
    cache, out, log = tmp_path / "cache", tmp_path / "out", tmp_path / "log"
    proc = start_cli(cli_args(listing, cache, out), log)
    wait_for_entries(cache, 2)
    started = time.time()
    if whole_group:
        kill_group(proc, signum)  # a terminal's Ctrl-C reaches every process of the group
    else:
        proc.send_signal(signum)  # `kill PID`: the orchestrator alone
    # In-flight work is abandoned, not waited for: a generous bound, far below the corpus's time.
    code = proc.wait(timeout=60)
    assert code == 128 + signum, log.read_text()
    assert wait_session_empty(proc.pid) == []
    summary = json.loads((cache / "summary.json").read_text())
    assert summary["files"]["total"] >= 2
    assert (cache / "summary.json").stat().st_mtime >= started
    assert temp_files(cache) == []

    done = run_cli(cli_args(listing, cache, out, "--resume", "--json"))
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["run"]["skipped"] >= 2
    entries = audit(cache, keys)
    assert all(e["status"] == "success" for e in entries.values())
    assert temp_files(cache, out) == []


def _config() -> Config:
    return Config(render=RenderSettings(renderer="mathtext"), run=RunSettings(jobs=2, files_per_job=2))


@pytest.mark.parametrize("how", ["cancel_scope", "break"])
def test_cancelling_the_library_render_leaves_no_process(tmp_path: Path, how: str) -> None:
    listing = make_corpus(tmp_path / "in", files=30, items=6)
    paths = [str(tmp_path / "in" / line) for line in listing.read_text().split("\n") if line]
    pids: list[int] = []
    received = 0

    async def main() -> None:
        nonlocal received
        # fail_after: a deadlock would fail here instead of hanging (a generous bound).
        with anyio.fail_after(120), anyio.CancelScope() as scope:
            async with AsyncRenderer(tmp_path / "cache", tmp_path / "out", config=_config()) as r:
                async for _ in r.render(paths):
                    received += 1
                    assert isinstance(r._runner, LocalPoolRunner)
                    pids.extend(r._runner.worker_pids())
                    if how == "break":
                        break
                    scope.cancel()
        # The block's exit wrote the summary, also when cancelled.
        assert (tmp_path / "cache" / "summary.json").exists()

    anyio.run(main)
    assert 1 <= received < len(paths)
    assert pids and wait_dead(pids) == []
