"""Object storage: which paths are URLs (``s3://``, ``gs://``, ...), and reading and writing them
through fsspec.

Input files and file lists may be URLs, and so may an export's target. The cache folder and the
render output may not: they rely on atomic rename and hard links, which object stores lack
(``posix_folder`` refuses a URL there, in one line). Storage options (endpoint, credentials) come
from fsspec's and the provider's own configuration: ``FSSPEC_S3_ENDPOINT_URL``,
``AWS_ENDPOINT_URL``, ``~/.config/fsspec/``, ``AWS_PROFILE``, ...
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

# scheme://... ; also scheme:/... (what pathlib makes of a URL: Path("s3://b/x") is "s3:/b/x").
# Two letters at least, so a Windows drive ("C:/") is a path.
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")


class StorageError(OSError):
    """A URL that cannot be used (no fsspec driver for it, not found, ...); one line, naming it."""


def is_url(path: str | os.PathLike[str]) -> bool:
    if isinstance(path, str):  # asked several times per listed file: most paths have no ":/" at all
        return ":/" in path and _URL.match(path) is not None
    return bool(_URL.match(os.fspath(path))) if isinstance(path, os.PathLike) else False


def posix_folder(path: str | os.PathLike[str], what: str) -> str:
    """``path`` unchanged, or ``ValueError`` when it is a URL: ``what`` (the cache folder, the
    output folder) must be on a POSIX file system."""
    text = os.fspath(path)
    if is_url(text):
        raise ValueError(f"{text}: {what} must be a local or network file system folder, not a URL "
                         "(it relies on atomic rename); object storage is for the file list, the "
                         "input files and the export target")
    return text


def filesystem(url: str) -> tuple[Any, str]:
    """fsspec's file system for ``url`` and the path within it."""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise StorageError(f"{url}: reading URLs needs fsspec (pip install asyncrender[s3])") from None
    try:
        fs, path = url_to_fs(url)
    except (ImportError, ValueError) as exc:
        scheme = url.split(":", 1)[0]
        raise StorageError(f"{url}: no fsspec driver for {scheme}:// ({exc}); for s3:// install "
                           "asyncrender[s3]") from None
    return fs, path


@dataclass(frozen=True)
class ObjectStat:
    """An object's size and a stand-in for its mtime (what ``--resume`` compares)."""

    st_size: int
    st_mtime_ns: int


def object_stat(info: dict[str, Any]) -> ObjectStat:
    """From fsspec's ``info``: the size, and the modification time in ns, or when the store has
    none, a number derived from the ETag (it changes when the content does)."""
    size = int(info.get("size") or 0)
    for field in ("LastModified", "mtime", "updated", "last_modified", "modified"):
        value = info.get(field)
        if isinstance(value, datetime):
            return ObjectStat(size, int(value.timestamp() * 1e9))
        if isinstance(value, int | float):
            return ObjectStat(size, int(value * 1e9))
        if isinstance(value, str):
            try:
                return ObjectStat(size, int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1e9))
            except ValueError:
                continue
    etag = str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or "")
    return ObjectStat(size, int.from_bytes(hashlib.sha256(etag.encode()).digest()[:7], "big") if etag else 0)


@contextlib.contextmanager
def storage_errors(url: str, doing: str) -> Iterator[None]:
    """Whatever a store's client raises (``OSError``, botocore's ``NoCredentialsError``, ...) as
    one ``StorageError`` line naming ``url``."""
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError:
        raise StorageError(f"{url}: no such object") from None
    except Exception as exc:  # the client's own exception types vary by store
        raise StorageError(f"{url}: cannot {doing}: {type(exc).__name__}: {exc}") from None


def stat_url(url: str) -> ObjectStat:
    fs, path = filesystem(url)
    with storage_errors(url, "reach it"):
        info = fs.info(path)
    if info.get("type") == "directory":
        raise StorageError(f"{url}: is a folder, not a file")
    return object_stat(info)


def open_url(url: str) -> IO[bytes]:
    """``url`` opened for reading (binary)."""
    fs, path = filesystem(url)
    with storage_errors(url, "open it"):
        f: IO[bytes] = fs.open(path, "rb")
    return f


def open_binary(path: str) -> IO[bytes]:
    """A local path or a URL, opened for reading."""
    return open_url(path) if is_url(path) else open(path, "rb")


def join(base: str, relative: str) -> str:
    """``relative`` (as listed) resolved against a list's folder ``base``, URL or path."""
    if is_url(relative) or os.path.isabs(relative) or not base:
        return relative
    return f"{base.rstrip('/')}/{relative}" if is_url(base) else os.path.join(base, relative)


def url_parent(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[0]
