"""The pip-only backend: matplotlib's mathtext, for machines without TeX.

Mathtext knows a subset of TeX math: no environments (``tabular``, ``align*``, ``pmatrix``), no
``\\displaystyle`` stacking. A ``raw`` item is therefore ``unsupported``; a formula mathtext cannot
parse fails as ``latex`` with its parser's message. Items are rendered one by one; there is no TeX
start-up cost to amortise here.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence

from asyncrender.config import RenderSettings
from asyncrender.render.base import ItemOutcome, RenderItem, publish_file
from asyncrender.render.png import finish_png

# Mathtext has no timeout and its parser slows with length (10,000 characters take seconds), so
# that a hostile item cannot stall a worker, longer items fail as ``too_large`` before parsing.
MAX_LATEX_CHARS = 2000


class MathtextBackend:
    name = "mathtext"

    def version(self) -> str:
        # The installed distribution's version, without importing matplotlib (~150 ms) into the
        # orchestrator, which only needs the name for the config fingerprint.
        from importlib.metadata import version

        return f"matplotlib {version('matplotlib')}"

    def render(self, items: Sequence[RenderItem], settings: RenderSettings) -> list[ItemOutcome]:
        return [self._render_one(item, settings) for item in items]

    def _render_one(self, item: RenderItem, settings: RenderSettings) -> ItemOutcome:
        if item.dpi is not None and item.dpi != settings.dpi:
            settings = dataclasses.replace(settings, dpi=item.dpi)
        if item.type == "raw":
            return ItemOutcome.failed("unsupported", "mathtext cannot typeset raw LaTeX (tables, environments)")
        if len(item.latex) > MAX_LATEX_CHARS:
            return ItemOutcome.failed("too_large", f"{len(item.latex)} characters, more than mathtext's "
                                      f"{MAX_LATEX_CHARS}")
        try:
            drawn, depth = _draw(item.latex, settings)
        except ValueError as exc:
            return ItemOutcome.failed("latex", f"mathtext: {' '.join(str(exc).split())}")
        png = finish_png(drawn, settings, depth)
        data, width, height = png.data, png.width, png.height
        if width * height > settings.max_pixels:
            return ItemOutcome.failed("too_large", f"{width}x{height} pixels, over max_pixels {settings.max_pixels}")
        try:
            publish_file(data, item.out_path)
        except OSError as exc:
            return ItemOutcome.failed("io", f"cannot write {item.out_path}: {exc.strerror or exc}")
        return ItemOutcome(width=width, height=height, depth=png.depth)


def _draw(latex: str, settings: RenderSettings) -> tuple[bytes, int]:
    """The PNG, and its baseline's depth in pixels (plus the padding)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    # Figure (not pyplot): no global state, nothing to close. The text is drawn once to measure it,
    # then the figure is sized to it, as mathtext.math_to_image does.
    fig = Figure(figsize=(0.01, 0.01))
    text = fig.text(0, 0, f"${latex}$", fontproperties=FontProperties(size=settings.font_size),
                    color=settings.foreground)
    transparent = settings.background == "transparent"
    buf = io.BytesIO()
    fig.savefig(buf, dpi=settings.dpi, format="png", bbox_inches="tight",
                pad_inches=settings.padding / settings.dpi, transparent=transparent,
                facecolor="none" if transparent else settings.background)
    # The text sits on the figure's y = 0 (baseline alignment); the tight image starts at its
    # extent's bottom (matplotlib lays text out at least as deep as the descent of "lp").
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(settings.dpi)
    below = -text.get_window_extent(FigureCanvasAgg(fig).get_renderer()).y0  # type: ignore[no-untyped-call]
    return buf.getvalue(), round(below) + settings.padding
