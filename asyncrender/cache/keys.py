"""Two input files, one cache key: never replace another file's entry.

The key is the path as listed (``model.normalise_key``), relative when listed relative, so that a
cache moves with its corpus. So two lists in different folders that each list
``paper_extracted.json`` give two different files one key. An entry records its input's resolved
absolute path (``source``); a file whose key holds an entry with another ``source`` is refused (not
rendered, the run exits 1 naming it) while that other file still exists. When the other file is
gone (the corpus moved, or it was deleted) the key is taken over: that is the cache moving with its
corpus. An entry without ``source`` (older, or migrated) is replaced as before.
"""

from __future__ import annotations

import os

from asyncrender.model import CacheEntry


def input_source(path: str) -> str | None:
    """The resolved absolute path of an input (None for a path that cannot be one: a NUL in it)."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return None


def other_file(entry: CacheEntry | None, path: str, st: os.stat_result | None = None) -> str | None:
    """The other, existing file whose entry sits under the key of ``path``; None if there is none.

    The usual answer costs a string compare (``path`` as read is the recorded, resolved path) or,
    with ``st``, the ``stat`` of ``path`` when the caller has it, one ``stat`` (the recorded file
    is this very file) instead of resolving every component of ``path``."""
    recorded = entry.get("source") if entry is not None else None
    if not isinstance(recorded, str) or recorded == path:
        return None  # no record, or the very path this file is read by: this file, no stat needed
    if st is not None:
        try:
            there = os.stat(recorded)
        except (OSError, ValueError):
            pass  # gone, or not reachable: decided below
        else:
            return None if (there.st_dev, there.st_ino) == (st.st_dev, st.st_ino) else recorded
    if recorded == input_source(path) or not os.path.lexists(recorded):
        return None  # no record, this very file, or the other file is gone (the corpus moved)
    try:
        if os.path.samefile(recorded, path):
            return None  # one file, reached through another link
    except (OSError, ValueError):
        pass
    return recorded
