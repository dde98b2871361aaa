"""What makes two formulas the same: the normalised LaTeX and its type, hashed (``formula_hash``),
and a compact set of the hashes seen (``--dedup``). Pure.

The normalisation removes only differences TeX itself ignores, following TeX's own tokenizer:

- a comment (``%`` to the end of the line, with the next line's leading blanks) is removed;
- after a control word (``\\alpha``) blanks are dropped, except one space before a letter
  (``\\alpha x`` and ``\\alpha   x`` are one formula, ``\\alpha+x`` and ``\\alpha + x`` too);
- in math (``display`` and ``inline`` items) every other blank is dropped (``a + b`` is ``a+b``);
  TeX ignores them there. Blanks inside ``\\text{...}`` matter to TeX but are dropped too: such
  near-twins count as one formula, which errs on the side of no leak;
- in ``raw`` items (text mode: tables, environments) a run of blanks is one space, and a run that
  holds an empty line is ``\\par``;
- ``\\verb`` arguments are kept character for character; leading and trailing blanks go.

Everything else counts: ``x^2`` and ``x^{2}`` are two formulas (they typeset alike, but telling
that needs TeX). ``formula_hash`` is 16 hex digits (64 bits) of the SHA-256 of
``type``, a NUL and the normalised LaTeX.
"""

from __future__ import annotations

import hashlib
from array import array

NORMALISATION_VERSION = 1
_BLANKS = " \t\r\n\f\v"


def normalise_latex(latex: str, math: bool) -> str:
    """``latex`` with the blanks and comments TeX ignores removed (see the module docstring)."""
    out: list[str] = []
    i, n = 0, len(latex)
    after_word = False  # the last token was a control word: blanks after it are skipped
    while i < n:
        c = latex[i]
        if c == "\\":
            j = i + 1
            if j < n and latex[j].isascii() and latex[j].isalpha():
                while j < n and latex[j].isascii() and latex[j].isalpha():
                    j += 1
                word = latex[i:j]
                out.append(word)
                if word == "\\verb" and j < n and latex[j] not in _BLANKS and not latex[j].isalpha():
                    end = latex.find(latex[j], j + 1)
                    end = n - 1 if end < 0 else end
                    out.append(latex[j : end + 1])
                    i, after_word = end + 1, False
                    continue
                i, after_word = j, True
                continue
            out.append(latex[i : j + 1])  # a control symbol: \\, \%, \  ...
            i, after_word = j + 1, False
            continue
        if c == "%":
            end = latex.find("\n", i)
            i = n if end < 0 else end + 1
            while i < n and latex[i] in " \t":
                i += 1
            continue
        if c in _BLANKS:
            j = i
            while j < n and latex[j] in _BLANKS:
                j += 1
            following = latex[j] if j < n else ""
            if after_word:
                if following.isascii() and following.isalpha():
                    out.append(" ")
            elif not math and out and following:
                out.append("\\par " if latex.count("\n", i, j) >= 2 else " ")
            i = j
            continue
        out.append(c)
        i, after_word = i + 1, False
    return "".join(out).strip(_BLANKS)


def formula_hash(latex: str, item_type: str) -> str:
    """16 hex digits naming a formula: the same for LaTeX that differs only as TeX ignores."""
    normal = normalise_latex(latex, item_type != "raw")
    data = f"{item_type}\0{normal}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:16]


class HashSet64:
    """A set of 64-bit hashes in one flat array (open addressing, linear probing, at most half
    full): 16 MiB per million members (24 MiB while it grows), where a Python ``set`` of ints
    takes about 100 MiB. Zero marks a free slot, so a hash is stored with its lowest bit set:
    two hashes that differ in that bit alone count as one (a 2**-63 chance per pair)."""

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._mask = 1023
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, value: int) -> bool:
        """Add ``value``; whether it was new."""
        value = (value & 0xFFFF_FFFF_FFFF_FFFF) | 1
        slots, mask = self._slots, self._mask
        i = (value >> 1) & mask
        while True:
            held = slots[i]
            if held == 0:
                slots[i] = value
                self._count += 1
                if self._count * 2 > mask:
                    self._grow()
                return True
            if held == value:
                return False
            i = (i + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = len(self._slots) - 1
        slots, mask = self._slots, self._mask
        for value in old:
            if value:
                i = (value >> 1) & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = value


class SeenFormulas:
    """The formulas exported so far (``--dedup``): ``first`` is True once per formula hash;
    ``dropped`` counts the other times."""

    def __init__(self) -> None:
        self._seen = HashSet64()
        self.dropped = 0

    def first(self, hash_hex: str) -> bool:
        new = self._seen.add(int(hash_hex, 16))
        self.dropped += not new
        return new

    def __len__(self) -> int:
        return len(self._seen)
