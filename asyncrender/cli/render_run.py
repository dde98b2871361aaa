"""What ``asyncrender render`` runs once its options are checked: the run in the event loop, the
progress bar, the run log, the closing table and the exit code. Imported only by that command, so
``--help`` and the other commands never load the orchestrator.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import anyio

from asyncrender.cache.manager import CacheFormatError, utc_now
from asyncrender.cache.summary import Summary
from asyncrender.cli.common import print_error as _error
from asyncrender.cli.common import stderr_console
from asyncrender.cli.progress import RunProgress
from asyncrender.cli.runlog import RunLog, end_event, file_events, start_event
from asyncrender.config import Config, ConfigError
from asyncrender.executors.local_pool import LocalPoolRunner
from asyncrender.inputs.filelist import count_listed, read_file_list
from asyncrender.model import STATUSES, Status
from asyncrender.outputs.failures import entry_failures, error_line
from asyncrender.run.renderer import AsyncRenderer
from asyncrender.run.results import FileResult, RunStats


def run_render(file_list: str, cache_dir: Path, output_dir: Path, config: Config, quiet: bool, as_json: bool,
               log_file: Path | None, claim_wait: float | None, runner: LocalPoolRunner | None = None) -> int:
    """The run, in an event loop of its own (uvloop); its exit code. ``runner``, if given, is
    the run's pool, started already (it closes it), else the run makes one."""
    try:
        return anyio.run(_render, file_list, cache_dir, output_dir, config, quiet, as_json, log_file, claim_wait,
                         runner, backend="asyncio", backend_options={"use_uvloop": True})
    finally:
        if runner is not None:  # stopped here if the run never began (a log it could not open)
            runner.terminate()  # else already closed: then a no-op


async def _render(file_list: str, cache_dir: Path, output_dir: Path, config: Config, quiet: bool, as_json: bool,
                  log_file: Path | None, claim_wait: float | None, runner: LocalPoolRunner | None) -> int:
    if log_file is None:
        return await _render_run(file_list, cache_dir, output_dir, config, quiet, as_json, None, claim_wait, runner)
    try:
        runlog = await RunLog(log_file).open()
    except OSError as exc:
        _error(f"{log_file}: cannot open the log: {exc.strerror or exc}")
        return 1
    try:
        code = await _render_run(file_list, cache_dir, output_dir, config, quiet, as_json, runlog, claim_wait,
                                 runner)
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


async def _render_run(file_list: str, cache_dir: Path, output_dir: Path, config: Config, quiet: bool,
                      as_json: bool, runlog: RunLog | None, claim_wait: float | None, runner: LocalPoolRunner | None
                      ) -> int:
    received: list[int] = []
    shown = not (quiet or as_json)  # quiet: no console made, no rich imported until an error
    progress = RunProgress(enabled=shown and stderr_console().is_terminal,
                           console=stderr_console() if shown else None)
    stats = RunStats()
    summary: Summary | None = None
    problems: list[BaseException] = []
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_signals, tg.cancel_scope, received)
            if file_list != "-":
                tg.start_soon(_count_total, file_list, progress)
            renderer = AsyncRenderer(cache_dir, output_dir, config=config, claim_wait=claim_wait, runner=runner,
                                     owns_runner=True)
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
    from rich.console import Console
    from rich.table import Table

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
