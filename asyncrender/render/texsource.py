"""Pure helpers for the latex backend: the TeX sources of a batch, colours and pixel estimates.

Nothing here does I/O. ``latex.py`` writes what these functions return into a private temp dir.

Layout of a batch (see ``latex.py`` for the algorithm that uses it):

* ``preamble_source`` is ``\\documentclass[<size>pt]{article}``, the user's preamble,
  ``preview`` (``active``, *without* ``tightpage``: dvipng's ``-T tight`` then crops to the ink) and
  a hook that writes each snippet's box size to the log (``ARDIM<nonce> id ht dp wd``, in sp)
  before it is shipped, so that an oversized page is refused before dvipng draws it.
* Every item's LaTeX goes into its own file ``i<id>.tex``; the main file reads it with the
  ``\\input`` primitive. A file boundary is a hard stop for TeX: a runaway argument, an unclosed
  definition or ``\\if`` ends there with TeX's "File ended while ..." error instead of swallowing
  the next items.
* Each item is one line of the main file: set ``\\count1`` to the item's id (it labels the DVI
  page), write a start marker, open ``preview``, open a group, the math wrapper, the file, close
  it all, write an end marker. The group keeps local assignments (``\\def``, ``\\color``, catcodes,
  lengths) from leaking into the next item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from asyncrender.config import RenderSettings

ARINPUT = r"\ARinput"

SP_PER_INCH = 65536 * 72.27


def preamble_source(settings: RenderSettings) -> str:
    """Everything before ``\\begin{document}`` (also what the precompiled format holds).

    It names no nonce (the box-size hook writes ``\\ARnonce``, which each document defines), so
    one format serves every process and run with this preamble.
    """
    lines = [
        rf"\documentclass[{settings.font_size}pt]{{article}}",
        *settings.preamble,
        r"\usepackage[active]{preview}",
        r"\makeatletter",
        rf"\let{ARINPUT}\@@input",
        r"\g@addto@macro\pr@ship@end{\immediate\write-1{ARDIM\ARnonce\space"
        + r"\number\count1 \space\number\ht\pr@box\space\number\dp\pr@box\space\number\wd\pr@box}}",
        r"\makeatother",
    ]
    return "\n".join(lines) + "\n"


def format_key(settings: RenderSettings) -> str:
    """Names a precompiled format: a hash of what goes into it."""
    data = "\n".join([str(settings.font_size), *settings.preamble])
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def item_file_name(item_id: int) -> str:
    return f"i{item_id}.tex"


def item_file_text(latex: str) -> str:
    """An item's file: its text as is, ended by a newline (TeX's end of line is a space)."""
    return latex if latex.endswith("\n") else latex + "\n"


def item_line(item_id: int, kind: str, nonce: str) -> str:
    """The one line of the main file that typesets item ``item_id`` (ids start at 1)."""
    body = f"{ARINPUT} {item_file_name(item_id)} "
    if kind == "display":
        body = rf"$\displaystyle {body}$"
    elif kind == "inline":
        body = f"${body}$"
    # The start marker carries TeX's state as the item begins: group level, conditional level
    # and mode. An item that starts in the same state as a run's first item starts exactly as it
    # would alone (up to \global assignments), even after an earlier item's error.
    state = r"S\the\currentgrouplevel.\the\currentiflevel.\ifvmode v\else\ifmmode m\else h\fi\fi"
    return (
        rf"\global\count1={item_id} \message{{[ARB{nonce} {item_id} {state}]}}"
        rf"\begin{{preview}}\begingroup {body}\endgroup\end{{preview}}"
        rf"\message{{[ARE{nonce} {item_id}]}}%"
    )


def document_source(
    items: Sequence[tuple[int, str]], settings: RenderSettings, nonce: str, with_preamble: bool
) -> str:
    """The main file for a batch of ``(id, type)``; without the preamble when a format holds it."""
    head = preamble_source(settings) if with_preamble else ""
    body = "\n".join(item_line(i, kind, nonce) for i, kind in items)
    return f"{head}\\begin{{document}}\\def\\ARnonce{{{nonce}}}\n{body}\n\\end{{document}}\n"


def estimated_pixels(ht: int, dp: int, wd: int, dpi: int, padding: int) -> int:
    """Pixels of a page whose box is ``ht``+``dp`` by ``wd`` sp, at ``dpi``, plus padding."""
    w = max(wd, 0) * dpi / SP_PER_INCH + 2 * padding
    h = (max(ht, 0) + max(dp, 0)) * dpi / SP_PER_INCH + 2 * padding
    return int(w + 1) * int(h + 1)
