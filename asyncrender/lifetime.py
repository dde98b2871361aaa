"""Every process a run starts dies with it: its workers, the forkserver, and TeX; and the scratch
folders of dead processes are swept.

The process tree of a local run from the CLI, and (after a worker died, or in a library caller's
run) with the forkserver::

    orchestrator ─── workers (forked by the orchestrator) ── latex / dvipng (own session)
    orchestrator ─┬─ forkserver ── workers (forked by the forkserver) ── latex / dvipng (own session)
                  └─ resource tracker

- A worker watches the orchestrator (``watch_orchestrator``: its pid and start time, twice a
  second) and kills itself when it is gone; it also asks the kernel to kill it when its parent, the
  orchestrator or the forkserver, dies (``PR_SET_PDEATHSIG``). The forkserver and the resource tracker end by themselves
  once the orchestrator and the workers are gone (each waits for EOF on a pipe they all hold), and
  the tracker then unlinks the pool's POSIX semaphores.
- TeX runs in a session of its own, so that its timeout can kill its whole group; the same session
  keeps it out of the run's process group, so a Ctrl-C or a group kill does not reach it. So it is
  started with ``die_with_parent`` (``preexec_fn``): the kernel kills it when its worker dies.
- Each ``prctl`` is followed by a check that the parent is still the expected one: a parent that
  died before the call would never deliver the signal.

Scratch folders are named ``asyncrender-<kind>-<pid>-<start>-<boot>-<random>`` (``scratch_prefix``),
so ``sweep_scratch`` can tell the folders of dead processes (removed) from live ones (kept) and
from folders of other machines or boots sharing the place (kept).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable

from asyncrender.processes import ProcessId, me

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5
SCRATCH_PREFIX = "asyncrender-"


def _find_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None
    return prctl


# Looked up once, before any fork: a child between fork and exec only makes the call.
_PRCTL = _find_prctl()


def die_with_parent(expected_parent: int | None = None) -> None:
    """Have the kernel SIGKILL this process when its parent ends; if the parent has ended already
    (this process was re-parented to ``expected_parent``'s heir before the call), die now."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if expected_parent is not None and os.getppid() != expected_parent:
        os.kill(os.getpid(), signal.SIGKILL)


def child_dies_with_me() -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child dies when this process does."""
    return functools.partial(die_with_parent, os.getpid())


def watch_orchestrator(orchestrator: ProcessId) -> None:
    """In a worker: kill this process as soon as ``orchestrator`` is gone (a daemon thread)."""
    if not orchestrator.alive():
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        while orchestrator.alive():
            time.sleep(WATCH_SECONDS)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="asyncrender-watchdog", daemon=True).start()


def scratch_root() -> str | None:
    """Where TeX's private work folders go: ``$ASYNCRENDER_SCRATCH``, else ``/dev/shm`` (memory)
    when it is there, else the system temp folder.

    A batch creates a file per item and dvipng a PNG per item; on this machine's disk a create costs
    20 us, or 0.6 ms for minutes after many deletions (BENCHMARKS.md 8, round 4), in memory ~10 us.
    """
    explicit = os.environ.get("ASYNCRENDER_SCRATCH")
    if explicit:
        return explicit
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK) else None


def scratch_prefix(kind: str) -> str:
    """The prefix of this process's scratch folders (``tempfile.mkdtemp(prefix=...)``)."""
    return f"{SCRATCH_PREFIX}{kind}-{me().tag()}-"


def _owner(name: str) -> ProcessId | None:
    """The process a scratch folder's name says made it (None: not a name ``scratch_prefix`` makes)."""
    if not name.startswith(SCRATCH_PREFIX):
        return None
    parts = name[len(SCRATCH_PREFIX) :].split("-")
    if len(parts) < 5:  # kind, pid, start, boot, random (the random part may hold "-" too)
        return None
    return ProcessId.from_tag("-".join(parts[1:4]))


def sweep_scratch(roots: Iterable[str]) -> int:
    """Remove the scratch folders of dead processes of this boot under ``roots``; how many."""
    removed = 0
    for root in dict.fromkeys(roots):
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            owner = _owner(name)
            if owner is None or owner.boot.startswith("other:") or owner.alive():
                continue
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                    removed += 1
    return removed
