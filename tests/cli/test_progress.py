"""The progress bar's error lines: one line each, on a terminal and in a log."""

from __future__ import annotations

import io

from rich.console import Console

from asyncrender.cli.progress import RunProgress
from asyncrender.run.results import FileResult

LONG = "papers/a_extracted.json [eq7] latex: " + "Undefined control sequence " * 20


def test_error_on_a_terminal_is_cut_to_one_line() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=60, color_system=None)
    with RunProgress(enabled=False, console=console) as progress:
        progress.error(LONG)
    (line,) = buf.getvalue().splitlines()
    assert line.startswith("error: papers/a_extracted.json [eq7] latex:") and len(line) <= 60


def test_error_in_a_log_is_whole_on_one_line() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=60)
    progress = RunProgress(enabled=False, console=console)
    progress.error(LONG)
    assert buf.getvalue() == f"error: {LONG}\n"


def test_rates_count_rendered_work_only() -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    progress = RunProgress(enabled=False, console=console)
    progress.advance(FileResult("a", "partial", False, images=3, failed_items=1))
    progress.advance(FileResult("b", "success", True, images=50, failed_items=0))
    task = progress._progress.tasks[0]
    assert task.completed == 2 and task.fields["failed"] == 1
    assert float(task.fields["rate"]) > 0 and float(task.fields["file_rate"]) > 0
