"""Totals over cache entries (what ``summary.json`` holds). Pure: entries in, a dict out.

Fields:
- ``files``: entries in all, and ``by_status`` (success / partial / failed);
- ``items``: ``rendered`` (images) and ``failed`` (item errors, those an entry only counts in
  ``errors_omitted`` included, plus one per file that failed whole);
- ``failures_by_kind``: error kind -> count;
- ``render_seconds``: the sum of the entries' ``seconds``;
- ``migrated``: entries that came from a legacy cache;
- ``generated_at``: when it was made (ISO 8601, UTC).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TypedDict

from asyncrender.model import STATUSES, CacheEntry, Status, omitted_errors


class FileTotals(TypedDict):
    total: int
    by_status: dict[Status, int]


class ItemTotals(TypedDict):
    rendered: int
    failed: int


class Summary(TypedDict):
    """What ``summary.json`` holds (README: "The cache folder")."""

    files: FileTotals
    items: ItemTotals
    failures_by_kind: dict[str, int]
    render_seconds: float
    migrated: int
    generated_at: str


class SummaryBuilder:
    """Accumulates entries one at a time, so a million entries need no list in memory.

    ``add(entry, -1)`` takes an entry away: a run's *delta* is what it wrote minus what its writes
    replaced, and ``applied_to`` adds it to the totals the run started from (``cache.runs``)."""

    def __init__(self) -> None:
        self.by_status: Counter[Status] = Counter({s: 0 for s in STATUSES})
        self.kinds: Counter[str] = Counter()
        self.rendered = 0
        self.failed = 0
        self.seconds = 0.0
        self.migrated = 0

    def add(self, entry: CacheEntry, sign: int = 1) -> None:
        self.by_status[entry["status"]] += sign
        images = entry.get("images") or []
        errors = entry.get("errors") or []
        self.rendered += sign * len(images)
        self.failed += sign * len(errors)
        for error in errors:
            self.kinds[str(error.get("kind", "unknown")) if isinstance(error, dict) else "unknown"] += sign
        omitted = entry.get("errors_omitted")
        if isinstance(omitted, dict):
            self.failed += sign * omitted_errors(entry)
            for k, n in omitted.items():
                if isinstance(n, int):
                    self.kinds[str(k)] += sign * n
        seconds = entry.get("seconds")
        if isinstance(seconds, int | float):
            self.seconds += sign * seconds
        if entry.get("migrated"):
            self.migrated += sign

    def merge(self, other: SummaryBuilder) -> None:
        """Add another builder's counts (e.g. one job's delta, counted in a thread of its own)."""
        self.by_status.update(other.by_status)
        self.kinds.update(other.kinds)
        self.rendered += other.rendered
        self.failed += other.failed
        self.seconds += other.seconds
        self.migrated += other.migrated

    def applied_to(self, base: Summary, generated_at: str) -> Summary:
        """``base`` (totals read from ``summary.json``) with this delta added."""
        total = SummaryBuilder()
        total.by_status.update(base["files"]["by_status"])
        total.by_status.update(self.by_status)
        total.kinds.update(base["failures_by_kind"])
        total.kinds.update(self.kinds)
        total.kinds = Counter({k: n for k, n in total.kinds.items() if n})
        total.rendered = base["items"]["rendered"] + self.rendered
        total.failed = base["items"]["failed"] + self.failed
        total.seconds = base["render_seconds"] + self.seconds
        total.migrated = base["migrated"] + self.migrated
        return total.result(generated_at)

    def result(self, generated_at: str) -> Summary:
        return {
            "files": {"total": sum(self.by_status.values()), "by_status": dict(self.by_status)},
            "items": {"rendered": self.rendered, "failed": self.failed},
            "failures_by_kind": dict(sorted(self.kinds.items())),
            "render_seconds": round(self.seconds, 3),
            "migrated": self.migrated,
            "generated_at": generated_at,
        }


def summarise(entries: Iterable[CacheEntry], generated_at: str) -> Summary:
    builder = SummaryBuilder()
    for entry in entries:
        builder.add(entry)
    return builder.result(generated_at)
