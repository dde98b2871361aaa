"""Reading a legacy ``cache.json`` one entry at a time, in bounded memory. Pure: text in, entries out.

``json.load`` of a million-entry legacy cache holds the whole document (gigabytes) in memory. This
parser walks the top-level object with a small scanner instead and hands out one member at a time
as ``(key, raw JSON text of the value)``; the caller decodes each value alone. It reads through a
``read(n) -> str`` callable (an open text file's ``read``, or ``io.StringIO(...).read`` in tests),
so it does no I/O of its own. Values it is told to skip are scanned without being kept, so even the
``{"files": {...}}`` wrapper never sits in memory whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

CHUNK = 1 << 16
_WS = re.compile(r"[ \t\n\r]*")
_STRUCT = re.compile(r'["{}\[\]]')
_STRING_BODY = re.compile(r'(?:[^"\\]|\\.)*', re.DOTALL)
_SCALAR = re.compile(r"[^,}\]\s]*")


class LegacyJSONError(ValueError):
    pass


class _Scanner:
    def __init__(self, read: Callable[[int], str]) -> None:
        self._read = read
        self.buf = ""
        self.pos = 0
        self.mark = 0  # text before ``mark`` may be dropped
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self._read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.mark:] + chunk
        self.pos -= self.mark
        self.mark = 0
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at the end); consumed blanks are dropped."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                self.mark = self.pos
                return self.buf[self.pos]
            self.mark = self.pos
            if not self.more():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise LegacyJSONError(f"expected {char!r}, found {found or 'the end'!r}")
        self.pos += 1

    def _string_end(self) -> None:
        """From just after an opening quote to just after the closing one."""
        while True:
            self.pos = _STRING_BODY.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) and self.buf[self.pos] == '"':
                self.pos += 1
                return
            if not self.more():
                raise LegacyJSONError("unterminated string")

    def value(self, keep: bool) -> str:
        """Scan one value; its text if ``keep``, else '' (and nothing of it is held)."""
        first = self.peek()
        if first == '"':
            self.pos += 1
            self._string_end()
        elif first in "{[":
            depth = 0
            while True:
                found = _STRUCT.search(self.buf, self.pos)
                if found is None:
                    self.pos = len(self.buf)
                    if not keep:
                        self.mark = self.pos
                    if not self.more():
                        raise LegacyJSONError("unterminated object or array")
                    continue
                self.pos = found.end()
                char = found.group()
                if char == '"':
                    self._string_end()
                elif char in "{[":
                    depth += 1
                else:
                    depth -= 1
                    if depth == 0:
                        break
                if not keep:
                    self.mark = self.pos
        elif first:
            while True:
                self.pos = _SCALAR.match(self.buf, self.pos).end()  # type: ignore[union-attr]
                if self.pos < len(self.buf) or not self.more():
                    break
        else:
            raise LegacyJSONError("a value is missing at the end")
        text = self.buf[self.mark:self.pos] if keep else ""  # with keep, mark stays at the start
        self.mark = self.pos
        return text


def _members(sc: _Scanner, descend: str | None, keep: bool,
             depth: int = 1) -> Iterator[tuple[int, str, str, str]]:
    """``(depth, key, first character of the value, value text or '')`` for each member of the
    object that starts here; with ``descend``, an object under that key yields its members instead
    (depth 2, text kept)."""
    sc.expect("{")
    if sc.peek() == "}":
        sc.pos += 1
        return
    while True:
        if sc.peek() != '"':
            raise LegacyJSONError("expected a key")
        key = json.loads(sc.value(keep=True))
        sc.expect(":")
        first = sc.peek()
        if descend is not None and key == descend and first == "{":
            yield from _members(sc, None, True, depth + 1)
        else:
            yield depth, key, first, sc.value(keep)
        separator = sc.peek()
        sc.pos += 1
        if separator == "}":
            return
        if separator != ",":
            raise LegacyJSONError(f"expected ',' or '}}', found {separator or 'the end'!r}")


def _document(read: Callable[[int], str], descend: str | None,
              keep: bool) -> Iterator[tuple[int, str, str, str]]:
    sc = _Scanner(read)
    if sc.peek() != "{":
        raise LegacyJSONError("a legacy cache must be a JSON object")
    yield from _members(sc, descend, keep)
    if sc.peek() != "":
        raise LegacyJSONError("extra data after the top-level object")


def has_files_wrapper(read: Callable[[int], str]) -> bool:
    """Whether the document holds its mapping under a top-level ``"files"`` object (first pass)."""
    return any(key == "files" and first == "{" for _, key, first, _ in _document(read, None, False))


def iter_legacy_members(read: Callable[[int], str], wrapped: bool) -> Iterator[tuple[str, str]]:
    """``(path, raw JSON text of its legacy entry)``, one at a time: the members of the top-level
    object, or with ``wrapped`` those of its ``"files"`` object (as ``legacy.legacy_mapping``)."""
    if not wrapped:
        for _, key, _, text in _document(read, None, True):
            yield key, text
        return
    for depth, key, _, text in _document(read, "files", False):
        if depth == 2:
            yield key, text
