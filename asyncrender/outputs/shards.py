"""Writing samples as numbered shards, ``{split}-{NNNNN}.{ext}``, resumably.

A shard ends at ``shard_size`` samples or before its images would pass ``shard_bytes`` (sizes
from the PNGs' stat, so the plan is known without reading an image). Each shard is built in a
temp file and published whole (``target``). After each shard, ``.asyncrender-export.json`` (hidden:
dataset loaders skip it) records the options and, per shard, a digest of what went in: every
sample's key, columns, and its PNG's size and mtime.

Running the same export again into the same target (after a kill, or to bring it up to date) goes
through the same plan and skips each shard whose digest is unchanged and which is there; it writes
the others, and removes shards of the earlier run that the plan no longer has. The same cache and
options give byte-identical shards, so an export resumed, redone or made at once is the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncrender.outputs.samples import Sample
from asyncrender.outputs.splits import ExportError, Split
from asyncrender.outputs.target import ExportTarget

STATE_FILE = ".asyncrender-export.json"
STATE_FORMAT = "asyncrender-export"
STATE_VERSION = 1

WriteShard = Callable[[Sequence[Sample], Path], None]


def shard_name(split: Split, number: int, extension: str) -> str:
    return f"{split}-{number:05d}.{extension}"


def plan_shards(samples: Iterable[Sample], shard_size: int, shard_bytes: int) -> Iterator[list[Sample]]:
    """Consecutive runs of at most ``shard_size`` samples and ``shard_bytes`` of PNG (a single
    larger PNG makes a shard of its own)."""
    shard: list[Sample] = []
    size = 0
    for sample in samples:
        if shard and (len(shard) >= shard_size or size + sample.size > shard_bytes):
            yield shard
            shard, size = [], 0
        shard.append(sample)
        size += sample.size
    if shard:
        yield shard


def shard_digest(samples: Sequence[Sample]) -> str:
    h = hashlib.sha256()
    for s in samples:
        h.update(json.dumps([s.key, s.name, s.size, s.mtime_ns, s.columns], ensure_ascii=False,
                            separators=(",", ":")).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


@dataclass
class ShardRecord:
    samples: int
    bytes: int
    digest: str


@dataclass
class ExportState:
    """What ``.asyncrender-export.json`` holds."""

    options: dict[str, Any]
    shards: dict[str, ShardRecord] = field(default_factory=dict)
    complete: bool = False

    def to_json(self) -> str:
        return json.dumps({"format": STATE_FORMAT, "version": STATE_VERSION, "options": self.options,
                           "complete": self.complete,
                           "shards": {n: vars(r) for n, r in sorted(self.shards.items())}}, indent=1)

    @staticmethod
    def from_json(text: str, where: str) -> ExportState:
        try:
            data = json.loads(text)
            if data.get("format") != STATE_FORMAT or data.get("version") != STATE_VERSION:
                raise ValueError("unknown format or version")
            shards = {str(n): ShardRecord(int(r["samples"]), int(r["bytes"]), str(r["digest"]))
                      for n, r in data["shards"].items()}
            return ExportState(dict(data["options"]), shards, bool(data.get("complete")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ExportError(f"{where}: not a usable export state ({exc}); export into an empty folder") from None


class ShardWriter:
    """Writes one export's shards into ``target``, resuming an earlier run with the same options."""

    def __init__(self, target: ExportTarget, options: dict[str, Any], extension: str, write: WriteShard) -> None:
        self.target = target
        self.extension = extension
        self._write = write
        target.prepare()  # first: a killed export's temp files are not "something else"
        names = target.names()
        earlier = target.read_text(STATE_FILE) if STATE_FILE in names else None
        if earlier is None:
            if names:
                raise ExportError(f"{target}: already exists and is not empty (an export goes into an empty "
                                  "folder, or one an export with the same options was writing)")
            self.earlier = ExportState(options)
        else:
            self.earlier = ExportState.from_json(earlier, f"{target}/{STATE_FILE}")
            if self.earlier.options != options:
                changed = sorted(k for k in {*options, *self.earlier.options}
                                 if options.get(k) != self.earlier.options.get(k))
                raise ExportError(f"{target}: holds an export made with other options ({', '.join(changed)}); "
                                  "export into an empty folder")
        self._present = set(names)
        self.state = ExportState(options, {}, False)
        self.kept = 0
        self.written = 0
        self._save()  # from now on the target is recognisably this export's

    def write_split(self, split: Split, samples: Iterable[Sample], shard_size: int, shard_bytes: int) -> int:
        """Write ``split``'s shards; how many there are."""
        count = 0
        for shard in plan_shards(samples, shard_size, shard_bytes):
            name = shard_name(split, count, self.extension)
            count += 1
            record = ShardRecord(len(shard), sum(s.size for s in shard), shard_digest(shard))
            old = self.earlier.shards.get(name)
            if old == record and name in self._present:
                self.kept += 1
            else:
                with self.target.building(name) as tmp:
                    self._write(shard, tmp)
                self.written += 1
            self.state.shards[name] = record
            self._save()
        return count

    def finish(self) -> None:
        """Remove the earlier run's shards that this plan does not have; mark the export complete."""
        for name in sorted(set(self.earlier.shards) - set(self.state.shards)):
            self.target.remove(name)
        self.state.complete = True
        self._save()

    def _save(self) -> None:
        # The earlier run's records are kept until finish: a kill now leaves them all on record.
        merged = ExportState(self.state.options, {**self.earlier.shards, **self.state.shards})
        merged.complete = self.state.complete
        if self.state.complete:
            merged.shards = dict(self.state.shards)
        self.target.write_text(STATE_FILE, merged.to_json())
