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
from asyncrender.config import RenderSettings
from asyncrender.inputs.extracted import Paper, PaperItem, parse_extracted, read_extracted
from asyncrender.lifetime import die_with_parent, watch_orchestrator
from asyncrender.model import (
    BoundedErrors,
    ErrorRecord,
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
from asyncrender.worker.naming import item_file_names
from asyncrender.worker.paperdirs import owned_paper_dir, remove_stale_images
from asyncrender.worker.shared import ImageStore, Typeset, copy_outcome, look_digest, share_key

_backends: dict[str, Backend] = {}


def init_worker(orchestrator: ProcessId | None = None) -> None:
    """Pool initializer: Ctrl-C goes to the orchestrator, which decides what workers do; the
    worker dies with its parent (the orchestrator or the forkserver) and with ``orchestrator``
    (see ``lifetime``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()  # the parent may be the forkserver; the watchdog below covers the orchestrator
    if orchestrator is not None:
        watch_orchestrator(orchestrator)


@dataclass(frozen=True)
class _Image:
    """One image to make: an item in one look (style and dpi)."""

    item: PaperItem
    style: str
    dpi: int
    target: RenderItem


@dataclass
class _Prepared:
    listed: ListedFile
    paper: Paper
    fingerprint: InputFingerprint
    images: list[_Image]
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
        images = _images(paper, folder, job.settings)
        prepared.append(_Prepared(listed, paper, fingerprint, images, time.perf_counter() - start, folder))

    all_images = [image for p in prepared for image in p.images]
    start = time.perf_counter()
    if job.share_dir is not None:
        results, shared_from = _render_distinct(backend, all_images, job.settings, Path(job.share_dir))
    else:
        results, shared_from = _render_by_look(backend, all_images, job.settings), [None] * len(all_images)
    render_seconds = time.perf_counter() - start

    position = 0
    for p in prepared:
        mine = slice(position, position + len(p.images))
        position += len(p.images)
        share = render_seconds * len(p.images) / len(all_images) if all_images else 0.0
        outcomes[p.listed.key] = _file_outcome(p, results[mine], shared_from[mine], p.seconds + share,
                                               job.settings.multi_look)
    return [dataclasses.replace(outcomes[listed.key], source=input_source(listed.path)) for listed in job.files]


def _images(paper: Paper, folder: Path, settings: RenderSettings) -> list[_Image]:
    """Every image of a paper: each item in each of its looks. With several styles an image is
    ``<item>.<style>.png``, else ``<item>.png``."""
    styled = len(settings.styles) > 1
    images = []
    for item, name in zip(paper.items, item_file_names(item.id for item in paper.items), strict=True):
        for style, dpi in settings.item_looks(paper.paper_id, item.id):
            file_name = f"{name.removesuffix('.png')}.{style}.png" if styled else name
            images.append(_Image(item, style, dpi, RenderItem(item.latex, item.type, folder / file_name)))
    return images


def _render_by_look(backend: Backend, images: list[_Image], settings: RenderSettings) -> list[ItemOutcome]:
    """One backend call per style, so that the items of a style share TeX runs whatever their dpi
    (each ``RenderItem`` carries its own); the outcomes in the order of ``images``."""
    groups: dict[str, list[int]] = {}
    for index, image in enumerate(images):
        groups.setdefault(image.style, []).append(index)
    results: list[ItemOutcome] = [ItemOutcome()] * len(images)
    for style, indexes in groups.items():
        look = settings.for_look(style, images[indexes[0]].dpi) if settings.multi_look else settings
        targets = [dataclasses.replace(images[i].target, dpi=images[i].dpi) for i in indexes]
        try:
            outcomes = backend.render(targets, look)
        except Exception as exc:  # a backend bug must not lose the neighbours' files
            outcomes = [ItemOutcome.failed("crash", f"renderer raised {type(exc).__name__}: {exc}")] * len(indexes)
        for index, outcome in zip(indexes, outcomes, strict=True):
            results[index] = outcome
    return results


def _render_distinct(backend: Backend, images: list[_Image], settings: RenderSettings,
                     share_dir: Path) -> tuple[list[ItemOutcome], list[str | None]]:
    """``_render_by_look`` typesetting each distinct item once (``worker.shared``): the outcomes,
    and per image the first copy's image path when it is a copy (else None)."""
    store = _store(share_dir)
    store.refresh()
    look = look_digest(settings.pixel_settings())
    keys = [share_key(look, i.item.type, i.style, i.dpi, i.item.latex) for i in images]
    first: dict[str, int] = {}
    typeset: list[int] = []
    for index, key in enumerate(keys):
        if key not in first and store.get(key) is None:
            typeset.append(index)
        first.setdefault(key, index)
    results: list[ItemOutcome] = [ItemOutcome()] * len(images)
    for index, outcome in zip(typeset, _render_by_look(backend, [images[i] for i in typeset], settings),
                              strict=True):
        results[index] = outcome
    store.publish([(keys[i], results[i], images[i].target.out_path) for i in typeset])
    shared_from: list[str | None] = [None] * len(images)
    done = set(typeset)
    for index, key in enumerate(keys):
        if index in done:
            continue
        here = first[key]
        if here in done:  # typeset in this job (its image is also the store's, when shared)
            path = images[here].target.out_path
            source, origin = path, Typeset(results[here], str(path))
        else:  # typeset by an earlier job of this run
            known = store.get(key)
            assert known is not None
            source, origin = store.png(key), known
        results[index] = copy_outcome(origin, source, images[index].target.out_path)
        if results[index].ok and origin.path != str(images[index].target.out_path):
            shared_from[index] = origin.path
    return results, shared_from


_stores: dict[Path, ImageStore] = {}


def _store(share_dir: Path) -> ImageStore:
    """This worker's view of a run's store (one per run: a worker may serve several runs)."""
    if share_dir not in _stores:
        _stores.clear()
        _stores[share_dir] = ImageStore(share_dir)
    return _stores[share_dir]


def _file_outcome(p: _Prepared, results: list[ItemOutcome], shared_from: list[str | None], seconds: float,
                  multi_look: bool) -> FileOutcome:
    images: list[ImageRecord] = []
    errors = BoundedErrors()
    for prob in p.paper.problems:
        errors.add({"id": prob.id, "kind": "input", "message": prob.message})
    errors.count("input", p.paper.problems_omitted)
    for image, result, origin in zip(p.images, results, shared_from, strict=True):
        item, target = image.item, image.target
        if result.error_kind is None:
            record: ImageRecord = {"id": item.id, "path": str(target.out_path), "width": result.width,
                                   "height": result.height, "type": item.type, "latex": item.latex}
            if result.depth is not None:
                record["depth"] = result.depth
            if multi_look:
                record |= {"style": image.style, "dpi": image.dpi}
            if origin is not None:
                record["shared_from"] = origin
            images.append(record)
        else:
            # An image left by an earlier run of this item would now be stale: remove it.
            with contextlib.suppress(OSError):  # e.g. a folder of that name: not listed either way
                target.out_path.unlink(missing_ok=True)
            error: ErrorRecord = {"id": item.id, "kind": result.error_kind, "message": result.message or "",
                                  "type": item.type, "latex": item.latex}
            if multi_look:
                error |= {"style": image.style, "dpi": image.dpi}
            errors.add(error)
    remove_stale_images(p.folder, {image.target.out_path.name for image in p.images})
    return FileOutcome(key=p.listed.key, paper_id=p.paper.paper_id, images=images, errors=errors.kept,
                       input_fp=p.fingerprint, seconds=seconds, errors_omitted=errors.omitted)
