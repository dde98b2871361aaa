"""asyncrender: batch LaTeX-to-PNG rendering with a crash-safe per-file cache.

The public API::

    from asyncrender import AsyncRenderer, DistributedCacheManager

    async with AsyncRenderer(cache_dir="cache", output_dir="rendered", jobs=4) as r:
        async for result in r.render(paths):
            ...

Every type that ``AsyncRenderer`` and ``DistributedCacheManager`` (the cache store; the old tool's
name) take or return is importable from here. ``docs/architecture.md`` maps the package.
"""

from asyncrender.cache.manager import (
    CacheFormatError,
    CacheWriteError,
    DistributedCacheManager,
    MigrationReport,
    ScannedEntry,
)
from asyncrender.cache.summary import Summary
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
    "RunSettings",
    "RunStats",
    "RunTotals",
    "ScannedEntry",
    "Status",
    "Summary",
    "load_config",
    "read_file_list",
]
__version__ = "0.1.0"
