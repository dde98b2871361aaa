"""Pure helpers for the latex backend: the TeX source of a batch, colours and pixel estimates.

Nothing here does I/O. ``latex.py`` streams what ``document_source`` returns into TeX through a
pipe that nothing else can open (see ``latex.py`` for the algorithm that uses it).

Layout of a batch:

* ``preamble_source`` is ``\\documentclass[<size>pt]{article}``, the user's preamble, ``longtable``,
  ``preview`` (``active``, *without* ``tightpage``: dvipng's ``-T tight`` then crops to the ink),
  ``table``/``figure`` redefined to typeset their content in place (a ``minipage`` of the column
  width, ``\\caption`` works) instead of floating away, and the harness macros (``\\AR...``).
  It holds no secret, so one precompiled format serves every process and run.
* There are no item files. Every item's text is written into the main document itself, read there
  verbatim (every special character made "other") up to a byte that cannot occur in it (``^^B``;
  control characters of the item are written in TeX's ``^^`` notation), and typeset with e-TeX's
  ``\\scantokens``: a pseudo-file, so a runaway argument, an unclosed definition or ``\\if`` ends at
  the item's end with TeX's "File ended while ..." error, and TeX's context lines count the
  item's own lines (``l.1 \\frac{a}{b``).
* Each item is one line of the main document (plus its own extra lines):

  ``\\message{[ARB<nonce> id S..]}`` start marker with TeX's state (group level, conditional level,
  mode, group type), then ``\\ARpre{id}``: reset what LaTeX keeps globally (``\\AR@reset``: every
  counter of ``\\cl@@ckpt`` to its value at ``\\begin{document}``, amsmath's label and ``\\over``
  bookkeeping, NFSS's global math fonts and what ``\\every@math@size`` derives from them, recomputed;
  also the page label ``\\count1`` := id, the interaction mode, open read/write streams),
  ``\\begin{preview}\\begingroup``, the math wrapper,
  ``\\ARitem <text>^^B``: ``[ARP state]``, assignment tracing on, the item, ``[ARQ state]``
  (from ``\\everyeof``: the state as the item's text ends, to compare with ``ARP``), the wrapper's
  end, ``\\endgroup`` (tokens the item left with ``\\aftergroup`` run here, traced), a flush of a
  pending ``\\afterassignment``, ``[ARX]`` and tracing off, ``\\end{preview}`` (the page), the end marker
  ``[ARE<nonce> id pages ht dp wd]`` (preview pages the item shipped and the last box, in sp).
  ``\\aftergroup`` chains that would reach past ``\\end{preview}`` need ``\\aftergroup`` in the item's
  text, and such items run alone (``latex.needs_own_run``).

  ``\\ARsnap``, right after ``\\begin{document}``, records the counters, runs ``\\@begindvi`` once
  (so no item's page is "the first page") and runs ``\\AR@reset`` once with tracing on: every name
  it assigns globally is reset before every item, so an item's global change to one of them cannot
  reach the next item (``texlog`` reads that list from the log).

  The nonce exists only as literal text of the main document, which no item can open, never in a
  macro; the parser (``texlog``) also requires every marker exactly once and in order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from asyncrender.config import RenderSettings

END_OF_ITEM = "\x02"  # never in an encoded item: control characters are written as ^^X

# Packages the harness relies on, loaded after the user's preamble.
_HARNESS = r"""\usepackage{longtable}
\usepackage[active]{preview}
\makeatletter
\newdimen\AR@ht \newdimen\AR@dp \newdimen\AR@wd \newcount\AR@pages \newcount\AR@flush
\g@addto@macro\pr@ship@end{\global\AR@ht\ht\pr@box\global\AR@dp\dp\pr@box
  \global\AR@wd\wd\pr@box\global\advance\AR@pages\@ne}
