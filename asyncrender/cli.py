"""The command line: an edge around the library (which never needs it).

Exit codes: 0 the run completed (item failures live in the cache), 1 it could not complete,
2 bad usage, 130 after Ctrl-C, 143 after SIGTERM. Only here is uvloop chosen.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
from rich.console import Console
from rich.table import Table

from asyncrender.cache.manager import CacheFormatError, DistributedCacheManager
from asyncrender.config import Config, ConfigError, load_config
from asyncrender.inputs import read_file_list
from asyncrender.pipeline import AsyncRenderer, RunStats
from asyncrender.progress import RunProgress, count_listed

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Batch LaTeX-to-PNG rendering with a "
                  "crash-safe per-file cache.")
err = Console(stderr=True)
log = logging.getLogger("asyncrender")

CacheDir = Annotated[Path, typer.Option("--cache-dir", "-c", help="Cache folder.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(code)


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.ERROR if quiet else logging.WARNING)


@app.command()
def render(
    file_list: Annotated[str, typer.Argument(help="File listing extracted JSON files, one per line; - for stdin.")],
    cache_dir: CacheDir = Path("cache_dir"),
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where PNGs go.")] = Path("rendered"),
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: CPU count).")] = None,
    resume: Annotated[bool, typer.Option(help="Skip files whose entry is valid for the input and settings.")] = False,
    retry_failed: Annotated[bool, typer.Option(help="With --resume, render failed and partial files again.")] = False,
    fsync: Annotated[bool, typer.Option(help="fsync each entry and its folder (survives power loss).")] = False,
    legacy_cache: Annotated[Path | None, typer.Option(help="Migrate this old single-file cache.json first.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Settings file (TOML).")] = None,
    renderer: Annotated[str | None, typer.Option(help="auto, latex or mathtext.")] = None,
    dpi: Annotated[int | None, typer.Option(help="Resolution of the PNGs.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Items per TeX run.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds one TeX run may take.")] = None,
    executor: Annotated[str | None, typer.Option(help="local, dask or dask-local.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (tcp://host:port).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run's totals as JSON.")] = False,
) -> None:
    """Render every item of every listed file to a PNG, with one cache entry per file."""
    _setup_logging(quiet or as_json)
    try:
        settings = load_config(config).with_overrides(
            {"renderer": renderer, "dpi": dpi, "batch_size": batch_size, "timeout": timeout},
            {"jobs": jobs, "resume": resume or None, "retry_failed": retry_failed or None,
             "fsync": fsync or None, "executor": executor, "scheduler": scheduler})
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    if file_list != "-" and not os.path.isfile(file_list):
        raise _fail(f"{file_list}: no such file list", 2)
    if legacy_cache is not None:
        migrate(legacy_cache, cache_dir)
    code = anyio.run(_render, file_list, cache_dir, output_dir, settings, quiet, as_json,
                     backend="asyncio", backend_options={"use_uvloop": True})
    raise typer.Exit(code)


async def _render(file_list: str, cache_dir: Path, output_dir: Path, config: Config,
                  quiet: bool, as_json: bool) -> int:
    received: list[int] = []
    progress = RunProgress(enabled=not (quiet or as_json) and err.is_terminal, console=err)
    stats = RunStats()
    summary: dict[str, Any] | None = None
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_signals, tg.cancel_scope, received)
            if file_list != "-":
                tg.start_soon(_count_total, file_list, progress)
            renderer = AsyncRenderer(cache_dir, output_dir, config=config)
            try:
                with progress:
                    async with renderer:
                        stats = renderer.stats
                        async for result in renderer.render_listed(read_file_list(file_list)):
                            progress.advance(result)
            finally:
                summary = renderer.summary
            tg.cancel_scope.cancel()
    except CacheFormatError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        return 1
    except (OSError, BaseExceptionGroup) as exc:
        # Task groups wrap errors in groups: a cache that cannot be written (a full disk) stops
        # the run with its message, not a traceback.
        problem = _os_error(exc)
        if problem is None:
            raise
        err.print(f"[red]error:[/red] {problem}", highlight=False)
        return 1
    code = 128 + received[0] if received else 0
    if as_json:
        print(json.dumps({"exit_code": code, "run": _stats_json(stats), "cache": summary}))
    elif not quiet:
        _print_run_table(stats, summary, interrupted=bool(received))
    return code


def _os_error(exc: BaseException) -> OSError | None:
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _os_error(inner)) is not None:
                return found
    return None


async def _watch_signals(scope: anyio.CancelScope, received: list[int]) -> None:
    """Ctrl-C or SIGTERM: stop starting files, let the renderer write its summary, then exit."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            received.append(int(signum))
            scope.cancel()
            return


