"""Colour settings: the names and ``#rrggbb`` values ``render.foreground`` / ``render.background``
accept, as dvipng wants them and as RGBA. Pure."""

from __future__ import annotations

import re

_NAMED_COLOURS: dict[str, tuple[float, float, float]] = {
    "black": (0.0, 0.0, 0.0),
    "white": (1.0, 1.0, 1.0),
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "gray": (0.5, 0.5, 0.5),
    "grey": (0.5, 0.5, 0.5),
}
_HEX = re.compile(r"#([0-9a-fA-F]{6})")


def dvipng_colour(spec: str) -> str:
    """``black``, ``white``, ``#rrggbb`` ... as dvipng's ``rgb r g b``; ``transparent`` as is."""
    s = spec.strip()
    if s.lower() == "transparent":
        return "Transparent"
    m = _HEX.fullmatch(s)
    if m:
        v = m.group(1)
        rgb = tuple(int(v[k : k + 2], 16) / 255 for k in (0, 2, 4))
    elif s.lower() in _NAMED_COLOURS:
        rgb = _NAMED_COLOURS[s.lower()]
    else:
        raise ValueError(f"unknown colour {spec!r} (use a name like 'black', '#rrggbb' or 'transparent')")
    return "rgb " + " ".join(f"{c:.4g}" for c in rgb)


def rgba(spec: str) -> tuple[int, int, int, int]:
    """A colour spec as an RGBA tuple (for padding)."""
    if spec.strip().lower() == "transparent":
        return (255, 255, 255, 0)
    parts = dvipng_colour(spec).split()[1:]
    r, g, b = (round(float(p) * 255) for p in parts)
    return (r, g, b, 255)


__all__ = ["dvipng_colour", "rgba"]
