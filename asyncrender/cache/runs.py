"""Which runs use a cache folder, so that ``summary.json`` is kept by per-run deltas, never wrong.

Recounting every entry at the end of every run costs as much as a ``--resume`` over the whole
cache. So a run counts what it changes instead: its *delta* is each entry it wrote minus the entry
that write replaced (as the run read it when it prepared the file: the one read the resume check
makes too), and at its end it adds the delta to the totals it read from ``summary.json`` when it
started. That sum is right only if nothing else changed the cache in the
meantime; so a run recounts every entry instead whenever it cannot be sure:

- ``summary.json`` was absent or unreadable at its start, or is not the file it read then (another
  run ended in between);
- another run was running at any moment of its own (a marker below: running now, dead without
  ending, or ended after this run started); the two runs may have written the same entries;
- ``summary.stale`` exists: entries were written outside a run (the library's ``save_file_cache``,
  a migration);
- a file listed twice in the run was in flight twice at once (prepared again before its other
  copy's entry was written: the entry read then may not be the one replaced).

Markers: ``runs/<host>.<process>.<run id>.running`` from a run's start, renamed to
``runs/<host>.<process>.<run id>.<end ns>.ended`` once its summary is written; ``<process>`` is
``processes.ProcessId.tag`` (pid, start time, boot), so a reused pid never keeps a dead run alive. After writing, a run
looks again: a run that ended after this one began its count may have written its summary before
this one's and been overwritten, so this one counts again (each repeat needs another run to end).
Ended markers go after an hour; a running marker of a dead process on this host after the recount
it forced. Two concurrent runs thus both recount, the later one last: no count is ever lost.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from asyncrender.processes import ProcessId, me, owner_of
from asyncrender.tempfiles import HOST

RUNS_DIR = "runs"
STALE_FLAG = "summary.stale"
ENDED_KEPT_NS = 3600 * 10**9
CLOCK_MARGIN_NS = 5 * 10**9  # other hosts' clocks: count an ended run as overlapping a little longer


@dataclass(frozen=True)
class Marker:
    name: str
    host: str
    owner: ProcessId
    ended_ns: int | None  # None: running (or died running)

    def ended_since(self, since_ns: int) -> bool:
        """Ended at or after ``since_ns`` (another host's clock may differ: a margin for those)."""
        margin = 0 if self.host == HOST else CLOCK_MARGIN_NS
        return self.ended_ns is not None and self.ended_ns >= since_ns - margin

    @property
    def dead(self) -> bool:
        return self.ended_ns is None and self.host == HOST and not self.owner.alive()


def parse_marker(name: str) -> Marker | None:
    if name.endswith(".running"):
        parts = name.removesuffix(".running").rsplit(".", 2)
        ended = None
    elif name.endswith(".ended"):
        parts = name.removesuffix(".ended").rsplit(".", 3)
        if len(parts) != 4 or not parts[3].isdigit():
            return None
        ended = int(parts.pop())
    else:
        return None
    owner = owner_of(parts[1]) if len(parts) == 3 else None
    return None if owner is None else Marker(name, parts[0], owner, ended)


def file_identity(path: Path) -> tuple[int, int, int] | None:
    """Which file ``path`` is now (every write of it is a rename: a new inode)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class RunMarker:
    """This run's marker in ``cache_dir/runs``."""

    def __init__(self, cache_dir: Path, run_id: str) -> None:
        self.folder = cache_dir / RUNS_DIR
        self.running = f"{HOST}.{me().tag()}.{run_id}.running"
        self.started_ns = time.time_ns()
        self.folder.mkdir(exist_ok=True)
        os.close(os.open(self.folder / self.running, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644))

    def others(self) -> list[Marker]:
        try:
            names = os.listdir(self.folder)
        except OSError:
            return []
        own = self.running.removesuffix(".running")
        found = (parse_marker(n) for n in names if not n.startswith(own + "."))
        return [m for m in found if m is not None]

    def overlapped(self, since_ns: int) -> bool:
        """Whether another run was running at any moment since ``since_ns`` (or died running)."""
        return any(m.ended_ns is None or m.ended_since(since_ns) for m in self.others())

    def ended_since(self, since_ns: int) -> bool:
        """Whether another run ended at or after ``since_ns``."""
        return any(m.ended_since(since_ns) for m in self.others())

    def end(self) -> None:
        ended = f"{self.running.removesuffix('.running')}.{time.time_ns()}.ended"
        with contextlib.suppress(OSError):
            os.replace(self.folder / self.running, self.folder / ended)

    def sweep(self) -> None:
        """Remove ended markers older than an hour and running markers of dead processes (their
        entries are counted now: the caller recounted)."""
        now = time.time_ns()
        for m in self.others():
            if m.dead or (m.ended_ns is not None and now - m.ended_ns > ENDED_KEPT_NS):
                with contextlib.suppress(OSError):
                    os.unlink(self.folder / m.name)


def mark_stale(cache_dir: Path) -> None:
    """Entries changed outside a run's delta: the next run's end recounts."""
    with contextlib.suppress(OSError):
        os.close(os.open(cache_dir / STALE_FLAG, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def take_stale(cache_dir: Path) -> bool:
    """Whether the stale flag was set; it is cleared before the recount that answers it, so a write
    during that recount sets it again."""
    flag = cache_dir / STALE_FLAG
    taken = flag.with_name(f"{STALE_FLAG}.{HOST}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        os.rename(flag, taken)
    except OSError:
        return False
    with contextlib.suppress(OSError):
        os.unlink(taken)
    return True
