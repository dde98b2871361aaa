"""Where jobs run: one ``JobRunner`` protocol, a supervised local process pool, and a Dask cluster
(imported only when asked for: ``distributed`` is an optional extra).

Its names load on first use, so that ``executors.forkserver`` can start the pool's server before
the rest of a run's code is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncrender.lazy import exports

if TYPE_CHECKING:
    from asyncrender.executors.base import JobRunner
    from asyncrender.executors.local_pool import LocalPoolRunner

_EXPORTS = {"JobRunner": "asyncrender.executors.base", "LocalPoolRunner": "asyncrender.executors.local_pool"}


__getattr__ = exports(__name__, _EXPORTS)


__all__ = ["JobRunner", "LocalPoolRunner"]
