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
from typing import Annotated

import anyio
import typer
from rich.console import Console
from rich.table import Table

from asyncrender.cache.manager import CacheFormatError, DistributedCacheManager, utc_now
from asyncrender.cache.summary import Summary
from asyncrender.cli.common import CacheDir, err
from asyncrender.cli.common import fail as _fail
from asyncrender.cli.common import print_error as _error
from asyncrender.cli.outputs import export_command, failures_command, gallery_command, summary_table
from asyncrender.cli.progress import RunProgress
from asyncrender.cli.runlog import RunLog, end_event, file_events, start_event
from asyncrender.config import Config, ConfigError, load_config, parse_shard
from asyncrender.inputs.filelist import count_listed, read_file_list
from asyncrender.model import STATUSES, Status
from asyncrender.outputs.failures import entry_failures, error_line
from asyncrender.run.renderer import CLAIM_WAIT, AsyncRenderer
from asyncrender.run.results import FileResult, RunStats
from asyncrender.storage import is_url, posix_folder, stat_url

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Batch LaTeX-to-PNG rendering with a "
                  "crash-safe per-file cache.")
log = logging.getLogger("asyncrender")
app.command("export")(export_command)
app.command("failures")(failures_command)
app.command("gallery")(gallery_command)


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.ERROR if quiet else logging.WARNING)


@app.command()
def render(
    file_list: Annotated[str, typer.Argument(help="File listing extracted JSON files, one per line; - for stdin.")],
    cache_dir: CacheDir = Path("cache_dir"),
    output_dir: Annotated[str, typer.Option("--output-dir", "-o", help="Where PNGs go (a local or network "
                                            "folder).")] = "rendered",
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: CPU count).")] = None,
    resume: Annotated[bool, typer.Option(help="Skip files whose entry is valid for the input and settings.")] = False,
    retry_failed: Annotated[bool, typer.Option(help="With --resume, render failed and partial files again.")] = False,
    fsync: Annotated[bool, typer.Option(help="fsync each entry and its folder (survives power loss).")] = False,
    legacy_cache: Annotated[Path | None, typer.Option(help="Migrate this old single-file cache.json first.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Settings file (TOML).")] = None,
    renderer: Annotated[str | None, typer.Option(help="auto, latex or mathtext.")] = None,
    dpi: Annotated[int | None, typer.Option(help="Resolution of the PNGs.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Items per TeX run.")] = None,
    image_mode: Annotated[str | None, typer.Option(help="native, P, L, RGB or RGBA.")] = None,
    pad_to_multiple: Annotated[int | None, typer.Option(help="Grow images to a multiple of N pixels.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds one TeX run may take.")] = None,
    executor: Annotated[str | None, typer.Option(help="local, dask or dask-local.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (tcp://host:port).")] = None,
    shard: Annotated[str | None, typer.Option(help="I/N: render shard I of N (split by key).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run's totals as JSON.")] = False,
    log_file: Annotated[Path | None, typer.Option(help="Append a structured log (JSON lines) here.")] = None,
    claim_wait: Annotated[float, typer.Option(help="With --resume, seconds to wait at the end for files "
                                              "another live run has claimed.")] = CLAIM_WAIT,
) -> None:
    """Render every item of every listed file to a PNG, with one cache entry per file."""
    _setup_logging(quiet or as_json)
    try:
        settings = load_config(config).with_overrides(
            {"renderer": renderer, "dpi": dpi, "batch_size": batch_size, "timeout": timeout,
             "image_mode": image_mode, "pad_to_multiple": pad_to_multiple},
            {"jobs": jobs, "resume": resume or None, "retry_failed": retry_failed or None,
             "fsync": fsync or None, "executor": executor, "scheduler": scheduler,
             "shard": parse_shard(shard) if shard is not None else None})
        if settings.run.executor != "local":
            import asyncrender.executors.dask_cluster  # noqa: F401  (a ConfigError when Dask is not installed)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    try:
        posix_folder(cache_dir, "the cache folder (-c)")
        posix_folder(output_dir, "the output folder (-o)")
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    if is_url(file_list):
        try:
            stat_url(file_list)
        except OSError as exc:
            raise _fail(f"cannot read the file list: {exc}", 2) from None
    elif file_list != "-" and not os.path.isfile(file_list):
        raise _fail(f"{file_list}: no such file list", 2)
    if legacy_cache is not None:
        migrate(legacy_cache, cache_dir)
    if not 0 <= claim_wait < float("inf"):
        raise _fail(f"--claim-wait must be a number of seconds, not {claim_wait}", 2)
    code = anyio.run(_render, file_list, cache_dir, Path(output_dir), settings, quiet, as_json, log_file, claim_wait,
                     backend="asyncio", backend_options={"use_uvloop": True})
    raise typer.Exit(code)


