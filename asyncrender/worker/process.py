"""What runs inside a worker process: read each input file, render its items, report per file.

Everything here is synchronous and process-local; the orchestrator only sees ``render_job``'s
return value. A worker never raises for bad input or a bad item: those become errors in the outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from asyncrender.cache.keys import input_source
from asyncrender.inputs.extracted import Paper, parse_extracted, read_extracted
from asyncrender.model import (
    BoundedErrors,
    FileOutcome,
    ImageRecord,
    InputError,
    InputFingerprint,
    ListedFile,
    RenderJob,
)
from asyncrender.processes import ProcessId
from asyncrender.render import get_backend
from asyncrender.render.base import Backend, ItemOutcome, RenderItem
from asyncrender.tempfiles import remove_orphans
from asyncrender.worker.lifetime import die_with_parent, watch_orchestrator
from asyncrender.worker.naming import item_file_names
from asyncrender.worker.paperdirs import owned_paper_dir, remove_stale_images

_backends: dict[str, Backend] = {}


def init_worker(orchestrator: ProcessId | None = None) -> None:
    """Pool initializer: Ctrl-C goes to the orchestrator, which decides what workers do; the
    worker dies with its forkserver and with ``orchestrator`` (see ``worker.lifetime``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()  # the parent is the forkserver; the watchdog below covers the orchestrator
    if orchestrator is not None:
        watch_orchestrator(orchestrator)


@dataclass
class _Prepared:
    listed: ListedFile
    paper: Paper
    fingerprint: InputFingerprint
    items: list[RenderItem]
    seconds: float
    folder: Path


def _backend(name: str) -> Backend:
    if name not in _backends:
        _backends[name] = get_backend(name)
    return _backends[name]


def render_job(job: RenderJob) -> list[FileOutcome]:
    """Render every item of every file in ``job``; one outcome per file, in job order."""
    return render_job_with(job, _backend(job.settings.renderer))


def render_job_with(job: RenderJob, backend: Backend) -> list[FileOutcome]:
    """``render_job`` with a given backend (benchmarks pass one that needs no TeX; tests, ones that
    crash)."""
    outcomes: dict[str, FileOutcome] = {}
    prepared: list[_Prepared] = []
    out_root = Path(job.output_dir)
    for listed in job.files:
        start = time.perf_counter()
        fingerprint = None
        try:
            data, st = read_extracted(listed.path)
            fingerprint = InputFingerprint(st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())
            paper = parse_extracted(data, listed.path)
        except InputError as exc:
            # The fingerprint (when the file could be read) lets --resume skip it until it changes.
            outcomes[listed.key] = FileOutcome.failed(listed, "input", str(exc), fingerprint)
            continue
        try:
            folder = owned_paper_dir(out_root, paper.paper_id, listed.key)
        except OSError as exc:  # a file where the folder should be, a full disk, no permission
            message = f"{listed.path}: cannot create its output folder: {exc.strerror or exc}"
            outcomes[listed.key] = FileOutcome.failed(listed, "io", message, fingerprint)
            continue
        remove_orphans(folder)  # PNG temps of a worker killed mid-write on this paper
        names = item_file_names(item.id for item in paper.items)
        items = [RenderItem(i.latex, i.type, folder / n) for i, n in zip(paper.items, names, strict=True)]
        prepared.append(_Prepared(listed, paper, fingerprint, items, time.perf_counter() - start, folder))

    all_items = [item for p in prepared for item in p.items]
    start = time.perf_counter()
    try:
        results = backend.render(all_items, job.settings) if all_items else []
    except Exception as exc:  # a backend bug must not lose the neighbours' files
        crash = ItemOutcome.failed("crash", f"renderer raised {type(exc).__name__}: {exc}")
        results = [crash] * len(all_items)
    render_seconds = time.perf_counter() - start

    position = 0
    for p in prepared:
        mine = results[position : position + len(p.items)]
        position += len(p.items)
        share = render_seconds * len(p.items) / len(all_items) if all_items else 0.0
        outcomes[p.listed.key] = _file_outcome(p, mine, p.seconds + share)
    return [dataclasses.replace(outcomes[listed.key], source=input_source(listed.path)) for listed in job.files]


def _file_outcome(p: _Prepared, results: list[ItemOutcome], seconds: float) -> FileOutcome:
    images: list[ImageRecord] = []
    errors = BoundedErrors()
    for prob in p.paper.problems:
        errors.add({"id": prob.id, "kind": "input", "message": prob.message})
    errors.count("input", p.paper.problems_omitted)
    for paper_item, item, result in zip(p.paper.items, p.items, results, strict=True):
        if result.error_kind is None:
            images.append({"id": paper_item.id, "path": str(item.out_path), "width": result.width,
                           "height": result.height, "type": item.type, "latex": item.latex})
        else:
            # An image left by an earlier run of this item would now be stale: remove it.
            with contextlib.suppress(OSError):  # e.g. a folder of that name: not listed either way
                item.out_path.unlink(missing_ok=True)
            errors.add({"id": paper_item.id, "kind": result.error_kind, "message": result.message or "",
                        "type": item.type, "latex": item.latex})
    remove_stale_images(p.folder, {item.out_path.name for item in p.items})
    return FileOutcome(key=p.listed.key, paper_id=p.paper.paper_id, images=images, errors=errors.kept,
                       input_fp=p.fingerprint, seconds=seconds, errors_omitted=errors.omitted)
