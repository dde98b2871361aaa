"""``render --log-file``: events built from results, and the log a real run wrote."""

from __future__ import annotations

import json

import pytest

from asyncrender.cli.runlog import end_event, file_events
from asyncrender.outputs.failures import error_line
from asyncrender.run.results import FileResult
from tests.support.outputs_cache import PAPERS, Rendered, rendered_cache


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return rendered_cache(tmp_path_factory)


ENTRY = {"file": "a.json", "paper_id": "P", "status": "partial", "seconds": 0.5, "images": [{"id": "1"}],
         "errors": [{"id": "2", "kind": "latex", "message": "boom", "type": "display", "latex": "x"}]}


def test_a_rendered_file_logs_its_errors_and_a_skipped_one_does_not() -> None:
    rendered_now = file_events(FileResult("a.json", "partial", False, 1, 1, ENTRY), "T")
    assert [e["event"] for e in rendered_now] == ["file", "item_error"]
    assert rendered_now[0] == {"ts": "T", "event": "file", "file": "a.json", "paper_id": "P",
                               "status": "partial", "skipped": False, "images": 1, "failed_items": 1,
                               "seconds": 0.5}
    assert rendered_now[1]["item_id"] == "2" and rendered_now[1]["message"] == "boom"
    skipped = file_events(FileResult("a.json", "partial", True, 1, 1, ENTRY), "T")
    assert [e["event"] for e in skipped] == ["file"]


def test_the_run_wrote_a_structured_log(rendered: Rendered) -> None:
    events = [json.loads(line) for line in rendered.log_file.read_text().splitlines()]
    assert all(isinstance(e["ts"], str) and e["ts"].endswith("Z") for e in events)
    assert events[0]["event"] == "run_start" and events[0]["config"]["renderer"] == "mathtext"
    assert events[-1]["event"] == "run_end" and events[-1]["exit_code"] == 0
    files = [e for e in events if e["event"] == "file"]
    errors = [e for e in events if e["event"] == "item_error"]
    assert len(files) == PAPERS + 1 == events[-1]["run"]["files"]
    assert len(errors) == sum(f["failed_items"] for f in files) == events[-1]["cache"]["items"]["failed"]
    assert {e["file"] for e in errors} <= {f["file"] for f in files}


def test_terminal_errors_are_one_line_each_naming_file_and_item(rendered: Rendered) -> None:
    lines = rendered.stderr.splitlines()
    events = [json.loads(line) for line in rendered.log_file.read_text().splitlines()]
    for event in (e for e in events if e["event"] == "item_error"):
        assert f"error: {error_line(event)}" in lines
    assert sum(line.startswith("error: ") for line in lines) == events[-1]["cache"]["items"]["failed"]


def test_a_crash_ends_the_log_with_the_error() -> None:
    assert end_event("T", exit_code=1, interrupted=False, run=None, cache=None, error="E: x")["error"] == "E: x"
    assert "error" not in end_event("T", exit_code=0, interrupted=False, run={}, cache={})
