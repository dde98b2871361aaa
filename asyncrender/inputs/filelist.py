"""The file list: one path per line, streamed in chunks so that a list of ten million lines never
sits in memory and costs one thread hop per chunk rather than per line.

``ListLines`` (pure) turns chunks of bytes into the listed paths; ``read_file_list`` (async) and
``count_listed`` (blocking, for the progress bar's total) feed it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from typing import IO, BinaryIO

import aiofiles
import anyio.to_thread

from asyncrender.model import ListedFile, normalise_key
from asyncrender.storage import is_url, join, open_binary, open_url, url_parent

# 64 KiB: about 1,600 paths per thread hop, and a small peak (1 MiB chunks cost ~25 MiB more RSS).
LIST_CHUNK_BYTES = 64 << 10
UTF8_BOM = b"\xef\xbb\xbf"


def listed_file(line: str, base_dir: str | None) -> ListedFile:
    """A path as listed, keyed as listed, read relative to ``base_dir`` (the list's folder, a
    path or a URL)."""
    return ListedFile(key=normalise_key(line), path=join(base_dir or "", line))


def list_lines(text: str) -> list[str]:
    """The paths in a piece of a file list: blank lines and ``#`` comments skipped."""
    out = []
    for raw in text.split("\n"):
        line = raw.rstrip("\r").strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


class ListLines:
    """Chunks of a file list in, its paths out: a line cut by a chunk boundary is carried to the
    next chunk. ``errors`` is how bytes that are not UTF-8 decode (``surrogateescape`` keeps them
    byte for byte, so odd file names still open)."""

    def __init__(self, errors: str = "surrogateescape") -> None:
        self._carry = b""
        self._errors = errors
        self._started = False

    def feed(self, chunk: bytes) -> list[str]:
        data = self._carry + chunk
        if not self._started and len(data) >= len(UTF8_BOM):  # an editor's BOM is not part of a path
            self._started = True
            data = data.removeprefix(UTF8_BOM)
        cut = data.rfind(b"\n") + 1
        self._carry = data[cut:]
        return list_lines(data[:cut].decode("utf-8", self._errors))

    def finish(self) -> list[str]:
        rest, self._carry = self._carry, b""
        if not self._started:
            rest = rest.removeprefix(UTF8_BOM)
        return list_lines(rest.decode("utf-8", self._errors))


async def read_file_list(source: str | os.PathLike[str]) -> AsyncIterator[list[ListedFile]]:
    """Stream a file list (``-``: standard input) as chunks of ``ListedFile``."""
    text = os.fspath(source)
    base_dir = None if text == "-" else url_parent(text) if is_url(text) else os.path.dirname(text)
    splitter = ListLines()
    async for chunk in _read_chunks(source):
        lines = splitter.feed(chunk)
        if lines:
            yield [listed_file(line, base_dir) for line in lines]
    lines = splitter.finish()
    if lines:
        yield [listed_file(line, base_dir) for line in lines]


async def _read_chunks(source: str | os.PathLike[str]) -> AsyncIterator[bytes]:
    if is_url(os.fspath(source)):  # object storage: fsspec's blocking reads, in a thread
        remote = await anyio.to_thread.run_sync(open_url, os.fspath(source))
        try:
            while chunk := await anyio.to_thread.run_sync(remote.read, LIST_CHUNK_BYTES):
                yield chunk
        finally:
            await anyio.to_thread.run_sync(remote.close)
        return
    if str(source) == "-":
        stdin: BinaryIO = sys.stdin.buffer
        # read1: return what the pipe has now, so a slow producer's lines flow through at once.
        read = stdin.read1 if hasattr(stdin, "read1") else stdin.read
        while chunk := await anyio.to_thread.run_sync(read, LIST_CHUNK_BYTES):
            yield chunk
        return
    async with aiofiles.open(source, "rb") as f:
        while chunk := await f.read(LIST_CHUNK_BYTES):
            yield chunk


def count_listed(file_list: str) -> int:
    """How many paths a file list names (read as the run reads it; for the progress bar's ETA)."""
    splitter = ListLines(errors="replace")
    with open_binary(file_list) as f:
        return sum(len(splitter.feed(chunk)) for chunk in _file_chunks(f)) + len(splitter.finish())


def _file_chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(LIST_CHUNK_BYTES):
        yield chunk
