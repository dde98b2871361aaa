"""Point 1: ``kill -9`` of the whole run (its process group) at random moments, ``--resume`` after each.

CI kills 5 times; ``ASYNCRENDER_SOAK=1 python -m pytest tests/test_crash_safety.py`` kills 20 times
on a larger corpus. In the end every file has a valid entry, no entry is corrupt, every listed
image is a whole PNG, no temp file survives, and no entry written before a kill was ever written
again (work redone is only what had no entry yet: what was in flight).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from asyncrender.cache.manager import DistributedCacheManager
from tests.reliability.support import (
    SOAK,
    audit,
    cli_args,
    entry_count,
    kill_group,
    make_corpus,
    run_cli,
    start_cli,
    temp_files,
    wait_session_empty,
)

KILLS = 20 if SOAK else 5


def finished(cache: Path) -> dict[str, str]:
    """``finished_at`` of every entry; a corrupt one fails the test."""
    if not (cache / "metadata.json").exists():
        return {}
    out = {}
    for scanned in DistributedCacheManager(cache, create=False).scan():
        assert scanned.entry is not None, f"corrupt entry after kill -9: {scanned.path}: {scanned.problem}"
        out[scanned.entry["file"]] = scanned.entry["finished_at"]
    return out


@pytest.mark.timeout(600 if SOAK else 240)
def test_kill_9_at_random_moments_then_resume(tmp_path: Path) -> None:
    listing = make_corpus(tmp_path / "in", files=150 if SOAK else 40, items=6)
    keys = [line for line in listing.read_text().split("\n") if line]
    cache, out = tmp_path / "cache", tmp_path / "out"
    rng = random.Random(20240501)
    seen: dict[str, str] = {}
    killed_mid_run = 0
    for _ in range(KILLS):
        # A random moment of the run, whatever this machine's speed: once a random number of the
        # files still missing have their entry (0: during start-up), then a random few ms more.
        target = len(seen) + rng.randrange(0, max(1, len(keys) - len(seen) - 1))
        proc = start_cli(cli_args(listing, cache, out, "--resume"))
        deadline = time.monotonic() + 120
        while proc.poll() is None and entry_count(cache) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.05))
        if proc.poll() is None:
            killed_mid_run += 1
        kill_group(proc)
        proc.wait()
        assert wait_session_empty(proc.pid) == [], "a process of the killed run survived"
        now = finished(cache)
        for key, when in seen.items():
            assert now.get(key) == when, f"{key}: an entry written before a kill was lost or rewritten"
        seen = now
    assert killed_mid_run >= 1, "no kill landed mid-run: the corpus is too small for this machine"

    done = run_cli(cli_args(listing, cache, out, "--resume", "--json"))
    assert done.returncode == 0, done.stderr.decode()
    run = json.loads(done.stdout)["run"]
    # Only files without an entry were rendered again.
    assert (run["skipped"], run["files"]) == (len(seen), len(keys)), run
    entries = audit(cache, keys)
    assert {k: entries[k]["finished_at"] for k in seen} == seen
    bad = {k: e["errors"] for k, e in entries.items() if e["status"] != "success"}
    assert bad == {}
    assert temp_files(cache, out) == [], [str(p) for p in temp_files(cache, out)]
