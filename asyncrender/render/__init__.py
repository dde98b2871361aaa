"""Render backends: ``latex`` (TeX Live's latex + dvipng) and ``mathtext`` (matplotlib, pip only)."""

from __future__ import annotations

import logging

from asyncrender.render.base import Backend
from asyncrender.render.tools import tex_available, tex_versions

log = logging.getLogger("asyncrender")


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


def backend_version(name: str) -> str:
    """A backend's version, for the config fingerprint; for ``latex`` without importing the
    backend (the orchestrator never typesets: its start-up stays short)."""
    return tex_versions() if name == "latex" else get_backend(name).version()