async def _render(file_list: str, cache_dir: Path, output_dir: Path, config: Config,
                  quiet: bool, as_json: bool, log_file: Path | None, claim_wait: float) -> int:
    if log_file is None:
        return await _render_run(file_list, cache_dir, output_dir, config, quiet, as_json, None, claim_wait)
    try:
        runlog = await RunLog(log_file).open()
    except OSError as exc:
        _error(f"{log_file}: cannot open the log: {exc.strerror or exc}")
        return 1
    try:
        code = await _render_run(file_list, cache_dir, output_dir, config, quiet, as_json, runlog, claim_wait)
    except BaseException as exc:  # a crash still ends the log, with what it was
        await runlog.write(end_event(utc_now(), exit_code=1, interrupted=False, run=None, cache=None,
                                     error=f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        await runlog.aclose()
    if runlog.failure is not None:  # e.g. --log-file /dev/full: the run went on, its log is lost
        _error(runlog.failure)
        return code or 1
    return code


async def _render_run(file_list: str, cache_dir: Path, output_dir: Path, config: Config,
                      quiet: bool, as_json: bool, runlog: RunLog | None, claim_wait: float) -> int:
    received: list[int] = []
    progress = RunProgress(enabled=not (quiet or as_json) and err.is_terminal, console=err)
    stats = RunStats()
    summary: Summary | None = None
    problems: list[BaseException] = []
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_signals, tg.cancel_scope, received)
            if file_list != "-":
                tg.start_soon(_count_total, file_list, progress)
            renderer = AsyncRenderer(cache_dir, output_dir, config=config, claim_wait=claim_wait)
            try:
                with progress:
                    async with renderer:
                        stats = renderer.stats
                        if runlog:
                            await runlog.write(start_event(
                                utc_now(), file_list=file_list, cache_dir=str(cache_dir),
                                output_dir=str(renderer.output_dir), config=renderer.config_fingerprint))
                        async for result in renderer.render_listed(read_file_list(file_list)):
                            progress.advance(result)
                            if not result.rendered:  # the run will not be complete: say which file
                                _report_unrendered(progress, result, stats)
                            if not (quiet or as_json or result.skipped):
                                for row in entry_failures(result.entry) if result.entry else []:
                                    progress.error(error_line(row))
                            if runlog:
                                await runlog.write(*file_events(result, utc_now()))
            finally:
                summary = renderer.summary
            tg.cancel_scope.cancel()
    except* (CacheFormatError, ConfigError, OSError) as group:
        problems.extend(_leaves(group))
    for problem in problems:
        _error(str(problem))
    if problems:  # bad settings (cache and output folders that overlap, a bad scheduler): usage
        usage = all(isinstance(p, ConfigError) for p in problems)
        return await _end_log(runlog, 2 if usage else 1, stats, None, bool(received))
    incomplete = stats.claimed + stats.refused
    if incomplete and not received:
        _error(f"{incomplete} listed files were not rendered (see above); run again with --resume")
    code = 128 + received[0] if received else (1 if incomplete else 0)
    code = await _end_log(runlog, code, stats, summary, bool(received))
    if as_json:
        print(json.dumps({"exit_code": code, "run": stats.as_record(), "cache": summary}))
    elif not quiet:
        _print_run_table(stats, summary, "interrupted run" if received else
                         "incomplete run" if incomplete else "run complete")
    return code


async def _end_log(runlog: RunLog | None, code: int, stats: RunStats, summary: Summary | None,
                   interrupted: bool) -> int:
    if runlog is not None:
        await runlog.write(end_event(utc_now(), exit_code=code, interrupted=interrupted,
                                     run=stats.as_record(), cache=summary), flush=True)
        await runlog.aclose()
    return code


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    return [leaf for e in group.exceptions for leaf in (_leaves(e) if isinstance(e, BaseExceptionGroup) else [e])]


async def _watch_signals(scope: anyio.CancelScope, received: list[int]) -> None:
    """Ctrl-C or SIGTERM: stop starting files, let the renderer write its summary, then exit."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            received.append(int(signum))
            scope.cancel()
            return


async def _count_total(file_list: str, progress: RunProgress) -> None:
    progress.set_total(await anyio.to_thread.run_sync(count_listed, file_list, abandon_on_cancel=True))


MAX_UNRENDERED_LINES = 20


def _report_unrendered(progress: RunProgress, result: FileResult, stats: RunStats) -> None:
    """One error line per file the run could not render (the first ``MAX_UNRENDERED_LINES``)."""
    shown = stats.claimed + stats.refused  # this result is counted already
    if shown <= MAX_UNRENDERED_LINES:
        progress.error(f"{result.key}: not rendered: {result.reason}")
    if shown == MAX_UNRENDERED_LINES:
        progress.error("... (further files not rendered are only counted)")


def _print_run_table(stats: RunStats, summary: Summary | None, outcome: str) -> None:
    table = Table(title=f"asyncrender: {outcome}")
    table.add_column("")
    table.add_column("this run", justify="right")
    table.add_column("whole cache", justify="right")
    by_status: dict[Status, int] = summary["files"]["by_status"] if summary else {}
    table.add_row("files", str(stats.files), str(summary["files"]["total"]) if summary else "?")
    table.add_row("  skipped (resume)", str(stats.skipped), "")
    for status in STATUSES:
        table.add_row(f"  {status}", str(stats.by_status[status]), str(by_status.get(status, "?")))
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
              highlight=False, soft_wrap=True, markup=False)


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
    except OSError as exc:  # e.g. summary.json is a folder
        raise _fail(f"{cache_dir / 'summary.json'}: cannot write: {exc.strerror or exc}") from None
    if as_json:
        print(json.dumps(totals, indent=2))
        return
    Console().print(summary_table(totals, cache_dir))


@app.command()
def verify(
    cache_dir: CacheDir = Path("cache_dir"),
    repair: Annotated[bool, typer.Option(help="Delete bad entries (--resume renders them again), "
                                              "remove orphaned temp files, recount the summary.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check every entry and every image it lists (exit 1 if problems remain unrepaired)."""
    from asyncrender.outputs.verify import verify_cache

    try:
        report = verify_cache(cache_dir, repair=repair)
    except CacheFormatError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for problem in report.problems:
            err.print(f"{problem.entry} ({problem.key or 'unknown file'}): {problem.message}",
                      highlight=False, markup=False, soft_wrap=True)
        verdict = "repaired" if repair else "found"
        err.print(f"{report.entries} entries, {report.images} images checked; {len(report.problems)} "
                  f"problems {verdict}" + (f", {report.repaired} entries deleted, "
                                          f"{report.temp_files_removed} temp files removed" if repair else ""),
                  highlight=False)
    raise typer.Exit(0 if report.ok or repair else 1)


def main() -> None:
    app()
