"""Input: the file list (streamed in chunks) and the extracted JSON files it names.

Its names load on first use: a worker reads extracted files only, and the file list's module
brings asyncio and aiofiles, which a worker process would import for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncrender.lazy import exports

if TYPE_CHECKING:
    from asyncrender.inputs.extracted import Paper, PaperItem, parse_extracted, read_extracted
    from asyncrender.inputs.filelist import count_listed, listed_file, read_file_list
    from asyncrender.model import InputError

_EXPORTS = {
    "InputError": "asyncrender.model",
    "Paper": "asyncrender.inputs.extracted",
    "PaperItem": "asyncrender.inputs.extracted",
    "parse_extracted": "asyncrender.inputs.extracted",
    "read_extracted": "asyncrender.inputs.extracted",
    "count_listed": "asyncrender.inputs.filelist",
    "listed_file": "asyncrender.inputs.filelist",
    "read_file_list": "asyncrender.inputs.filelist",
}


__getattr__ = exports(__name__, _EXPORTS)


__all__ = ["InputError", "Paper", "PaperItem", "count_listed", "listed_file", "parse_extracted",
           "read_extracted", "read_file_list"]
