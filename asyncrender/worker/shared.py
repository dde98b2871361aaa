"""Each distinct item typeset once per run: the run's store of typeset images (``run.share_images``).

Items with the same LaTeX, type and look (the job's pixel settings, style, dpi) have the same
outcome, whatever shares their TeX run (README "Rendering": batch = alone). So within a run only the
first copy is typeset; every other copy gets the same image (a hard link, or a copy where links
fail, placed atomically like every image: a new link in place, since a link is whole when its name
appears; over an existing image, a temp name, then a rename) and its own record, whose
``shared_from`` names the first copy's image; a failed item's copies fail with the same kind and
message. Transient failures (``timeout``, ``crash``, ``io``) are not shared across jobs.

Across jobs and workers the run keeps a store, hidden in the output folder and removed when the
run ends (the orchestrator makes and removes it; a dead run's is swept at the next start):

    <output_dir>/.asyncrender-shared/<host>.<process>.<run id>/<ab>/<key>.png   hard links of first copies
    <output_dir>/.asyncrender-shared/<host>.<process>.<run id>/log.<host>.<pid>.jsonl   one per worker

``<key>`` is the SHA-256 of the look's settings, type, style, dpi and LaTeX. A worker appends one
line per typeset item to its own log (width, height, depth or the error, the first copy's path),
after linking the PNG into the store, in one ``write`` per job; workers read each other's logs
(only whole lines) before a job. No new file holds data per item: a hard link costs a directory
entry, where a small file costs an inode and a block (ten times the time on ext4).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncrender.model import TRANSIENT_ERROR_KINDS, ItemType
from asyncrender.processes import me, owner_of
from asyncrender.render.base import ItemOutcome, publish_file
from asyncrender.tempfiles import HOST, temp_path

SHARE_ROOT = ".asyncrender-shared"


def run_share_dir(output_dir: Path, run_id: str) -> Path:
    """The store of one run: ``<output_dir>/.asyncrender-shared/<host>.<process>.<run id>``, the
    process named by ``processes.ProcessId.tag`` (a reused pid does not keep a dead run's store)."""
    return output_dir / SHARE_ROOT / f"{HOST}.{me().tag()}.{run_id}"


def sweep_share_dirs(output_dir: Path) -> int:
    """Remove the stores of dead runs on this host (a run killed before it removed its own)."""
    removed = 0
    try:
        names = os.listdir(output_dir / SHARE_ROOT)
    except OSError:
        return 0
    for name in names:
        host, tag, _run = (name.rsplit(".", 2) + ["", ""])[:3]
        owner = owner_of(tag)
        if host == HOST and owner is not None and not owner.alive():
            shutil.rmtree(output_dir / SHARE_ROOT / name, ignore_errors=True)
            removed += 1
    return removed


def look_digest(pixel_settings: dict[str, object]) -> str:
    """What every share key of one job starts from: the settings that change pixels."""
    return hashlib.sha256(json.dumps(pixel_settings, sort_keys=True, default=str).encode()).hexdigest()


def share_key(look: str, item_type: ItemType, style: str, dpi: int, latex: str) -> str:
    data = "\0".join((look, item_type, style, str(dpi), latex)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Typeset:
    """What became of the first copy of an item: its outcome and its image's path."""

    outcome: ItemOutcome
    path: str


class ImageStore:
    """One worker's view of the run's store (see the module's doc)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._known: dict[str, Typeset] = {}
        self._offsets: dict[str, int] = {}
        self._log = folder / f"log.{HOST}.{os.getpid()}.jsonl"
        self._shards: set[str] = set()

    def png(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.png"

    def refresh(self) -> None:
        """Read the lines other workers (and this one) appended since the last refresh."""
        try:
            names = [n for n in os.listdir(self.folder) if n.startswith("log.")]
        except OSError:
            return
        for name in names:
            offset = self._offsets.get(name, 0)
            try:
                with open(self.folder / name, "rb") as f:
                    f.seek(offset)
                    data = f.read()
            except OSError:
                continue
            whole = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
            self._offsets[name] = offset + len(whole)
            for line in whole.splitlines():
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self._add(json.loads(line))

    def _add(self, rec: Any) -> None:
        kind = rec.get("kind")
        outcome = (ItemOutcome.failed(kind, str(rec["message"])) if kind is not None
                   else ItemOutcome(int(rec["width"]), int(rec["height"]), depth=rec.get("depth")))
        self._known.setdefault(str(rec["key"]), Typeset(outcome, str(rec["path"])))

    def get(self, key: str) -> Typeset | None:
        return self._known.get(key)

    def publish(self, typeset: Sequence[tuple[str, ItemOutcome, Path]]) -> None:
        """Share what this job typeset: link each image into the store, then append the lines in
        one write. Best effort: an image that cannot be shared is typeset again by its copies."""
        lines = []
        for key, outcome, path in typeset:
            if outcome.error_kind in TRANSIENT_ERROR_KINDS or key in self._known:
                continue
            rec: dict[str, object] = {"key": key, "path": str(path)}
            if outcome.error_kind is None:
                if not self._link_into_store(path, key):
                    continue
                rec |= {"width": outcome.width, "height": outcome.height, "depth": outcome.depth}
            else:
                rec |= {"kind": outcome.error_kind, "message": outcome.message or ""}
            self._known[key] = Typeset(outcome, str(path))
            lines.append(json.dumps(rec, ensure_ascii=False))
        if not lines:
            return
        data = ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")
        with contextlib.suppress(OSError):
            fd = os.open(self._log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            self._offsets.setdefault(self._log.name, 0)

    def _link_into_store(self, path: Path, key: str) -> bool:
        target = self.png(key)
        try:
            if key[:2] not in self._shards:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._shards.add(key[:2])
            os.link(path, target)
        except FileExistsError:  # another worker typeset it too: the same bytes
            return True
        except OSError:
            return False
        return True


def place_copy(source: Path, target: Path) -> None:
    """Give ``target`` the image at ``source``: a hard link (or, where links fail, a copy). A new
    link is whole the moment its name appears, so it is made in place; an image already there (an
    earlier run's) is replaced by a link under a hidden temp name and a rename, so no reader ever
    sees a partial or missing image. Raises ``OSError``."""
    if source == target:
        return
    try:
        os.link(source, target)
        return
    except FileExistsError:
        pass
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        publish_file(source.read_bytes(), target)
        return
    tmp = temp_path(target, hidden=True)
    os.link(source, tmp)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_NO_LINKS = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP)  # copy instead


def copy_outcome(typeset: Typeset, source: Path, target: Path) -> ItemOutcome:
    """The outcome of a copy of ``typeset``: its image placed at ``target``, or its failure."""
    if typeset.outcome.error_kind is not None:
        return typeset.outcome
    try:
        place_copy(source, target)
    except OSError as exc:
        return ItemOutcome.failed("io", f"{target}: cannot place the shared image: {exc.strerror or exc}")
    return typeset.outcome
