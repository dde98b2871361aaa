"""summary.json kept by per-run deltas (``cache.runs``): right after every run, recounted only when
another run, a dead run or a write outside a run may have changed the cache meanwhile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.cache.runs import RUNS_DIR
from asyncrender.cache.summary import summarise
from asyncrender.config import Config, RenderSettings
from asyncrender.run.renderer import AsyncRenderer
from benchmarks.null_runner import NullRunner

ROOT = Path(__file__).resolve().parents[2]


def _papers(tmp_path: Path, n: int, start: int = 0) -> list[str]:
    folder = tmp_path / "papers"
    folder.mkdir(exist_ok=True)
    paths = []
    for k in range(start, start + n):
        path = folder / f"p{k}_extracted.json"
        path.write_text(json.dumps({"paper_id": f"p{k}", "items": ["x"]}))
        paths.append(str(path))
    return paths


def _run(tmp_path: Path, paths: list[str], resume: bool = False) -> dict[str, object]:
    async def go() -> dict[str, object]:
        async with AsyncRenderer(tmp_path / "c", tmp_path / "o", 1, resume=resume, runner=NullRunner(1),
                                 config=Config(render=RenderSettings(renderer="mathtext"))) as r:
            await r.run(paths)
        assert r.summary is not None
        return dict(r.summary)
    return anyio.run(go)


def _recount(tmp_path: Path) -> dict[str, object]:
    return dict(summarise(DistributedCacheManager(tmp_path / "c").iter_entries(), "now"))


def _same(a: dict[str, object], b: dict[str, object]) -> bool:
    return {k: v for k, v in a.items() if k != "generated_at"} == {k: v for k, v in b.items() if k != "generated_at"}


@pytest.fixture
def recounts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = DistributedCacheManager.save_summary

    def counting(self: DistributedCacheManager) -> object:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(DistributedCacheManager, "save_summary", counting)
    return calls


def test_a_lone_run_adds_its_delta_without_recounting(tmp_path: Path, recounts: list[int]) -> None:
    first = _papers(tmp_path, 20)
    assert _same(_run(tmp_path, first), _recount(tmp_path)) and recounts == [1]  # no summary yet: counted
    more = _papers(tmp_path, 5, start=20)
    summary = _run(tmp_path, first[:10] + more)  # 10 replaced, 5 new
    assert _same(summary, _recount(tmp_path)) and summary["files"] == {"total": 25, "by_status": {
        "success": 25, "partial": 0, "failed": 0}}
    _run(tmp_path, first + more, resume=True)
    assert recounts == [1]  # the later runs added their deltas
    assert _same(json.loads((tmp_path / "c" / "summary.json").read_text()), _recount(tmp_path))


def test_a_write_outside_a_run_or_a_dead_run_forces_a_recount(tmp_path: Path, recounts: list[int]) -> None:
    paths = _papers(tmp_path, 5)
    _run(tmp_path, paths)
    cache = DistributedCacheManager(tmp_path / "c")
    cache.save_file_cache("extra.json", {"version": 1, "status": "failed", "images": [],
                                         "errors": [{"id": None, "kind": "input", "message": "m"}]})
    assert _same(_run(tmp_path, paths[:1]), _recount(tmp_path)) and len(recounts) == 2
    _run(tmp_path, paths[:1])
    assert len(recounts) == 2  # the flag was answered
    (tmp_path / "c" / RUNS_DIR / f"{os.uname().nodename}.999999999.deadbeef.running").touch()  # a killed run
    (tmp_path / "c" / "file_caches" / "0123.cache").unlink(missing_ok=True)
    assert _same(_run(tmp_path, paths[:1]), _recount(tmp_path)) and len(recounts) == 3
    assert not any(n.endswith(".running") for n in os.listdir(tmp_path / "c" / RUNS_DIR))  # swept


def test_two_concurrent_runs_lose_no_count(tmp_path: Path) -> None:
    """Two CLI runs at once over overlapping lists (the same files rewritten by both): the
    summary is the recount of the entries as they are."""
    papers = tmp_path / "papers"
    papers.mkdir()
    for k in range(120):
        items = ["x", r"\undefinedcs"] if k % 3 == 0 else ["y"]
        (papers / f"q{k}_extracted.json").write_text(json.dumps({"paper_id": f"q{k}", "items": items}))
    (tmp_path / "a.txt").write_text("".join(f"papers/q{k}_extracted.json\n" for k in range(0, 90)))
    (tmp_path / "b.txt").write_text("".join(f"papers/q{k}_extracted.json\n" for k in range(30, 120)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    for _ in range(2):
        procs = [subprocess.Popen([sys.executable, "-m", "asyncrender", "render", str(tmp_path / name), "-c",
                                   str(tmp_path / "c"), "-o", str(tmp_path / "o"), "-j", "1", "--quiet",
                                   "--renderer", "mathtext"], env=env) for name in ("a.txt", "b.txt")]
        assert [p.wait(timeout=300) for p in procs] == [0, 0]
        written = json.loads((tmp_path / "c" / "summary.json").read_text())
        assert _same(written, _recount(tmp_path)) and written["files"]["total"] == 120


def test_a_dead_runs_marker_is_dead_even_when_its_pid_lives_again(tmp_path: Path) -> None:
    """A marker names its process by pid, start time and boot: a live process that took the dead
    run's pid (here a ``sleep``, with the marker claiming another start time) does not keep it
    running, so it is swept instead of forcing a recount at every later run."""
    from asyncrender.cache.runs import RunMarker, parse_marker
    from asyncrender.processes import ProcessId

    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        real = ProcessId.of(sleeper.pid)
        assert real.start is not None
        other = ProcessId(sleeper.pid, real.start + 1).tag()
        folder = tmp_path / "c" / RUNS_DIR
        folder.mkdir(parents=True)
        host = os.uname().nodename
        (folder / f"{host}.{other}.deadbeef.running").touch()
        (folder / f"{host}.{real.tag()}.cafe.running").touch()
        marker = RunMarker(tmp_path / "c", "mine")
        found = {m.name.split(".")[2]: m for m in marker.others()}
        assert found["deadbeef"].dead and not found["cafe"].dead
        marker.sweep()
        assert sorted(os.listdir(folder)) == sorted([f"{host}.{real.tag()}.cafe.running", marker.running])
        assert parse_marker(f"{host}.{sleeper.pid}.old.running") is not None  # a bare pid still parses
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("resume", [False, True])
def test_a_file_listed_twice_keeps_the_summary_exact(tmp_path: Path, resume: bool) -> None:
    """A run reads each entry once, when it prepares the file, and counts that entry out of its
    delta when the file's new entry is written. A file listed twice in one run has its two copies
    prepared before either is written: the second copy's read is stale, so the run recounts."""
    first = _papers(tmp_path, 5)
    _run(tmp_path, first)
    new = _papers(tmp_path, 1, start=5)
    summary = _run(tmp_path, [new[0], first[0], new[0], first[1], first[0]], resume=resume)
    assert _same(summary, _recount(tmp_path)) and summary["files"]["total"] == 6
    assert _same(json.loads((tmp_path / "c" / "summary.json").read_text()), _recount(tmp_path))


def test_each_entry_is_read_once_per_listed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's read of an entry is the one its write replaces: no second read at the write."""
    paths = _papers(tmp_path, 30)
    _run(tmp_path, paths)
    reads: list[str] = []
    original = DistributedCacheManager.read_entry

    def counting(self: DistributedCacheManager, key: str) -> object:
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(DistributedCacheManager, "read_entry", counting)
    summary = _run(tmp_path, paths)
    assert sorted(reads) == sorted(paths)
    assert _same(summary, _recount(tmp_path))
