"""The command line: an edge around the library (which never needs it).

Exit codes: 0 the run completed (item failures live in the cache), 1 it could not complete,
2 bad usage, 130 after Ctrl-C, 143 after SIGTERM. Only here (``render_run``) is uvloop chosen.

Start-up is kept short: this module imports typer and nothing heavy; each command imports what it
uses when it runs (rich, anyio, msgspec, the cache, the orchestrator), so ``asyncrender --help``
loads none of them (``tests/cli/test_startup.py``).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from asyncrender.cli.common import CacheDir, stderr_console
from asyncrender.cli.common import fail as _fail
from asyncrender.cli.outputs import export_command, failures_command, gallery_command

# Plain help (rich_markup_mode=None): typer's rich help formatting alone imports ~80 ms of rich.
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Batch LaTeX-to-PNG rendering with a crash-safe per-file cache.")
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
    claim_wait: Annotated[float | None, typer.Option(help="With --resume, seconds to wait at the end for files "
                                                     "another live run has claimed (default 600).")] = None,
) -> None:
    """Render every item of every listed file to a PNG, with one cache entry per file."""
    from asyncrender.config import ConfigError, load_config, parse_shard
    from asyncrender.storage import is_url, posix_folder, stat_url

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
    if claim_wait is not None and not 0 <= claim_wait < float("inf"):
        raise _fail(f"--claim-wait must be a number of seconds, not {claim_wait}", 2)
    runner = None
    if settings.run.executor == "local":
        from asyncrender.executors.local_pool import LocalPoolRunner

        # Before the event loop and any thread: the workers are forked from here, and load their
        # code while the run's code loads (LocalPoolRunner.start).
        runner = LocalPoolRunner(settings.run.worker_count)
        runner.start(fork=True)
    from asyncrender.cli.render_run import run_render

    raise typer.Exit(run_render(file_list, cache_dir, Path(output_dir), settings, quiet, as_json, log_file,
                                claim_wait, runner))


@app.command()
def migrate(
    legacy_file: Annotated[Path, typer.Argument(help="The old tool's cache.json.")],
    cache_dir: CacheDir = Path("cache_dir"),
) -> None:
    """Turn an old single-file cache.json into per-file entries (existing entries are kept)."""
    from asyncrender.cache.manager import CacheFormatError, DistributedCacheManager

    try:
        report = DistributedCacheManager(cache_dir).migrate_legacy(legacy_file)
    except CacheFormatError as exc:
        raise _fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise _fail(f"{legacy_file}: cannot migrate: {exc}") from None
    stderr_console().print(f"migrated {report.migrated} entries from {legacy_file} "
              f"({report.already_present} already present, {report.malformed} malformed and skipped)",
              highlight=False, soft_wrap=True, markup=False)


@app.command()
def summary(
    cache_dir: CacheDir = Path("cache_dir"),
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json's content.")] = False,
) -> None:
    """Recount all entries, write summary.json and print it."""
    from rich.console import Console

    from asyncrender.cache.manager import CacheFormatError, DistributedCacheManager
    from asyncrender.cli.outputs import summary_table

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
    from asyncrender.cache.manager import CacheFormatError
    from asyncrender.outputs.verify import verify_cache

    try:
        report = verify_cache(cache_dir, repair=repair)
    except CacheFormatError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for problem in report.problems:
            stderr_console().print(f"{problem.entry} ({problem.key or 'unknown file'}): {problem.message}",
                      highlight=False, markup=False, soft_wrap=True)
        verdict = "repaired" if repair else "found"
        stderr_console().print(f"{report.entries} entries, {report.images} images checked; {len(report.problems)} "
                  f"problems {verdict}" + (f", {report.repaired} entries deleted, "
                                          f"{report.temp_files_removed} temp files removed" if repair else ""),
                  highlight=False)
    raise typer.Exit(0 if report.ok or repair else 1)


def main() -> None:
    try:
        app()
    finally:
        # The interpreter's last collection walks every object only to free memory the exit
        # gives back anyway (~16 ms of a one-formula run); what holds a resource is closed by now.
        gc.freeze()