\def\AR@float#1{\def\@captype{#1}\@ifnextchar[\AR@float@\AR@float@@}
\def\AR@float@[#1]{\AR@float@@}
\def\AR@float@@{\minipage{\columnwidth}\@floatboxreset}
\def\table{\AR@float{table}}\let\endtable\endminipage
\def\figure{\AR@float{figure}}\let\endfigure\endminipage
\@namedef{table*}{\AR@float{table}}\expandafter\let\csname endtable*\endcsname\endminipage
\@namedef{figure*}{\AR@float{figure}}\expandafter\let\csname endfigure*\endcsname\endminipage
\def\ARstate{S\the\currentgrouplevel.\the\currentiflevel.\ifvmode v\else\ifmmode m\else h\fi\fi
  .\the\currentgrouptype}
\def\ARistate{\ARstate:\detokenize\expandafter{\@currenvir}}
\def\AR@streams{\closein0 \closein1 \closein2 \closein3 \closein4 \closein5 \closein6 \closein7
  \closein8 \closein9 \closein10 \closein11 \closein12 \closein13 \closein14 \closein15
  \immediate\closeout0 \immediate\closeout1 \immediate\closeout2 \immediate\closeout3 \immediate\closeout4
  \immediate\closeout5 \immediate\closeout6 \immediate\closeout7 \immediate\closeout8 \immediate\closeout9
  \immediate\closeout10 \immediate\closeout11 \immediate\closeout12 \immediate\closeout13
  \immediate\closeout14 \immediate\closeout15}
\let\AR@over\over\let\AR@atop\atop\let\AR@above\above
\let\AR@overwithdelims\overwithdelims\let\AR@atopwithdelims\atopwithdelims
\let\AR@abovewithdelims\abovewithdelims
\def\AR@reset{\AR@ckpt\global\@ignorefalse\global\@eqnswfalse
  \global\let\over\AR@over\global\let\atop\AR@atop\global\let\above\AR@above
  \global\let\overwithdelims\AR@overwithdelims\global\let\atopwithdelims\AR@atopwithdelims
  \global\let\abovewithdelims\AR@abovewithdelims\global\setbox\pr@box\box\voidb@x
  \global\AR@pages\z@\global\AR@ht\z@\global\AR@dp\z@\global\AR@wd\z@
  \global\setbox\@mpfootins\box\voidb@x\global\setbox\@labels\box\voidb@x\global\setbox\@ne\box\voidb@x
  \global\setbox\z@\box\voidb@x\global\setbox\thr@@\box\voidb@x\global\setbox5\box\voidb@x
  \global\setbox7\box\voidb@x\global\setbox9\box\voidb@x
  \global\setbox\csname g_para_indent_box\endcsname\box\voidb@x
  \ifdefined\@envbody\global\@envbody{}\fi\global\ReadonlyShipoutCounter\z@\global\c@totalpages\z@
  \AR@flags\global\let\glb@currsize\relax\glb@settings}
\def\AR@flags{}
\def\AR@keepreg#1{\ifdefined#1%
  \xdef\AR@flags{\unexpanded\expandafter{\AR@flags}\global\noexpand#1=\the#1\relax}\fi}
\def\AR@keep#1{\global\expandafter\let\csname AR@k\string#1\endcsname#1%
  \xdef\AR@flags{\unexpanded\expandafter{\AR@flags}\global\let\noexpand#1%
    \expandafter\noexpand\csname AR@k\string#1\endcsname}}
\def\ARsnap{\AR@keep\if@nobreak\AR@keep\if@newlist\AR@keep\if@noskipsec\AR@keep\if@inlabel
  \AR@keep\if@afterindent\AR@keep\if@minipage\AR@keep\if@nmbrlist
  \expandafter\AR@keep\csname __shipout_run_firstpage_hook:\endcsname
  \expandafter\AR@keep\csname __shipout_add_firstpage_material:Nn\endcsname
  \expandafter\AR@keep\csname __shipout_add_firstpage_specials:\endcsname
  \expandafter\AR@keep\csname __shipout_drop_firstpage_specials:\endcsname
  \AR@keep\ifdt@p\AR@keep\iftag@\AR@keep\ifshifttag@\AR@keep\ifmeasuring@\AR@keep\alt@tag
  \AR@keep\tag@lengths\AR@keep\raise@tag\AR@keep\df@tag\AR@keep\df@label\AR@keep\maxcolumn@widths
  \AR@keepreg\@eqcnt\AR@keepreg\@eqpen\AR@keepreg\eqnshift@\AR@keepreg\alignsep@\AR@keepreg\tagshift@
  \AR@keepreg\tagwidth@\AR@keepreg\totwidth@\AR@keepreg\lineht@\AR@keepreg\row@\AR@keepreg\column@
  \AR@keepreg\dspbrk@lvl\AR@keepreg\maxfields@\AR@keepreg\DOTSCASE@\AR@keepreg\classnum@
  \AR@keepreg\macc@depth\AR@keepreg\uproot@\AR@keepreg\leftroot@
  \begingroup\def\@elt##1{\global\csname c@##1\endcsname\the\csname c@##1\endcsname
  \relax}\xdef\AR@ckpt{\cl@@ckpt}\endgroup\setbox\z@\vbox{\@begindvi}%
  \tracingassigns\@ne\AR@reset\AR@owned\tracingassigns\z@}
% Registers the harness or NFSS own, that no item can read without @ (needs_own_run): listed as
% harmless by assigning them their own value while the log lists \AR@reset's names.
\def\AR@owned{\global\pr@snippet\pr@snippet
  \global\csname c@mv@normal\endcsname\csname c@mv@normal\endcsname
  \global\csname c@mv@bold\endcsname\csname c@mv@bold\endcsname}
\def\ARpre#1{\interactionmode\@ne\globaldefs\z@\global\count\@ne#1\relax\AR@reset\AR@streams
  \begin{preview}\begingroup}
\def\ARq{\message{[ARQ \ARistate]}}
\begingroup\catcode`\^^B=12 \catcode`\^^M=12 %
\gdef\ARitem{\begingroup\catcode92=12 \catcode123=12 \catcode125=12 \catcode36=12 %
  \catcode38=12 \catcode35=12 \catcode94=12 \catcode95=12 \catcode37=12 \catcode126=12 %
  \catcode32=12 \catcode13=12 \catcode2=12 \AR@grab}%
\gdef\AR@grab#1^^B{\endgroup\everyeof{\ARq}\message{[ARP \ARistate]}%
  \global\tracingassigns\@ne\begingroup\newlinechar13 \expandafter\endgroup\scantokens{#1}}%
\endgroup
\def\ARpost{\endgroup\AR@flush\z@\message{[ARX]}\global\tracingassigns\z@\end{preview}}
\def\ARinfo{\the\AR@pages\space\number\AR@ht\space\number\AR@dp\space\number\AR@wd}
\def\ARoff{\global\tracingassigns\z@}% (already off: \ARpost)
\makeatother
"""


_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")

SP_PER_INCH = 65536 * 72.27


def preamble_source(settings: RenderSettings) -> str:
    """Everything before ``\\begin{document}`` (also what the precompiled format holds)."""
    lines = [rf"\documentclass[{settings.font_size}pt]{{article}}", *settings.preamble]
    return "\n".join(lines) + "\n" + _HARNESS


def format_key(settings: RenderSettings) -> str:
    """Names a precompiled format: a hash of what goes into it."""
    data = "\n".join([str(settings.font_size), *settings.preamble, _HARNESS])
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def encode_item(latex: str) -> str:
    """An item's text as the main document holds it, read verbatim up to ``END_OF_ITEM``.

    Lines end with ``\\n`` (a ``\\r\\n`` too); trailing spaces of a line go, as TeX drops them from
    any file; one final newline is dropped (a file's last line ends with one anyway); other control
    characters become TeX's ``^^`` notation, which ``\\scantokens`` reads back as the character.
    """
    text = latex.replace("\r\n", "\n")
    if text.endswith("\n"):
        text = text[:-1]
    text = "\n".join(line.rstrip(" ") for line in text.split("\n"))
    return _CONTROL.sub(lambda m: "^^" + chr((ord(m.group()) + 64) % 128), text)


def item_source(item_id: int, kind: str, latex: str, nonce: str) -> str:
    """The lines of the main document that typeset item ``item_id`` (ids start at 1)."""
    if kind == "display":
        opening, closing = r"$\displaystyle ", "$"
    elif kind == "inline":
        opening, closing = "$", "$"
    else:
        opening, closing = "", ""
    start = rf"\message{{[ARB{nonce} {item_id} \ARstate]}}\ARpre{{{item_id}}}{opening}\ARitem "
    end = rf"{closing}\ARpost\message{{[ARE{nonce} {item_id} \ARinfo]}}\ARoff%"
    return start + encode_item(latex) + END_OF_ITEM + end


def document_source(
    items: Sequence[tuple[int, str, str]], settings: RenderSettings, nonce: str, with_preamble: bool
) -> str:
    """The main document for a batch of ``(id, type, latex)``; without the preamble when a format
    holds it."""
    head = preamble_source(settings) if with_preamble else ""
    body = "\n".join(item_source(i, kind, latex, nonce) for i, kind, latex in items)
    return f"{head}\\nofiles\\begin{{document}}\\ARsnap\n{body}\n\\end{{document}}\n"


def estimated_pixels(ht: int, dp: int, wd: int, dpi: int, padding: int) -> int:
    """Pixels of a page whose box is ``ht``+``dp`` by ``wd`` sp, at ``dpi``, plus padding."""
    w = max(wd, 0) * dpi / SP_PER_INCH + 2 * padding
    h = (max(ht, 0) + max(dp, 0)) * dpi / SP_PER_INCH + 2 * padding
    return int(w + 1) * int(h + 1)
