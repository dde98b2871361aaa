"""Which split a paper goes to, and in which order splits are exported. Pure.

Every image goes to one split, ``train``, ``validation`` or ``test``, chosen by its *paper*, so that
no paper leaks across splits. The choice is deterministic: the SHA-256 of ``seed`` and the paper id,
read as a number in [0, 1), is compared with the fractions. A paper keeps its split as papers are
added, and the same seed gives the same split on every machine.

With ``--dedup`` the splits are exported in ``DEDUP_ORDER``, test first, and a formula seen in an
earlier split is left out of the later ones: a formula that occurs in test is exported in test
only, one that occurs in validation (and not in test) in validation only. So no formula of test is
in validation or train, and none of validation is in train.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

Split = Literal["train", "validation", "test"]
SPLITS: tuple[Split, ...] = ("train", "validation", "test")
DEDUP_ORDER: tuple[Split, ...] = ("test", "validation", "train")


class ExportError(ValueError):
    """The export cannot start or go on (bad options, OUT holds something else, ...)."""


@dataclass(frozen=True)
class Fractions:
    """Shares of papers per split; ``train`` is what validation and test leave."""

    validation: float = 0.1
    test: float = 0.1

    def __post_init__(self) -> None:
        for name, value in (("validation", self.validation), ("test", self.test)):
            if not 0.0 <= value <= 1.0:
                raise ExportError(f"the {name} fraction must be between 0 and 1, not {value}")
        if self.validation + self.test > 1.0:
            raise ExportError(f"validation + test fractions ({self.validation} + {self.test}) exceed 1")

    @property
    def train(self) -> float:
        return 1.0 - self.validation - self.test


def unit_hash(paper_id: str, seed: str) -> float:
    """A number in [0, 1) from the paper id and the seed, the same on every machine."""
    digest = hashlib.sha256(f"{seed}\0{paper_id}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(paper_id: str, fractions: Fractions, seed: str = "") -> Split:
    u = unit_hash(paper_id, seed)
    if u < fractions.train:
        return "train"
    return "validation" if u < fractions.train + fractions.validation else "test"


def split_order(dedup: bool) -> tuple[Split, ...]:
    """The order splits are written in: with dedup, the one that keeps a formula comes first."""
    return DEDUP_ORDER if dedup else SPLITS
