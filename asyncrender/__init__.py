"""asyncrender: batch LaTeX-to-PNG rendering with a crash-safe per-file cache.

The public API::

    from asyncrender import AsyncRenderer, DistributedCacheManager

    async with AsyncRenderer(cache_dir="cache", output_dir="rendered", jobs=4) as r:
        async for result in r.render(paths):
            ...
"""

from asyncrender.cache.manager import CacheFormatError, DistributedCacheManager, MigrationReport
from asyncrender.config import Config, ConfigError, RenderSettings, RunSettings, load_config
from asyncrender.inputs.filelist import read_file_list
from asyncrender.model import InputError
from asyncrender.run.renderer import AsyncRenderer
from asyncrender.run.results import FileResult, RunStats

__all__ = [
    "AsyncRenderer",
    "CacheFormatError",
    "Config",
    "ConfigError",
    "DistributedCacheManager",
    "FileResult",
    "InputError",
    "MigrationReport",
    "RenderSettings",
    "RunSettings",
    "RunStats",
    "load_config",
    "read_file_list",
]
__version__ = "0.1.0"
