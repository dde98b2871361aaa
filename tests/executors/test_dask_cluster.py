"""The Dask executor on real local clusters of 2 worker processes: the same entries and pixels as the
local pool, a worker killed mid-run, Ctrl-C reaching ``dask-local`` workers, the settings' checks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from PIL import Image
from typer.testing import CliRunner

from asyncrender import AsyncRenderer, Config, ConfigError, RenderSettings, RunSettings
from asyncrender.cli import app

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

from asyncrender.executors.dask_cluster import DaskRunner, make_dask_runner  # noqa: E402  (needs distributed

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "examples"
MATHTEXT = RenderSettings(renderer="mathtext")  # the TeX backend lives on another branch for now


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cluster() -> Iterator[Any]:
    """A real LocalCluster of 2 single-threaded worker processes (with nannies), and a client to it."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        yield client


def example_papers() -> list[str]:
    """Six shipped papers and the file with bad items: successes, TeX-only failures, input errors."""
    papers = sorted((EXAMPLES / "papers").glob("*_extracted.json"))[:6]
    return [str(p) for p in [*papers, EXAMPLES / "broken" / "bad_items_extracted.json"]]


def synthetic_papers(folder: Path, files: int, items: int) -> list[str]:
    folder.mkdir(parents=True)
    paths = []
    for f in range(files):
        path = folder / f"p{f}_extracted.json"
        path.write_text(json.dumps({"paper_id": f"p{f}", "items": [
            {"id": f"eq{i}", "latex": rf"\sum_{{k={i}}}^{{{f}}} \frac{{x_k^{{{i}}}}}{{y + {f}}}"}
            for i in range(items)]}))
        paths.append(str(path))
    return paths


def comparable(entry: dict[str, Any], output_dir: Path) -> dict[str, Any]:
    """An entry without what differs between two runs: timings and the output folder."""
    out = {k: v for k, v in entry.items() if k not in ("seconds", "finished_at", "output_dir")}
    out["images"] = [{**image, "path": str(Path(image["path"]).relative_to(output_dir))}
                     for image in entry["images"]]
    return out


def pixels(path: str) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(path) as image:
        return image.mode, image.size, image.tobytes()


async def render_all(renderer: AsyncRenderer, paths: list[str]) -> dict[str, dict[str, Any]]:
    async with renderer:
        return {result.key: result.entry async for result in renderer.render(paths) if result.entry}


@pytest.mark.anyio
@pytest.mark.timeout(120)  # without the SIGINT plugin, interrupted workers stall the run
async def test_dask_local_gives_the_local_pools_entries_and_pixels_and_ignores_ctrl_c(tmp_path: Path) -> None:
    paths = example_papers()
    config = Config(render=MATHTEXT)
    local = await render_all(AsyncRenderer(tmp_path / "c1", tmp_path / "o1", jobs=2, config=config), paths)

    runner: DaskRunner = await anyio.to_thread.run_sync(make_dask_runner, "dask-local", None, 2)
    try:
        pids: dict[str, int] = await anyio.to_thread.run_sync(runner.client.run, os.getpid)
        assert len(pids) == 2 and os.getpid() not in pids.values()  # worker processes, not threads
        dask: dict[str, dict[str, Any]] = {}
        async with AsyncRenderer(tmp_path / "c2", tmp_path / "o2", config=config, runner=runner) as r:
            async for result in r.render(paths):
                if not dask:
                    # Ctrl-C in a terminal reaches the whole process group, dask-local workers too.
                    for pid in pids.values():
                        os.kill(pid, signal.SIGINT)
                assert result.entry is not None
                dask[result.key] = result.entry
        # The workers ignored it (the orchestrator decides), so none died and none was restarted.
        assert await anyio.to_thread.run_sync(runner.client.run, os.getpid) == pids
    finally:
        await runner.aclose()

    assert sorted(dask) == sorted(local) == sorted(paths)
    kinds = {error["kind"] for entry in local.values() for error in entry["errors"]}
    assert len(kinds) >= 2  # failures are compared too, not only images
    for key in paths:
        assert comparable(dask[key], tmp_path / "o2") == comparable(local[key], tmp_path / "o1")
        for mine, theirs in zip(dask[key]["images"], local[key]["images"], strict=True):
            assert mine["path"].startswith(str(tmp_path / "o2"))
            assert pixels(mine["path"]) == pixels(theirs["path"])


@pytest.mark.anyio
@pytest.mark.timeout(120)
async def test_a_dask_worker_killed_mid_run_and_the_run_completes(tmp_path: Path, cluster: Any) -> None:
    paths = synthetic_papers(tmp_path / "papers", files=8, items=15)
    config = Config(render=MATHTEXT, run=RunSettings(executor="dask", scheduler=cluster.scheduler.address))
    killed: list[tuple[str, int, list[str]]] = []

    def kill_a_busy_worker() -> None:
        busy = {address: keys for address, keys in cluster.processing().items() if keys}
        assert busy, "no job in flight when the first result came back: make the inputs slower"
        address, keys = next(iter(busy.items()))
        pid = cluster.run(os.getpid)[address]
        os.kill(pid, signal.SIGKILL)
        killed.append((address, pid, list(keys)))

    results = {}
    async with AsyncRenderer(tmp_path / "cache", tmp_path / "out", config=config) as r:
        async for result in r.render(paths):
            if not killed:
                await anyio.to_thread.run_sync(kill_a_busy_worker)
            results[result.key] = result

    assert killed and killed[0][2], "a worker with jobs in flight was killed"
    assert sorted(results) == sorted(paths)
    for key in paths:
        entry = json.loads(next(p for p in (tmp_path / "cache" / "file_caches").iterdir()
                                if json.loads(p.read_text())["file"] == key).read_text())
        assert entry["status"] == "success" and len(entry["images"]) == 15, entry["errors"]
        for image in entry["images"]:
            assert pixels(image["path"])[1] == (image["width"], image["height"])
    assert r.summary is not None and r.summary["files"]["total"] == 8


def test_executor_names_and_the_scheduler_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"run\.executor must be one of local, dask, dask-local"):
        RunSettings(executor="spark")
    with pytest.raises(ConfigError, match=r"needs run\.scheduler"):
        RunSettings(executor="dask")
    assert RunSettings(executor="dask", scheduler="tcp://10.0.0.1:8786").scheduler == "tcp://10.0.0.1:8786"
    assert RunSettings(executor="dask-local").executor == "dask-local"


def test_without_distributed_the_cli_says_how_to_install_it(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("a_extracted.json\n")
    # A real process in which importing distributed fails, as where the extra is not installed.
    code = ("import sys; sys.modules['distributed'] = None; from asyncrender.cli import main; "
            "sys.argv[0] = 'asyncrender'; main()")
    args = ["render", str(listing), "-c", str(tmp_path / "c"), "--executor", "dask-local"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "COLUMNS": "200"})
    assert done.returncode == 2, done.stderr
    assert "pip install asyncrender[dask]" in done.stderr
    assert not (tmp_path / "c").exists()


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"{example_papers()[0]}\n")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = CliRunner().invoke(app, ["render", str(listing), "-c", str(tmp_path / "c"), "-o",
                                          str(tmp_path / "o"), "--renderer", "mathtext", "--executor", "dask",
                                          "--scheduler", address])
    assert result.exit_code == 1
    assert f"cannot connect to the Dask scheduler at {address}" in " ".join(result.output.split())
    assert "Traceback" not in result.output
