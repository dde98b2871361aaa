"""Point 2: workers that die (SIGKILL, ``os._exit``, a segfault in the backend) or misbehave.

Real forkserver pools and real deaths: the test-only backend in ``crashy.py`` kills its own
process on marked items. The pool is rebuilt, what was in flight is retried, the culprit fails
as ``crash`` after its second strike (the last one alone, in quarantine), innocents render.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from asyncrender.config import Config, RenderSettings, RunSettings
from asyncrender.executors.local_pool import LocalPoolRunner
from asyncrender.model import FileOutcome, RenderJob
from asyncrender.run.renderer import AsyncRenderer, FileResult
from tests.reliability import crashy
from tests.reliability.support import wait_dead


def corpus(folder: Path, files: int, culprits: dict[int, str]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in range(files):
        items = [{"id": f"e{i}", "latex": f"a_{{{f}}} + b^{{{i}}}"} for i in range(3)]
        if f in culprits:
            items[1]["latex"] = f"{culprits[f]} x"
        path = folder / f"f{f:02d}_extracted.json"
        path.write_text(json.dumps({"items": items}))
        paths.append(str(path))
    return paths


def render_with(tmp_path: Path, paths: list[str], render: Callable[[RenderJob], list[FileOutcome]],
                files_per_job: int = 4) -> tuple[dict[str, FileResult], LocalPoolRunner, list[int]]:
    runner = LocalPoolRunner(2, render=render)
    config = Config(render=RenderSettings(renderer="mathtext"),
                    run=RunSettings(jobs=2, files_per_job=files_per_job))
    results: dict[str, FileResult] = {}
    pids: list[int] = []

    async def main() -> None:
        try:
            async with AsyncRenderer(tmp_path / "cache", tmp_path / "out", config=config, runner=runner) as r:
                async for result in r.render(paths):
                    results[result.key] = result
        finally:
            pids.extend(runner.worker_pids())
            await runner.aclose()

    anyio.run(main)
    return results, runner, pids


def crash_errors(entry: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert entry is not None
    return [e for e in entry["errors"] if e["kind"] == "crash"]


@pytest.mark.parametrize("marker", ["KILLME", "EXITME", "SEGVME"])
def test_a_dying_worker_fails_only_its_file_as_crash(tmp_path: Path, marker: str) -> None:
    culprits = {2: marker, 9: marker}
    paths = corpus(tmp_path / "in", 12, culprits)
    results, runner, pids = render_with(tmp_path, paths, crashy.crashy_render)
    assert len(results) == 12
    assert runner.rebuilds >= 1
    for index, path in enumerate(paths):
        entry = results[os.path.normpath(path)].entry
        if index in culprits:
            assert entry is not None and entry["status"] == "failed"
            [error] = crash_errors(entry)
            assert "a worker died rendering this file" in error["message"] and path in error["message"]
        else:
            assert entry is not None and entry["status"] == "success", (index, entry and entry["errors"])
    # Every worker, of the rebuilt pool and of quarantine, is gone after the run.
    assert pids
    assert wait_dead(pids) == []


def test_workers_ignore_sigint(tmp_path: Path) -> None:
    paths = corpus(tmp_path / "in", 3, {1: "SIGINTME"})
    results, runner, _ = render_with(tmp_path, paths, crashy.crashy_render)
    assert runner.rebuilds == 0
    # The worker survived its own Ctrl-C and rendered the item (letters are fine math).
    assert all(r.status == "success" for r in results.values())


def test_a_raising_worker_fails_its_files_and_the_run_goes_on(tmp_path: Path) -> None:
    paths = corpus(tmp_path / "in", 3, {})
    results, _, _ = render_with(tmp_path, paths, crashy.raising_render)
    assert len(results) == 3
    for result in results.values():
        [error] = crash_errors(result.entry)
        assert "MemoryError" in error["message"]


def test_a_backend_bug_fails_items_not_the_run(tmp_path: Path) -> None:
    paths = corpus(tmp_path / "in", 3, {0: "RAISEME"})
    results, runner, _ = render_with(tmp_path, paths, crashy.crashy_render, files_per_job=1)
    assert runner.rebuilds == 0
    assert {r.status for k, r in results.items() if k.endswith("f00_extracted.json")} == {"failed"}
    assert {r.status for k, r in results.items() if not k.endswith("f00_extracted.json")} == {"success"}


def test_workers_are_started_by_the_forkserver(tmp_path: Path) -> None:
    paths = corpus(tmp_path / "in", 2, {})
    results, runner, _ = render_with(tmp_path, paths, crashy.parent_pid_render)
    assert runner._context.get_start_method() == "forkserver"
    parents = {r.entry["paper_id"] for r in results.values() if r.entry}
    assert parents and str(os.getpid()) not in parents
