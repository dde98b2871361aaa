"""Helpers shared by the benchmarks: the machine, corpora of synthetic inputs and entries, timing."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncrender.config import RendererName

ROOT = Path(__file__).resolve().parents[1]
SHARED_FORMULAS = ROOT / ".." / "shared" / "corpus" / "arxiv_formulas.lst"
EXAMPLES_LIST = ROOT / "examples" / "arxiv_file_list.txt"

# Used when the shared corpus is absent: mathtext-friendly formulas.
_FALLBACK = [r"E = mc^2", r"\frac{a}{b} + \sqrt{x^2 + y^2}", r"\sum_{n=0}^{\infty} \frac{x^n}{n!}",
             r"\int_0^1 f(x)\,dx", r"\alpha\beta\gamma", r"x_{i}^{2} - y_{j}"]


@dataclass
class Section:
    """One benchmark's part of BENCHMARKS.md: prose, tables, and headline ratios for the README."""

    title: str
    lines: list[str] = field(default_factory=list)
    headlines: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def use_cores(n: int) -> None:
    """Run this process and what it starts on the first ``n`` cores of the machine."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0) | set(range(os.cpu_count() or 1)))[:n]))


def console_script() -> list[str]:
    """The command that runs asyncrender as a user's shell would: the installed ``asyncrender``
    script itself, not a version manager's shim in front of it (a benchmark times asyncrender, and
    pyenv's shim, a bash script that finds the interpreter, adds 60-80 ms to every command here);
    ``python -m asyncrender`` where no script is installed."""
    script = Path(sys.executable).parent / "asyncrender"
    return [str(script)] if script.exists() else [sys.executable, "-m", "asyncrender"]


def formulas() -> list[str]:
    try:
        with open(SHARED_FORMULAS, encoding="utf-8", newline="\n") as f:
            found = [line.rstrip("\n") for line in f if line.strip()]
    except OSError:
        return _FALLBACK
    return found or _FALLBACK


def sample_entry(key: str, n_images: int, formula_pool: list[str],
                 out_dir: str = "/data/rendered") -> dict[str, Any]:
    """An entry shaped like a real one (the size matters for the single-file design)."""
    paper = Path(key).name.removesuffix("_extracted.json")
    images = [{"id": str(i), "path": f"{out_dir}/{paper}/{i}.png", "width": 412, "height": 58,
               "type": "display", "latex": formula_pool[(hash(key) + i) % len(formula_pool)]}
              for i in range(n_images)]
    return {"version": 1, "file": key, "status": "success", "paper_id": paper, "images": images,
            "errors": [], "input": {"size": 4096, "mtime_ns": 1_700_000_000_000_000_000, "sha256": "0" * 64},
            "config": {"fingerprint": "f" * 64, "renderer": "latex", "dpi": 200},
            "renderer": "latex pdfTeX 3.141592653", "output_dir": out_dir, "seconds": 0.42,
            "finished_at": "2024-05-01T12:00:00.000Z"}


_held: list[Path] | None = None  # folders whose removal ``removals_held`` postpones


@contextlib.contextmanager
def removals_held() -> Iterator[None]:
    """Postpone every ``remove_tree`` of the block to its end.

    Why: on this machine's file system (ext4 without a journal) creating a file costs about
    0.6 ms instead of 20 us for one to six minutes after a few thousand files were deleted nearby:
    ext4's inode allocator steps over every recently freed inode (``recently_deleted()`` in
    ``find_inode_bit``). A benchmark that deletes one run's thousands of images before the next run
    makes that run pay for it, while the bare TeX loop, which overwrites its files, never does.
    """
    global _held
    outer, _held = _held, []
    try:
        yield
    finally:
        held, _held = _held, outer
        for folder in held:
            shutil.rmtree(folder, ignore_errors=True)


def settle_disk(folder: Path, limit: float = 420.0, quiet_us: float = 60.0) -> float:
    """Wait until creating a file in ``folder`` costs what it does on a quiet disk (over 200 creates
    in 20 new folders: a median under ``quiet_us``, nine in ten under three times that), at most
    ``limit`` seconds (ext4 stops stepping over a freed inode after 60 s, or 360 s while its table
    is unwritten: ``removals_held``); the seconds waited.
    The probe files stay until the enclosing ``removals_held`` block ends (deleting them would be
    the very thing waited for)."""
    start = time.monotonic()
    try:
        for attempt in range(10_000):
            costs = []
            for d in range(20):  # new folders, as a run makes (ext4 may place each in another group)
                probe = folder / f"probe-{attempt}" / str(d)
                probe.mkdir(parents=True)
                for k in range(10):
                    t = time.perf_counter()
                    with open(probe / str(k), "wb") as f:
                        f.write(b"x" * 3000)
                    costs.append(time.perf_counter() - t)
            costs.sort()
            if (costs[100] * 1e6 < quiet_us and costs[180] * 1e6 < 3 * quiet_us) or time.monotonic() - start > limit:
                break
            time.sleep(10)
    finally:
        remove_tree(folder)
    return time.monotonic() - start


def remove_tree(folder: Path) -> None:
    """Remove ``folder`` now, or at the end of the enclosing ``removals_held`` block (a folder in
    memory, ``/dev/shm``, now: tmpfs has no such trap, and memory is better given back)."""
    if _held is None or Path("/dev/shm") in folder.parents:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        _held.append(folder)


def write_extracted_corpus(folder: Path, n_files: int, items_per_file: int, pool: list[str]) -> Path:
    """``n_files`` extracted files of ``items_per_file`` formulas each, and a list; returns the list.

    Reuses files an earlier call made (same counts), so repeated runs do not rewrite them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    listing = folder / f"list_{n_files}x{items_per_file}.txt"
    if listing.exists():
        return listing
    papers = folder / f"papers_{items_per_file}"
    papers.mkdir(exist_ok=True)
    names = []
    for i in range(n_files):
        name = f"p{i:07d}_extracted.json"
        path = papers / name
        if not path.exists():
            items = [{"id": f"eq{j}", "type": "display", "latex": pool[(i * items_per_file + j) % len(pool)]}
                     for j in range(items_per_file)]
            path.write_text(json.dumps({"paper_id": f"p{i:07d}", "items": items}))
        names.append(f"{papers.name}/{name}")
    tmp = listing.with_suffix(".part")
    tmp.write_text("\n".join(names) + "\n")
    tmp.replace(listing)
    return listing


