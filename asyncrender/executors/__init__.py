"""Where jobs run: one ``JobRunner`` protocol, a supervised local process pool, and a Dask cluster
(imported only when asked for: ``distributed`` is an optional extra)."""

from asyncrender.executors.base import JobRunner
from asyncrender.executors.local_pool import LocalPoolRunner

__all__ = ["JobRunner", "LocalPoolRunner"]
