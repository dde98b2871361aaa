"""Shards: a deterministic split of the file list by cache key, for N machines without a scheduler.

Machine I of N renders the listed files whose key's MD5 (the same digest that names the file's cache
entry) is I modulo N. The split depends on the key alone, not on the list's order or length, so the
N machines can share one cache folder and shards 0..N-1 together cover the list exactly once. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from asyncrender.config import Shard
from asyncrender.model import ListedFile, key_digest


def shard_of(key: str, count: int) -> int:
    """The shard, out of ``count``, that the file with cache key ``key`` belongs to."""
    return int(key_digest(key), 16) % count


def select_shard(files: Iterable[ListedFile], shard: Shard | None) -> list[ListedFile]:
    """The files of ``shard`` (all of them when ``shard`` is None), in list order."""
    if shard is None:
        return list(files)
    index, count = shard
    return [listed for listed in files if shard_of(listed.key, count) == index]
