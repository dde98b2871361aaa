"""Where a sharded export goes: a local folder or an object store URL (fsspec).

A shard is built in a local temp file and then published whole under its final name: renamed
into place in a folder, uploaded in one piece to a store (an object appears only once its upload
completes). So an interrupted export never leaves a half-written final shard, only temp files
(hidden, swept by the next export into that folder) or nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from asyncrender.storage import StorageError, filesystem, is_url, storage_errors
from asyncrender.tempfiles import remove_orphans, temp_path, write_atomic


class ExportTarget:
    """The export folder ``out``: its file names, reading, publishing and removing files."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = os.fspath(out)
        self.remote = is_url(self.out)
        self._fs: Any = None
        if self.remote:
            self._fs, self._root = filesystem(self.out)
            self._root = self._root.rstrip("/")
        else:
            self.folder = Path(self.out)

    def __str__(self) -> str:
        return self.out if self.remote else str(self.folder.resolve())

    def names(self) -> list[str]:
        """The names of the files directly in the target (none when it does not exist)."""
        if self.remote:
            try:
                with storage_errors(self.out, "list it"):
                    return sorted(p.rsplit("/", 1)[-1] for p in self._fs.ls(self._root, detail=False)
                                  if p.rstrip("/") != self._root)
            except StorageError as exc:
                if str(exc).endswith("no such object"):
                    return []
                raise
        if not self.folder.exists():
            return []
        if not self.folder.is_dir():
            raise NotADirectoryError(f"{self.folder}: not a folder")
        return sorted(p.name for p in self.folder.iterdir())

    def read_text(self, name: str) -> str | None:
        try:
            if self.remote:
                with storage_errors(f"{self.out}/{name}", "read it"), self._fs.open(f"{self._root}/{name}", "rb") as f:
                    return bytes(f.read()).decode("utf-8")
            return (self.folder / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def prepare(self) -> None:
        """Create the folder (local), and sweep the temp files of a killed export."""
        if not self.remote:
            self.folder.mkdir(parents=True, exist_ok=True)
            remove_orphans(self.folder)

    @contextlib.contextmanager
    def building(self, name: str) -> Iterator[Path]:
        """A local temp path to write ``name`` to; published under ``name`` when the block ends
        without an error, removed otherwise."""
        if self.remote:
            scratch = Path(tempfile.mkdtemp(prefix="asyncrender-export-"))
            tmp = scratch / name
        else:
            scratch, tmp = None, temp_path(self.folder / name, hidden=True)
        try:
            yield tmp
            if self.remote:
                with storage_errors(f"{self.out}/{name}", "upload it"):
                    self._fs.put_file(str(tmp), f"{self._root}/{name}")
            else:
                os.replace(tmp, self.folder / name)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)

    def write_text(self, name: str, text: str) -> None:
        if self.remote:
            with storage_errors(f"{self.out}/{name}", "write it"), self._fs.open(f"{self._root}/{name}", "wb") as f:
                f.write(text.encode("utf-8"))
        else:
            write_atomic(self.folder / name, text.encode("utf-8"))

    def remove(self, name: str) -> None:
        if self.remote:
            with storage_errors(f"{self.out}/{name}", "remove it"), contextlib.suppress(FileNotFoundError):
                self._fs.rm_file(f"{self._root}/{name}")
        else:
            (self.folder / name).unlink(missing_ok=True)
