"""What a run reports: a ``FileResult`` per file as it is done, and the run's totals (``RunStats``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from asyncrender.model import CLAIMED, REFUSED, CacheEntry, ResultStatus, Status, omitted_errors


@dataclass(frozen=True)
class FileResult:
    """One input file done: rendered now (``entry`` just written) or skipped by ``--resume``:
    its entry was still valid; or not rendered (``status`` ``claimed`` or ``refused``, ``reason``
    says why; see ``model.ResultStatus``)."""

    key: str
    status: ResultStatus
    skipped: bool
    images: int
    failed_items: int
    entry: CacheEntry | None = field(default=None, repr=False)
    reason: str | None = None

    @staticmethod
    def of_entry(key: str, entry: CacheEntry, *, skipped: bool) -> FileResult:
        failed = len(entry["errors"]) + omitted_errors(entry)
        return FileResult(key, entry["status"], skipped, len(entry["images"]), failed, entry)

    @staticmethod
    def claimed(key: str, reason: str) -> FileResult:
        return FileResult(key, CLAIMED, True, 0, 0, None, reason)

    @staticmethod
    def refused(key: str, reason: str) -> FileResult:
        return FileResult(key, REFUSED, True, 0, 0, None, reason)

    @property
    def rendered(self) -> bool:
        """Whether the file has an entry from this run or a valid one from before."""
        return self.status not in (CLAIMED, REFUSED)


class RunTotals(TypedDict):
    """A run's totals as JSON (``--json``, the run log's ``run_end``)."""

    files: int
    skipped: int
    claimed: int
    refused: int
    by_status: dict[Status, int]
    images: int
    failed_items: int


@dataclass
class RunStats:
    files: int = 0
    skipped: int = 0
    claimed: int = 0  # of the skipped: files another live run was rendering (see cache.claims)
    refused: int = 0  # of the skipped: files that could not be rendered (see model.ResultStatus)
    by_status: dict[Status, int] = field(default_factory=lambda: {"success": 0, "partial": 0, "failed": 0})
    images: int = 0
    failed_items: int = 0

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.skipped += result.skipped
        self.claimed += result.status == CLAIMED
        self.refused += result.status == REFUSED
        if not result.skipped and result.rendered:
            self.by_status[result.status] += 1  # type: ignore[index]  # claimed and refused are skipped
            self.images += result.images
            self.failed_items += result.failed_items

    def as_record(self) -> RunTotals:
        return {"files": self.files, "skipped": self.skipped, "claimed": self.claimed, "refused": self.refused,
                "by_status": dict(self.by_status), "images": self.images, "failed_items": self.failed_items}
