"""The local pool's own behaviour (its deaths and interrupts: tests/reliability)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

import anyio
import pytest

from asyncrender.executors.local_pool import LocalPoolRunner


def test_workers_that_cannot_start_leave_no_traceback_from_the_starting_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    runner = LocalPoolRunner(1)

    def cannot_start(*_: Any, **__: Any) -> Future[Any]:
        raise ConnectionRefusedError("the forkserver is gone")

    monkeypatch.setattr(runner._pool, "submit", cannot_start)
    runner.start()
    assert runner._started is not None and runner._started.wait(10)
    assert seen == []  # nothing printed by the thread that starts the workers
    monkeypatch.undo()
    anyio.run(runner.aclose)
