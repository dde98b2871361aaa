"""What a run reports: a ``FileResult`` per file as it is done, and the run's totals (``RunStats``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from asyncrender.model import CLAIMED, CacheEntry, ResultStatus, Status, omitted_errors


@dataclass(frozen=True)
class FileResult:
    """One input file done: rendered now (``entry`` just written) or skipped by ``--resume``:
    its entry was still valid, or (``status`` ``claimed``) another live run is rendering it now."""

    key: str
    status: ResultStatus
    skipped: bool
    images: int
    failed_items: int
    entry: CacheEntry | None = field(default=None, repr=False)

    @staticmethod
    def of_entry(key: str, entry: CacheEntry, *, skipped: bool) -> FileResult:
        failed = len(entry["errors"]) + omitted_errors(entry)
        return FileResult(key, entry["status"], skipped, len(entry["images"]), failed, entry)

    @staticmethod
    def claimed(key: str) -> FileResult:
        return FileResult(key, CLAIMED, True, 0, 0, None)


class RunTotals(TypedDict):
    """A run's totals as JSON (``--json``, the run log's ``run_end``)."""

    files: int
    skipped: int
    claimed: int
    by_status: dict[Status, int]
    images: int
    failed_items: int


@dataclass
class RunStats:
    files: int = 0
    skipped: int = 0
    claimed: int = 0  # of the skipped: files another live run was rendering (see cache.claims)
    by_status: dict[Status, int] = field(default_factory=lambda: {"success": 0, "partial": 0, "failed": 0})
    images: int = 0
    failed_items: int = 0

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.skipped += result.skipped
        self.claimed += result.status == CLAIMED
        if not result.skipped and result.status != CLAIMED:
            self.by_status[result.status] += 1  # type: ignore[index]  # claimed is skipped
            self.images += result.images
            self.failed_items += result.failed_items

    def as_record(self) -> RunTotals:
        return {"files": self.files, "skipped": self.skipped, "claimed": self.claimed,
                "by_status": dict(self.by_status), "images": self.images, "failed_items": self.failed_items}