async def _count_total(file_list: str, progress: RunProgress) -> None:
    progress.set_total(await anyio.to_thread.run_sync(count_listed, file_list, abandon_on_cancel=True))


def _stats_json(stats: RunStats) -> dict[str, Any]:
    return {"files": stats.files, "skipped": stats.skipped, "by_status": stats.by_status,
            "images": stats.images, "failed_items": stats.failed_items}


def _print_run_table(stats: RunStats, summary: dict[str, Any] | None, interrupted: bool) -> None:
    table = Table(title="asyncrender: interrupted run" if interrupted else "asyncrender: run complete")
    table.add_column("")
    table.add_column("this run", justify="right")
    table.add_column("whole cache", justify="right")
    cache_files = summary["files"] if summary else {"total": "?", "by_status": {}}
    table.add_row("files", str(stats.files), str(cache_files["total"]))
    table.add_row("  skipped (resume)", str(stats.skipped), "")
    for status in ("success", "partial", "failed"):
        table.add_row(f"  {status}", str(stats.by_status[status]), str(cache_files["by_status"].get(status, "?")))
    table.add_row("images", str(stats.images), str(summary["items"]["rendered"]) if summary else "?")
    table.add_row("failed items", str(stats.failed_items), str(summary["items"]["failed"]) if summary else "?")
    Console().print(table)


@app.command()
def migrate(
    legacy_file: Annotated[Path, typer.Argument(help="The old tool's cache.json.")],
    cache_dir: CacheDir = Path("cache_dir"),
) -> None:
    """Turn an old single-file cache.json into per-file entries (existing entries are kept)."""
    try:
        report = DistributedCacheManager(cache_dir).migrate_legacy(legacy_file)
    except CacheFormatError as exc:
        raise _fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise _fail(f"{legacy_file}: cannot migrate: {exc}") from None
    err.print(f"migrated {report.migrated} entries from {legacy_file} "
              f"({report.already_present} already present, {report.malformed} malformed and skipped)",
              highlight=False)


@app.command()
def summary(
    cache_dir: CacheDir = Path("cache_dir"),
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json's content.")] = False,
) -> None:
    """Recount all entries, write summary.json and print it."""
    try:
        totals = DistributedCacheManager(cache_dir, create=False).save_summary()
    except CacheFormatError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print(json.dumps(totals, indent=2))
        return
    table = Table(title=f"asyncrender cache {cache_dir}")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("files", str(totals["files"]["total"]))
    for status, n in totals["files"]["by_status"].items():
        table.add_row(f"  {status}", str(n))
    table.add_row("images", str(totals["items"]["rendered"]))
    table.add_row("failed items", str(totals["items"]["failed"]))
    for kind, n in totals["failures_by_kind"].items():
        table.add_row(f"  {kind}", str(n))
    table.add_row("render seconds", f"{totals['render_seconds']:.1f}")
    Console().print(table)


@app.command()
def verify(
    cache_dir: CacheDir = Path("cache_dir"),
    repair: Annotated[bool, typer.Option(help="Delete bad entries (--resume renders them again), "
                                              "remove orphaned temp files, recount the summary.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check every entry and every image it lists (exit 1 if problems remain unrepaired)."""
    from asyncrender.verify import verify_cache

    try:
        report = verify_cache(cache_dir, repair=repair)
    except CacheFormatError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for problem in report.problems:
            err.print(f"{problem.entry} ({problem.key or 'unknown file'}): {problem.message}",
                      highlight=False, markup=False)
        verdict = "repaired" if repair else "found"
        err.print(f"{report.entries} entries, {report.images} images checked; {len(report.problems)} "
                  f"problems {verdict}" + (f", {report.repaired} entries deleted, "
                                          f"{report.temp_files_removed} temp files removed" if repair else ""),
                  highlight=False)
    raise typer.Exit(0 if report.ok or repair else 1)


def main() -> None:
    app()
