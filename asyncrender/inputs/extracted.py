"""The extracted JSON files: reading one (``read_extracted``, in a worker) and parsing it
(``parse_extracted``: pure, bytes in, a ``Paper`` or an ``InputError`` out)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from typing import Any

from asyncrender.model import ITEM_TYPES, MAX_ERRORS_PER_FILE, InputError, ItemType
from asyncrender.storage import ObjectStat, StorageError, is_url, open_url, stat_url, storage_errors

EXTRACTED_SUFFIX = "_extracted.json"
MAX_INPUT_BYTES = 64 << 20


@dataclass(frozen=True)
class PaperItem:
    id: str
    type: ItemType
    latex: str


@dataclass(frozen=True)
class ItemProblem:
    """An item of an otherwise good file that cannot be rendered (it fails alone, kind ``input``)."""

    id: str
    message: str


@dataclass(frozen=True)
class Paper:
    paper_id: str
    items: tuple[PaperItem, ...]
    problems: tuple[ItemProblem, ...] = field(default=())
    problems_omitted: int = 0  # bad items beyond the first MAX_ERRORS_PER_FILE, counted only


def default_paper_id(path: str) -> str:
    name = os.path.basename(path)
    if name.endswith(EXTRACTED_SUFFIX):
        return name[: -len(EXTRACTED_SUFFIX)] or name
    return name.rsplit(".", 1)[0] or name


def parse_extracted(data: bytes, source: str) -> Paper:
    """Parse an extracted file (object with ``items``, or a bare list of LaTeX strings).

    A file that is not usable as a whole raises ``InputError``; a bad item becomes an
    ``ItemProblem`` and its neighbours are kept.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{source}: not usable JSON: {_short(str(exc))}") from None
    paper_id = default_paper_id(source)
    if isinstance(doc, dict):
        if "paper_id" in doc:
            if not isinstance(doc["paper_id"], str | int) or isinstance(doc["paper_id"], bool):
                raise InputError(f"{source}: paper_id must be a string, not {_json_type(doc['paper_id'])}")
            paper_id = str(doc["paper_id"])
            if not paper_id.strip():
                raise InputError(f"{source}: paper_id is empty")
        if "items" not in doc:
            raise InputError(f"{source}: no 'items' list")
        raw_items = doc["items"]
        where = "items"
        if not isinstance(raw_items, list):
            raise InputError(f"{source}: 'items' must be a list, not {_json_type(raw_items)}")
    elif isinstance(doc, list):
        raw_items, where = doc, ""
    else:
        raise InputError(f"{source}: expected an object with 'items' or a list, not {_json_type(doc)}")
    if not raw_items:
        raise InputError(f"{source}: no items")
    items: list[PaperItem] = []
    problems: list[ItemProblem] = []
    omitted = 0
    seen: set[str] = set()
    for index, raw in enumerate(raw_items):
        place = f"{source}: {where}[{index}]"
        item_id = _item_id(raw, index)
        try:
            item = _parse_item(raw, item_id, place)
            if item_id in seen:
                raise InputError(f"{place}: duplicate id {_short(repr(item_id))}")
            items.append(item)
        except InputError as exc:
            if len(problems) < MAX_ERRORS_PER_FILE:
                problems.append(ItemProblem(id=item_id if item_id not in seen else f"{item_id}#{index}",
                                            message=str(exc)))
            else:
                omitted += 1
        seen.add(item_id)
    return Paper(paper_id=paper_id, items=tuple(items), problems=tuple(problems), problems_omitted=omitted)


def _item_id(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str | int) and not isinstance(raw.get("id"), bool):
        return str(raw["id"])
    return str(index)


def _parse_item(raw: Any, item_id: str, place: str) -> PaperItem:
    if isinstance(raw, str):  # a bare LaTeX string: checked like any item's 'latex'
        raw = {"latex": raw}
    if not isinstance(raw, dict):
        raise InputError(f"{place}: an item must be an object or a string, not {_json_type(raw)}")
    if "id" in raw and (not isinstance(raw["id"], str | int) or isinstance(raw["id"], bool) or raw["id"] == ""):
        raise InputError(f"{place}: id must be a non-empty string or an integer")
    latex = raw.get("latex")
    if not isinstance(latex, str):
        raise InputError(f"{place}: 'latex' must be a string, not {_json_type(latex)}")
    if not latex.strip():
        raise InputError(f"{place}: 'latex' is empty")
    if "\x00" in latex:
        raise InputError(f"{place}: 'latex' contains a NUL character")
    if not _is_unicode(latex):
        raise InputError(f"{place}: 'latex' is not valid Unicode (a lone surrogate escape)")
    kind = raw.get("type", "display")
    if kind not in ITEM_TYPES:
        shown = _short(repr(kind)) if isinstance(kind, str) else _json_type(kind)  # no repr of deep nests
        raise InputError(f"{place}: type must be one of {', '.join(ITEM_TYPES)}, not {shown}")
    return PaperItem(id=item_id, type=kind, latex=latex)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(text: str, limit: int = 200) -> str:
    """Hostile input can be megabytes long: messages quote at most ``limit`` characters of it."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def read_extracted(path: str) -> tuple[bytes, os.stat_result | ObjectStat]:
    """The bytes and stat of an input file, read through one open file descriptor (so they agree).

    Opened non-blocking so that a FIFO among the inputs fails instead of hanging the worker. A URL
    (``s3://...``) is read through fsspec; its stat is the object's size and modification time.
    """
    if is_url(path):
        return _read_object(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:  # a symlink loop (ELOOP), a name too long, no permission, ...
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None
    except ValueError:  # a NUL in the listed path
        raise InputError(f"{path!r}: not a usable path (it contains a NUL character)") from None
    st = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(st.st_mode):
        problem = "is a folder, not a file"
    elif not stat.S_ISREG(st.st_mode):
        problem = "not a regular file"
    elif st.st_size > MAX_INPUT_BYTES:
        problem = f"{st.st_size} bytes, more than the {MAX_INPUT_BYTES} an input may have"
    if problem:
        os.close(fd)
        raise InputError(f"{path}: {problem}")
    with os.fdopen(fd, "rb") as f:
        try:
            return f.read(MAX_INPUT_BYTES + 1), st
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _read_object(url: str) -> tuple[bytes, ObjectStat]:
    try:
        st = stat_url(url)
        if st.st_size > MAX_INPUT_BYTES:
            raise InputError(f"{url}: {st.st_size} bytes, more than the {MAX_INPUT_BYTES} an input may have")
        with open_url(url) as f, storage_errors(url, "read it"):
            return f.read(MAX_INPUT_BYTES + 1), st
    except StorageError as exc:
        raise InputError(str(exc)) from None