def timed_render(cmd: list[str], log: Path, **run: Any) -> tuple[float, float]:
    """Seconds from launching ``cmd`` (an ``asyncrender render`` command; ``--log-file log`` is
    added) to the run log's ``run_start``, written as the first job is sent, and to its exit.
    ``run``: more arguments for ``subprocess.run`` (env, cwd)."""
    start = time.time()
    subprocess.run([*cmd, "--log-file", str(log)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **run)
    whole = time.time() - start
    first = json.loads(log.read_text().splitlines()[0])
    return datetime.fromisoformat(first["ts"].replace("Z", "+00:00")).timestamp() - start, whole


def iter_listed(listing: Path) -> Iterator[str]:
    with open(listing) as f:
        for line in f:
            if line.strip():
                yield str(listing.parent / line.strip())


def peak_rss_mib() -> float:
    """Peak RSS of this process. ``VmHWM``, not ``getrusage``: on Linux ``ru_maxrss`` survives
    fork+exec, so a child would report at least its parent's (the benchmark driver's) peak."""
    try:
        with open("/proc/self/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(module: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``python -m <module> args`` in a fresh process; it prints one JSON object last."""
    paths = [str(ROOT), os.environ.get("PYTHONPATH")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        mem = "?"
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem, "os": platform.platform(),
            "python": platform.python_version()}


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def ratio(a: float, b: float) -> str:
    return f"{a / b:,.1f}x" if b > 0 else "∞"


async def render_listing(listing: Path, cache_dir: Path, out_dir: Path, jobs: int, *,
                         resume: bool = False, tiny: bool = True, renderer: RendererName = "auto",
                         manager: Any = None, null: bool = False, io_threads: int = 0) -> dict[str, Any]:
    """Run the orchestrator over a file list (streamed as the CLI does); returns counts and seconds.

    ``tiny``: the benchmark-only backend; ``null``: the benchmark-only runner that does no work at all
    (the orchestrator alone); ``manager``: a cache manager class to use instead of the
    shipped one (the old design, for the end-to-end comparison); ``io_threads``: ``run.io_threads``.
    """
    from asyncrender.config import Config, RenderSettings, RunSettings
    from asyncrender.executors.local_pool import LocalPoolRunner
    from asyncrender.inputs.filelist import read_file_list
    from asyncrender.run.renderer import AsyncRenderer
    from benchmarks.null_runner import NullRunner
    from benchmarks.tiny_backend import render_job_tiny

    runner: Any = NullRunner(jobs) if null else LocalPoolRunner(jobs, render=render_job_tiny) if tiny else None
    config = Config(render=RenderSettings(renderer=renderer), run=RunSettings(io_threads=io_threads))
    renderer_cls = AsyncRenderer if manager is None else _with_manager(manager)
    start = time.perf_counter()
    async with renderer_cls(cache_dir, out_dir, jobs, config=config, resume=resume, runner=runner) as r:
        async for _ in r.render_listed(read_file_list(listing)):
            pass
    seconds = time.perf_counter() - start
    if runner is not None:
        await runner.aclose()
    return {"files": r.stats.files, "skipped": r.stats.skipped, "images": r.stats.images, "seconds": seconds}


def _with_manager(manager: Any) -> Any:
    from asyncrender.run.renderer import AsyncRenderer

    class WithManager(AsyncRenderer):
        async def __aenter__(self) -> WithManager:
            await super().__aenter__()
            self._cache = manager(self.cache_dir)
            return self

    return WithManager
