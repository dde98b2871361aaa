"""How the local pool's workers start: forked from the orchestrator while it has a single thread
(``forkable``), else from multiprocessing's ``forkserver``, a process that imports the workers'
code once and forks each worker from itself, so a worker starts with that code loaded.

Starting the forkserver takes an interpreter start and those imports, and it brings multiprocessing's
resource tracker, another interpreter (together ~0.15 s of CPU here). The CLI forks the workers
itself before its event loop starts (``LocalPoolRunner.start(fork=True)``); a library caller's pool,
and every pool rebuilt after a worker died, use the forkserver. Light on purpose: it imports
nothing of asyncrender.
"""

from __future__ import annotations

import multiprocessing
import os
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


def forkable() -> bool:
    """Whether this process can fork safely: it has one thread, counted by the kernel (a thread a
    C library started counts too; ``threading`` knows only Python's)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: not known, so not safe
        return False
