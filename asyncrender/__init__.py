"""asyncrender: batch LaTeX-to-PNG rendering with a crash-safe per-file cache.

The public API::

    from asyncrender import AsyncRenderer, DistributedCacheManager

    async with AsyncRenderer(cache_dir="cache", output_dir="rendered", jobs=4) as r:
        async for result in r.render(paths):
            ...

Every type that ``AsyncRenderer`` and ``DistributedCacheManager`` (the cache store; the old tool's
name) take or return is importable from here. ``docs/architecture.md`` maps the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncrender.lazy import exports

if TYPE_CHECKING:  # the names, for type checkers and readers; at run time they load on first use
    from asyncrender.cache.claims import Held, Holder
    from asyncrender.cache.manager import (
        CacheFormatError,
        CacheWriteError,
        DistributedCacheManager,
        MigrationReport,
        RunStart,
        ScannedEntry,
    )
    from asyncrender.cache.runs import RunMarker
    from asyncrender.cache.summary import Summary, SummaryBuilder
    from asyncrender.config import Config, ConfigError, RenderSettings, RunSettings, load_config
    from asyncrender.executors.base import JobRunner
    from asyncrender.executors.local_pool import LocalPoolRunner
    from asyncrender.inputs.filelist import read_file_list
    from asyncrender.model import (
        CacheEntry,
        ConfigRecord,
        ErrorKind,
        ErrorRecord,
        FileOutcome,
        ImageRecord,
        InputError,
        InputRecord,
        ItemType,
        ListedFile,
        RenderJob,
        Status,
    )
    from asyncrender.run.renderer import AsyncRenderer
    from asyncrender.run.results import FileResult, RunStats, RunTotals

# Each public name and the module it lives in: ``import asyncrender`` stays cheap (the CLI's
# start-up and ``--help`` need none of it), and a name's module is imported when it is first used.
_EXPORTS = {
    "Held": "asyncrender.cache.claims",
    "Holder": "asyncrender.cache.claims",
    "AsyncRenderer": "asyncrender.run.renderer",
    "CacheEntry": "asyncrender.model",
    "CacheFormatError": "asyncrender.cache.manager",
    "CacheWriteError": "asyncrender.cache.manager",
    "Config": "asyncrender.config",
    "ConfigError": "asyncrender.config",
    "ConfigRecord": "asyncrender.model",
    "DistributedCacheManager": "asyncrender.cache.manager",
    "ErrorKind": "asyncrender.model",
    "ErrorRecord": "asyncrender.model",
    "FileOutcome": "asyncrender.model",
    "FileResult": "asyncrender.run.results",
    "ImageRecord": "asyncrender.model",
    "InputError": "asyncrender.model",
    "InputRecord": "asyncrender.model",
    "ItemType": "asyncrender.model",
    "JobRunner": "asyncrender.executors.base",
    "ListedFile": "asyncrender.model",
    "LocalPoolRunner": "asyncrender.executors.local_pool",
    "MigrationReport": "asyncrender.cache.manager",
    "RenderJob": "asyncrender.model",
    "RenderSettings": "asyncrender.config",
    "RunSettings": "asyncrender.config",
    "RunMarker": "asyncrender.cache.runs",
    "RunStart": "asyncrender.cache.manager",
    "RunStats": "asyncrender.run.results",
    "RunTotals": "asyncrender.run.results",
    "ScannedEntry": "asyncrender.cache.manager",
    "Status": "asyncrender.model",
    "Summary": "asyncrender.cache.summary",
    "SummaryBuilder": "asyncrender.cache.summary",
    "load_config": "asyncrender.config",
    "read_file_list": "asyncrender.inputs.filelist",
}


__getattr__ = exports(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "AsyncRenderer",
    "CacheEntry",
    "CacheFormatError",
    "CacheWriteError",
    "Config",
    "ConfigError",
    "ConfigRecord",
    "DistributedCacheManager",
    "ErrorKind",
    "ErrorRecord",
    "FileOutcome",
    "FileResult",
    "Held",
    "Holder",
    "ImageRecord",
    "InputError",
    "InputRecord",
    "ItemType",
    "JobRunner",
    "ListedFile",
    "LocalPoolRunner",
    "MigrationReport",
    "RenderJob",
    "RenderSettings",
    "RunMarker",
    "RunSettings",
    "RunStart",
    "RunStats",
    "RunTotals",
    "ScannedEntry",
    "Status",
    "Summary",
    "SummaryBuilder",
    "load_config",
    "read_file_list",
]
__version__ = "0.1.0"
