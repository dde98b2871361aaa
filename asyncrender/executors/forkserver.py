"""The local pool's ``forkserver``: a process that imports the workers' code once and forks each
worker from itself, so a worker starts with that code loaded.

Starting it takes an interpreter start and those imports (a few tenths of a second). The CLI
starts it (``start_forkserver``) as soon as it knows the run is local, so that this happens while
the run's own code loads; the pool would otherwise start it at its first worker. Light on
purpose: it imports nothing of asyncrender.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

# What the server imports: the worker's code, the default backend's, and what the pool calls.
PRELOAD = ("asyncrender.worker.process", "asyncrender.render.latex", "asyncrender.worker.calls")


def forkserver_context() -> ForkServerContext:
    """The ``forkserver`` start method, with ``PRELOAD`` added to what its server imports (read when
    the server starts, once per process; modules a caller named are kept)."""
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    named = list(getattr(forkserver._forkserver, "_preload_modules", ["__main__"]))  # no public getter
    context.set_forkserver_preload(named + [m for m in PRELOAD if m not in named])
    return context


def start_forkserver() -> None:
    """Start the server now, if it is not running (returns once it is launched, not loaded).
    It exits when this process does."""
    forkserver_context()
    forkserver.ensure_running()
