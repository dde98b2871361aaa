"""BENCHMARK-ONLY backend: writes one fixed 1x1 PNG per item, without TeX or matplotlib.

It isolates the orchestrator and the cache from rendering cost (memory, resume, cache overhead).
Use it through ``LocalPoolRunner(workers, render=render_job_tiny)``; its outcomes look like any
backend's, so entries, summaries and resume behave as in a real run.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from asyncrender.config import RenderSettings
from asyncrender.model import FileOutcome, RenderJob
from asyncrender.render.base import ItemOutcome, RenderItem, publish_file
from asyncrender.worker.process import render_job_with


def _png_1x1() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") + (1).to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff"))
            + chunk(b"IEND", b""))


TINY_PNG = _png_1x1()


class TinyBackend:
    """Benchmark-only: a 1x1 white PNG per item."""

    name = "tiny-benchmark-only"

    def version(self) -> str:
        return "tiny-benchmark-only 1"

    def render(self, items: Sequence[RenderItem], settings: RenderSettings) -> list[ItemOutcome]:
        for item in items:
            publish_file(TINY_PNG, item.out_path)
        return [ItemOutcome(width=1, height=1) for _ in items]


def render_job_tiny(job: RenderJob) -> list[FileOutcome]:
    """``render_job`` with the tiny backend; module level so that worker processes can pickle it."""
    return render_job_with(job, TinyBackend())
