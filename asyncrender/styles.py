"""Styles: the looks an item can be rendered in (math fonts, font size, dpi), and which look(s)
each item gets. Pure.

A style is preamble lines added after ``render.preamble`` (each style is its own precompiled
format), and optionally its own font size and dpi. ``render.style_choice = "all"`` renders every
item in every style of ``render.styles``; ``"one"`` gives each item one of them, picked from a
hash of ``render.seed``, its paper and its item id: the same in every run, on every machine.
``render.dpi`` may be a range ``[lo, hi]``: each item then gets a dpi from the same kind of hash.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

StyleChoice = Literal["all", "one"]
STYLE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class StyleDef:
    """A user style, ``[render.style.NAME]``."""

    name: str
    preamble: tuple[str, ...] = ()
    font_size: Literal[10, 11, 12] | None = None
    dpi: int | None = None


# Built from Debian's TeX Live packages that scripts/setup.sh installs (psnfss, sfmath, euler in
# texlive-latex-extra / -fonts-recommended; lmodern is its own small package).
BUILT_IN: dict[str, StyleDef] = {s.name: s for s in (
    StyleDef("cm"),  # Computer Modern: the look without a style
    StyleDef("lm", (r"\usepackage{lmodern}",)),
    StyleDef("times", (r"\usepackage{mathptmx}",)),
    StyleDef("palatino", (r"\usepackage{mathpazo}",)),
    StyleDef("sans", (r"\renewcommand{\familydefault}{\sfdefault}", r"\usepackage{sfmath}")),
    StyleDef("euler", (r"\usepackage{euler}",)),
)}


def _unit(seed: int, what: str, paper_id: str, item_id: str) -> int:
    """A 64-bit number from the seed and an item's identity (``what`` keeps draws independent)."""
    text = f"{seed}\0{what}\0{paper_id}\0{item_id}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def item_styles(styles: tuple[str, ...], choice: StyleChoice, seed: int, paper_id: str,
                item_id: str) -> tuple[str, ...]:
    """The styles one item is rendered in."""
    if choice == "all" or len(styles) == 1:
        return styles
    return (styles[_unit(seed, "style", paper_id, item_id) % len(styles)],)


def item_dpi(dpi: int, dpi_range: tuple[int, int] | None, seed: int, paper_id: str, item_id: str) -> int:
    """The dpi of one item: ``dpi``, or one drawn from ``dpi_range`` (inclusive)."""
    if dpi_range is None:
        return dpi
    low, high = dpi_range
    return low + _unit(seed, "dpi", paper_id, item_id) % (high - low + 1)
