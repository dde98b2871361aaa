"""Point 8: two runs on one cache folder (and one output folder) at once.

Entries are written through uniquely named temp files (host, pid, random) and an atomic rename,
so two writers of one entry never interleave: the last rename wins, whole. No lock anywhere.
What remains is duplicate work: a file both runs prepare before either wrote its entry is
rendered twice (see the README's Reliability section).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.support import audit, cli_args, make_corpus, start_cli, temp_files, wait_session_empty


def test_two_runs_on_one_cache_lose_and_corrupt_nothing(tmp_path: Path) -> None:
    listing = make_corpus(tmp_path / "in", files=40, items=3)
    keys = [line for line in listing.read_text().split("\n") if line]
    cache, out = tmp_path / "cache", tmp_path / "out"
    logs = [tmp_path / "a.json", tmp_path / "b.json"]
    procs = [start_cli(cli_args(listing, cache, out, "--resume", "--json"), log) for log in logs]
    for proc, log in zip(procs, logs, strict=True):
        assert proc.wait(timeout=240) == 0, log.read_text()
        assert wait_session_empty(proc.pid) == []
    runs = [json.loads(log.read_text().strip().splitlines()[-1])["run"] for log in logs]
    assert all(run["files"] == len(keys) for run in runs)
    entries = audit(cache, keys)
    assert len(entries) == len(keys) and all(e["status"] == "success" for e in entries.values())
    assert temp_files(cache, out) == []
    # Rendered by either run: at least every file once; the rest was skipped thanks to --resume.
    assert sum(run["files"] - run["skipped"] for run in runs) >= len(keys)
