"""``render --log-file PATH``: a structured log, one JSON object per line, appended to PATH.

Events (each has ``ts``, ISO 8601 UTC, and ``event``):
- ``run_start``: ``file_list``, ``cache_dir``, ``output_dir``, ``pid``, ``config`` (the fingerprint);
- ``file``: a file done: ``file``, ``paper_id``, ``status``, ``skipped`` (by ``--resume``),
  ``images``, ``failed_items``, ``seconds``;
- ``item_error``: one per failure of a file rendered in this run: ``file``, ``paper_id``,
  ``item_id`` (``null`` when the whole file failed), ``kind``, ``message``, ``type``, ``latex``;
- ``run_end``: ``exit_code``, ``interrupted``, ``run`` (this run's totals), ``cache`` (summary.json);
  after a crash ``run`` and ``cache`` are ``null`` and ``error`` says what happened.

Event building is pure; ``RunLog`` batches lines and writes them in a worker thread, so the event
loop never blocks on the disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import IO, Any

import anyio.to_thread

from asyncrender.cache.summary import Summary
from asyncrender.model import ConfigRecord
from asyncrender.outputs.failures import entry_failures
from asyncrender.run.results import FileResult, RunTotals

# An event is a JSON object by definition: a line of the log file.
Event = dict[str, Any]

FLUSH_LINES = 256
FLUSH_SECONDS = 1.0


def start_event(ts: str, *, file_list: str, cache_dir: str, output_dir: str, config: ConfigRecord) -> Event:
    return {"ts": ts, "event": "run_start", "file_list": file_list, "cache_dir": cache_dir,
            "output_dir": output_dir, "pid": os.getpid(), "config": config}


def end_event(ts: str, *, exit_code: int, interrupted: bool, run: RunTotals | None,
              cache: Summary | None, error: str | None = None) -> Event:
    event = {"ts": ts, "event": "run_end", "exit_code": exit_code, "interrupted": interrupted,
             "run": run, "cache": cache}
    return event if error is None else {**event, "error": error}


def file_events(result: FileResult, ts: str) -> list[Event]:
    """The ``file`` event of a result, then an ``item_error`` per failure rendered now."""
    entry = result.entry
    events: list[Event] = [{
        "ts": ts, "event": "file", "file": result.key, "paper_id": entry and entry.get("paper_id"),
        "status": result.status, "skipped": result.skipped, "images": result.images,
        "failed_items": result.failed_items, "seconds": entry and entry.get("seconds"),
    }]
    if entry is not None and not result.skipped:
        events += [{"ts": ts, "event": "item_error", **{k: v for k, v in row.items() if k != "file"},
                    "file": result.key} for row in entry_failures(entry)]
    return events


class RunLog:
    """Appends events to a file; ``await log.write(events)``, then ``await log.aclose()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None
        self._pending: list[str] = []
        self._last_flush = time.monotonic()
        self.failure: str | None = None  # why the log could not be written (then it is dropped)

    async def open(self) -> RunLog:
        def _open() -> IO[str]:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return open(self.path, "a", encoding="utf-8")

        self._file = await anyio.to_thread.run_sync(_open)
        return self

    async def write(self, *events: Event, flush: bool = False) -> None:
        self._pending += [json.dumps(e, ensure_ascii=False) + "\n" for e in events]
        if flush or len(self._pending) >= FLUSH_LINES or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        if self._file is None or not self._pending:
            return
        lines, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        file = self._file

        def _write() -> None:
            file.writelines(lines)
            file.flush()

        with anyio.CancelScope(shield=True):  # lines taken from the buffer must reach the file
            try:
                await anyio.to_thread.run_sync(_write)
            except OSError as exc:  # a full disk, /dev/full: the run goes on without its log
                self._drop(exc)

    def _drop(self, exc: OSError) -> None:
        self.failure = self.failure or f"{self.path}: cannot write the log: {exc.strerror or exc}"
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self.flush()
            if self._file is not None:
                try:
                    await anyio.to_thread.run_sync(self._file.close)
                except OSError as exc:
                    self._drop(exc)
                self._file = None
