"""``asyncrender verify``: find (and with ``repair``, mend) what would make a cache lie.

A cache entry can be corrupt (truncated, not JSON, an unknown version, a ``file`` whose MD5 is not
its file name: ``DistributedCacheManager.scan`` says which), or whole while an image it lists is
missing or not a whole PNG (deleted by hand, a disk that lost it). Repair deletes such entries, so
that ``--resume`` renders their files again, removes orphaned temp files, and recounts the summary.

``png_problem`` is pure (bytes in, a reason or ``None`` out); ``verify_cache`` does the I/O.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.model import CacheEntry

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_problem(data: bytes) -> str | None:
    """Why ``data`` is not a whole PNG, or ``None`` if it is.

    Walks every chunk and checks its CRC: ``IHDR`` first, at least one ``IDAT``, ``IEND`` last
    and nothing after it. A truncated or bit-flipped file fails (the pixels are not inflated).
    """
    if not data.startswith(PNG_SIGNATURE):
        return "not a PNG (bad signature)" if data else "empty file"
    pos = len(PNG_SIGNATURE)
    first = True
    seen_idat = False
    while pos < len(data):
        if pos + 12 > len(data):
            return f"truncated inside a chunk header at byte {pos}"
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            return f"truncated: chunk {kind!r} at byte {pos} needs {length} bytes"
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            return f"chunk {kind!r} at byte {pos} has a bad CRC"
        if first and kind != b"IHDR":
            return "the first chunk is not IHDR"
        first = False
        seen_idat |= kind == b"IDAT"
        if kind == b"IEND":
            if end != len(data):
                return f"{len(data) - end} bytes after IEND"
            return None if seen_idat else "no image data (IDAT)"
        pos = end
    return "truncated: no IEND chunk"


@dataclass(frozen=True)
class Problem:
    entry: str  # the entry file (``file_caches/<md5>.cache``)
    key: str | None  # the input file it is for, when the entry could be read
    message: str


@dataclass
class VerifyReport:
    entries: int = 0
    images: int = 0
    problems: list[Problem] = field(default_factory=list)
    repaired: int = 0
    temp_files_removed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"entries": self.entries, "images": self.images, "repaired": self.repaired,
                "temp_files_removed": self.temp_files_removed,
                "problems": [p.__dict__ for p in self.problems]}


def image_problem(path: str) -> str | None:
    """Why the image at ``path`` is not usable, or ``None``."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return f"image {path} is missing"
    except OSError as exc:
        return f"image {path} cannot be read: {exc.strerror or exc}"
    problem = png_problem(data)
    return f"image {path}: {problem}" if problem else None


def entry_problems(entry: CacheEntry) -> tuple[int, list[str]]:
    """How many images an entry lists, and what is wrong with them."""
    images = entry.get("images", [])
    found = []
    for image in images:
        path = image.get("path") if isinstance(image, dict) else None
        if not isinstance(path, str) or not path:
            found.append(f"an image without a path: {str(image)[:100]}")
            continue
        if (problem := image_problem(os.path.join(entry.get("output_dir") or "", path))) is not None:
            found.append(problem)
    return len(images), found


def verify_cache(cache_dir: str | os.PathLike[str], *, repair: bool = False) -> VerifyReport:
    """Check every entry of the cache and every image it lists; with ``repair``, mend the cache."""
    cache = DistributedCacheManager(cache_dir, create=False)
    report = VerifyReport()
    if repair:
        report.temp_files_removed = cache.cleanup_temp_files()
    for scanned in cache.scan():
        report.entries += 1
        if scanned.entry is None:
            found = [f"corrupt entry: {scanned.problem}"]
        else:
            count, found = entry_problems(scanned.entry)
            report.images += count
        key = scanned.entry.get("file") if scanned.entry else None
        report.problems += [Problem(str(scanned.path), key, message) for message in found]
        if repair and found:
            Path(scanned.path).unlink(missing_ok=True)
            report.repaired += 1
    if repair:
        cache.save_summary()
    return report
