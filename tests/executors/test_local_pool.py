"""The local pool's own behaviour (its deaths and interrupts: tests/reliability)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import anyio
import pytest

from asyncrender.executors.local_pool import LocalPoolRunner
from tests.reliability.support import parent_of


def test_workers_that_cannot_start_leave_no_traceback_from_the_starting_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    runner = LocalPoolRunner(1)

    def cannot_start(*_: Any, **__: Any) -> Future[Any]:
        raise ConnectionRefusedError("the forkserver is gone")

    monkeypatch.setattr(runner._current_pool(), "submit", cannot_start)
    runner.start()
    assert runner._started is not None and runner._started.wait(10)
    assert seen == []  # nothing printed by the thread that starts the workers
    monkeypatch.undo()
    anyio.run(runner.aclose)


def test_with_another_thread_running_the_workers_come_from_the_forkserver() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        runner = LocalPoolRunner(1)
        runner.start(fork=True)
        assert runner._started is not None and runner._started.wait(60)
        [worker] = runner.worker_pids()
        assert parent_of(worker) != os.getpid()  # the forkserver's child, not ours
    finally:
        release.set()
        other.join()
    anyio.run(runner.aclose)


# A process of its own, with one thread: what the CLI is when it starts its workers.
_FORKED_RUN = """
import json, os, sys
from pathlib import Path
sys.path.insert(0, {root!r})
import anyio
from asyncrender.config import Config, RenderSettings, RunSettings
from asyncrender.executors.local_pool import LocalPoolRunner
from asyncrender.run.renderer import AsyncRenderer
from tests.reliability import crashy
from tests.reliability.support import children

runner = LocalPoolRunner(2, render=crashy.crashy_render)
runner.start(fork=True)
workers = runner.worker_pids()
mine = children().get(os.getpid(), [])
paths = sys.argv[1:]
config = Config(render=RenderSettings(renderer="mathtext"), run=RunSettings(jobs=2, files_per_job=2))
statuses = {{}}

async def main():
    async with AsyncRenderer({tmp!r} + "/cache", {tmp!r} + "/out", config=config, runner=runner,
                             owns_runner=True) as r:
        async for result in r.render(paths):
            statuses[Path(result.key).name] = result.entry["status"]

anyio.run(main)
print(json.dumps({{"workers": sorted(workers), "children": sorted(mine), "rebuilds": runner.rebuilds,
                  "statuses": statuses, "left": runner.worker_pids()}}))
"""


def test_a_single_threaded_process_forks_its_workers_and_rebuilds_from_the_forkserver(tmp_path: Path) -> None:
    """No forkserver and no resource tracker at the start (the workers are its only children);
    a worker's death still costs only its file, the pool coming back from the forkserver."""
    paths = []
    for f in range(6):
        latex = "KILLME x" if f == 3 else f"a_{{{f}}}"
        path = tmp_path / f"f{f}_extracted.json"
        path.write_text(json.dumps({"items": [{"id": "e0", "latex": latex}, {"id": "e1", "latex": "b"}]}))
        paths.append(str(path))
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", _FORKED_RUN.format(root=root, tmp=str(tmp_path)), *paths],
                         capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    assert len(report["workers"]) == 2 and report["children"] == report["workers"]
    assert report["rebuilds"] >= 1
    assert report["statuses"] == {f"f{f}_extracted.json": "failed" if f == 3 else "success" for f in range(6)}
    assert report["left"] == []  # closed by the renderer it was handed to


_FORK_FAILS = """
import os, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from asyncrender.executors.local_pool import LocalPoolRunner
from tests.reliability.support import parent_of

def no_fork():
    raise BlockingIOError(11, "Resource temporarily unavailable")

os.fork = no_fork  # what multiprocessing's fork start calls; the forkserver is started otherwise
runner = LocalPoolRunner(1)
runner.start(fork=True)
assert runner._started.wait(60)
[worker] = runner.worker_pids()
parent = parent_of(worker)
runner.terminate()
print("forkserver" if parent != os.getpid() else "forked")
"""


def test_a_fork_that_fails_falls_back_to_the_forkserver(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", _FORK_FAILS.format(root=root)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "forkserver"
