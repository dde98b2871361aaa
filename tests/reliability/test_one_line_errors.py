"""Issue 12, item 8: every error of the command is one line naming the file, never a traceback, and
the exit status is the documented one (1: the run could not complete, 2: bad usage)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from asyncrender.model import key_digest
from tests.reliability.support import cli_args, run_cli


def _render(tmp_path: Path, *extra: str, cache: str = "cache", out: str = "out") -> list[str]:
    return cli_args(tmp_path / "list.txt", tmp_path / cache, tmp_path / out, *extra)


def _entries(tmp_path: Path) -> Path:
    done = run_cli(_render(tmp_path))
    assert done.returncode == 0, done.stderr.decode()
    return tmp_path / "cache" / "file_caches"


def log_to_dev_full(tmp_path: Path) -> list[str]:
    return _render(tmp_path, "--log-file", "/dev/full")


def bogus_scheduler(tmp_path: Path) -> list[str]:
    return _render(tmp_path, "--executor", "dask", "--scheduler", "bogus://x")


def scheduler_without_address(tmp_path: Path) -> list[str]:
    return _render(tmp_path, "--executor", "dask", "--scheduler", "tcp://")


def export_to_dot(tmp_path: Path) -> list[str]:
    _entries(tmp_path)
    return [sys.executable, "-m", "asyncrender", "export", "-c", str(tmp_path / "cache"), "-o", "."]


def file_caches_is_a_file(tmp_path: Path) -> list[str]:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "file_caches").write_text("")
    return _render(tmp_path)


def summary_json_is_a_folder(tmp_path: Path) -> list[str]:
    _entries(tmp_path)
    (tmp_path / "cache" / "summary.json").unlink()
    (tmp_path / "cache" / "summary.json").mkdir()
    return [sys.executable, "-m", "asyncrender", "summary", "-c", str(tmp_path / "cache")]


def summary_json_is_a_folder_at_the_end_of_a_run(tmp_path: Path) -> list[str]:
    summary_json_is_a_folder(tmp_path)
    return _render(tmp_path)


def entry_is_a_folder(tmp_path: Path) -> list[str]:
    entry = _entries(tmp_path) / f"{key_digest('a_extracted.json')}.cache"
    entry.unlink()
    entry.mkdir()
    return _render(tmp_path, "--resume")


def claim_is_a_folder(tmp_path: Path) -> list[str]:
    (tmp_path / "cache" / "file_caches").mkdir(parents=True)
    (tmp_path / "cache" / "file_caches" / f"{key_digest('a_extracted.json')}.claim").mkdir()
    (tmp_path / "cache" / "metadata.json").write_text(json.dumps({"format": "asyncrender-cache", "version": 1}))
    return _render(tmp_path, "--resume")


def cache_is_output(tmp_path: Path) -> list[str]:
    return _render(tmp_path, cache="D", out="D")


def cache_inside_output(tmp_path: Path) -> list[str]:
    return _render(tmp_path, cache="D/cache", out="D")


CASES: list[tuple[Callable[[Path], list[str]], int, str]] = [
    (log_to_dev_full, 1, "/dev/full: cannot write the log"),
    (bogus_scheduler, 2, "--scheduler bogus://x: not a Dask scheduler address"),
    (scheduler_without_address, 2, "--scheduler tcp://: not a Dask scheduler address"),
    (export_to_dot, 2, "already exists and is not an empty folder"),
    (file_caches_is_a_file, 1, "file_caches: is a file"),
    (summary_json_is_a_folder, 1, "summary.json: cannot write: Is a directory"),
    (summary_json_is_a_folder_at_the_end_of_a_run, 1, "summary.json: Is a directory"),
    (entry_is_a_folder, 1, "a_extracted.json: not rendered: its cache entry"),
    (claim_is_a_folder, 1, ".claim: not a claim file"),
    (cache_is_output, 2, "overlap"),
    (cache_inside_output, 2, "overlap"),
]


@pytest.mark.parametrize(("make", "code", "message"), CASES, ids=[c[0].__name__ for c in CASES])
def test_errors_are_one_line_with_the_documented_exit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      make: Callable[[Path], list[str]], code: int,
                                                      message: str) -> None:
    if "scheduler" in make.__name__:
        pytest.importorskip("distributed")
    (tmp_path / "a_extracted.json").write_text(json.dumps({"items": ["x^2"]}))
    (tmp_path / "list.txt").write_text("a_extracted.json\n")
    monkeypatch.chdir(tmp_path)  # export -o . exports into the (non-empty) working folder
    done = run_cli(make(tmp_path))
    err = done.stderr.decode()
    assert done.returncode == code, err
    assert "Traceback" not in err and message in err, err
    lines = err.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines) and len(lines) <= 2, err
