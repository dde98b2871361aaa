"""Render backends: ``latex`` (TeX Live's latex + dvipng) and ``mathtext`` (matplotlib, pip only)."""

from __future__ import annotations

import logging
import shutil

from asyncrender.render.base import Backend

log = logging.getLogger("asyncrender")


def tex_available() -> bool:
    try:
        from asyncrender.render.latex import tex_available as check
    except ImportError:
        return bool(shutil.which("latex") and shutil.which("dvipng"))
    return check()


def resolve_renderer(requested: str) -> str:
    """``auto`` becomes ``latex`` where TeX is found, else ``mathtext`` (with a one-line notice)."""
    if requested != "auto":
        return requested
    if tex_available():
        return "latex"
    log.warning("TeX (latex, dvipng, preview.sty) not found: rendering with matplotlib mathtext instead")
    return "mathtext"


def get_backend(name: str) -> Backend:
    if name == "mathtext":
        from asyncrender.render.mathtext import MathtextBackend

        backend: Backend = MathtextBackend()
        return backend
    if name == "latex":
        from asyncrender.render.latex import LatexBackend

        backend = LatexBackend()
        return backend
    raise ValueError(f"unknown renderer {name!r}")
