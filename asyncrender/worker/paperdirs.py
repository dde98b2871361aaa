"""Which folder a file's images go to, so that two input files never overwrite each other's PNGs.

Images go to ``<output_dir>/<safe paper_id>/`` (``naming.paper_dir``). Two input files may claim
the same ``paper_id`` (two versions of a paper, a copy under another name); their items would then
share file names. So the first file to use a folder marks it as its own with a small owner file
(``.asyncrender-owner``, holding the file's cache key), created atomically and exclusively (a
hard link of a complete temp file: no reader ever sees it half written, even from another machine
on a shared folder). A later file with the same ``paper_id`` gets ``<safe paper_id>-<8 hex of its
key's SHA-256>/`` instead. The same file rendered again finds its own mark and its own folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from asyncrender.model import key_bytes, short_hash
from asyncrender.tempfiles import temp_path
from asyncrender.worker.naming import paper_dir

OWNER_FILE = ".asyncrender-owner"


def owned_paper_dir(output_dir: Path, paper_id: str, key: str) -> Path:
    """The folder for the images of input file ``key`` (paper ``paper_id``), created and marked."""
    base = paper_dir(output_dir, paper_id)
    mine = key_bytes(key)
    if _claim(base, mine):
        return base
    alternate = base.with_name(f"{base.name}-{short_hash(mine)}")
    _claim(alternate, mine)  # named after this key: another file could only claim it by accident
    return alternate


def _claim(folder: Path, key: bytes) -> bool:
    """Mark ``folder`` as ``key``'s unless another key marked it first; whether it is ``key``'s."""
    folder.mkdir(parents=True, exist_ok=True)
    if folder.is_symlink():  # it may point anywhere: never write through it
        raise OSError(errno.ELOOP, f"{folder} is a symbolic link; asyncrender writes only into real "
                                   "folders inside the output folder (replace it by a folder)")
    marker = folder / OWNER_FILE
    try:
        return marker.read_bytes() == key
    except FileNotFoundError:
        pass
    tmp = temp_path(marker)
    try:
        tmp.write_bytes(key)
        with contextlib.suppress(FileExistsError):  # another writer won the race: see whose it is
            os.link(tmp, marker)
    finally:
        tmp.unlink(missing_ok=True)
    return marker.read_bytes() == key


def remove_stale_images(folder: Path, keep: set[str]) -> None:
    """Remove the PNGs of ``folder`` (a paper folder this file owns) that are not in ``keep``: images
    of items the paper no longer has, so that the folder never holds stale images."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.endswith(".png") and not name.startswith(".") and name not in keep:
            with contextlib.suppress(OSError):  # a folder of that name: not an image of ours
                (folder / name).unlink()
