"""The CLI's progress bar: files done (of the total, once counted), files/s, items/s, failures, ETA;
and the one-line error reports printed above it."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from asyncrender.run.results import FileResult

if TYPE_CHECKING:
    from rich.console import Console


class RunProgress:
    """The bar on ``console``; without a console (``--quiet``, ``--json``) no bar and no rich: error
    lines go to stderr through ``cli.common.print_error``."""

    def __init__(self, *, enabled: bool, console: Console | None) -> None:
        self.enabled = enabled
        self._start = time.monotonic()
        self._items = 0
        self._files = 0
        self._failed = 0
        if console is None:
            self._progress = None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]rendering"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[file_rate]} files/s · {task.fields[rate]} items/s · "
                       "{task.fields[failed]} failed"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self._task = self._progress.add_task("render", total=None, rate="0", file_rate="0", failed=0)

    def set_total(self, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)

    def advance(self, result: FileResult) -> None:
        # Rates count work done in this run: files skipped by --resume cost nothing.
        if not result.skipped:
            self._files += 1
            self._items += result.images + result.failed_items
            self._failed += result.failed_items
        if self._progress is None:
            return
        elapsed = max(time.monotonic() - self._start, 1e-9)
        self._progress.update(self._task, advance=1, rate=f"{self._items / elapsed:.0f}",
                              file_rate=f"{self._files / elapsed:.1f}", failed=self._failed)

    def error(self, line: str) -> None:
        """Print one error line above the bar; on a terminal it is cut to the width, never wrapped."""
        if self._progress is None:
            from asyncrender.cli.common import print_error

            print_error(line)
            return
        from rich.text import Text

        console = self._progress.console
        text = Text.assemble(("error: ", "red"), line)
        if console.is_terminal:
            console.print(text, highlight=False, no_wrap=True, overflow="ellipsis", crop=True)
        else:
            console.print(text, highlight=False, soft_wrap=True)

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
