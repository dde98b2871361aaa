"""Issue 12, item 3: every process a run starts dies with it (workers, the forkserver, the resource
tracker, and TeX, which runs in a session of its own), and scratch folders of dead processes are
swept by the next run. Also item 10: no POSIX semaphore of the run's pool is left in /dev/shm.

An item loops forever (``\\def\\x{\\x}\\x``) under a long timeout, so TeX is busy when the run is
stopped: by SIGKILL of the orchestrator alone (nothing of it can clean up), SIGTERM to the
orchestrator alone, or Ctrl-C (SIGINT to the run's process group: TeX is not in it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

import pytest

from asyncrender.render.latex import tex_available
from tests.reliability.support import cli_args, descendants, kill_group, run_cli, start_cli, wait_dead

pytestmark = pytest.mark.skipif(not tex_available(), reason="needs TeX Live")
LOOP = r"\def\x{\x}\x"


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return ""


def _semaphores(pids: list[int]) -> set[str]:
    """The named POSIX semaphores (``/dev/shm/sem.*``) these processes have mapped, and whose names
    still exist. A pool whose workers the CLI forked unlinks each name as it makes it (nothing to
    leak); a forkserver pool's names live until multiprocessing's resource tracker unlinks them."""
    names = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        names |= {line.split()[-1] for line in maps.splitlines()
                  if "/dev/shm/sem." in line and not line.endswith("(deleted)")}
    return names


def _latex_args(listing: Path, cache: Path, out: Path, *extra: str) -> list[str]:
    args = cli_args(listing, cache, out, "--timeout", "900", "-j", "1", *extra)
    args[args.index("mathtext")] = "latex"
    return args


@pytest.mark.parametrize("how", ["sigkill_orchestrator", "sigterm_orchestrator", "sigint_group"])
def test_nothing_a_run_started_outlives_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("ASYNCRENDER_SCRATCH", str(scratch))
    (tmp_path / "loop_extracted.json").write_text(json.dumps({"items": [{"id": "loop", "latex": LOOP}]}))
    listing = tmp_path / "list.txt"
    listing.write_text("loop_extracted.json\n")
    cache, out, log = tmp_path / "cache", tmp_path / "out", tmp_path / "log"
    proc = start_cli(_latex_args(listing, cache, out), log)
    started: list[int] = []
    try:
        deadline = time.monotonic() + 180  # a first run builds the format first
        while not any(_command(p) == "latex" for p in descendants(proc.pid)):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "TeX never started"
            time.sleep(0.1)
        started = descendants(proc.pid)
        semaphores = _semaphores([proc.pid, *started])
        assert os.listdir(scratch)

        if how == "sigkill_orchestrator":
            proc.send_signal(signal.SIGKILL)
        elif how == "sigterm_orchestrator":
            proc.send_signal(signal.SIGTERM)
        else:
            kill_group(proc, signal.SIGINT)
        code = proc.wait(timeout=60)
        assert code == {"sigkill_orchestrator": -9, "sigterm_orchestrator": 143, "sigint_group": 130}[how]
        left = wait_dead(started, within=60)
        assert left == [], [(p, _command(p)) for p in left]
        assert [s for s in semaphores if os.path.exists(s)] == []
    finally:  # on a failure, leave nothing behind
        kill_group(proc)
        for pid in [*started, *descendants(proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    # The loop's work folder was left by a killed TeX: the next run removes it.
    (tmp_path / "loop_extracted.json").write_text(json.dumps({"items": [{"id": "ok", "latex": "x^2"}]}))
    done = run_cli(_latex_args(listing, cache, out))
    assert done.returncode == 0, done.stderr.decode()
    assert os.listdir(scratch) == []
