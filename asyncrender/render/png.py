"""The last step of every backend: a PNG as drawn in, the PNG as the settings want it out.

Pure (bytes in, bytes out; Pillow decodes only when pixels change). ``finish_png``

- converts to ``render.image_mode`` (``native`` keeps what the backend drew; ``L`` and ``RGB`` have
  no alpha, so a transparent background becomes white; ``P`` is an 8-bit palette, alpha kept);
- grows the image to a multiple of ``render.pad_to_multiple`` pixels, adding background on the
  right and at the bottom, so the ink stays where it was and the baseline's depth grows by the rows
  added below;
- records the real dpi in the ``pHYs`` chunk (dvipng and matplotlib both say 96 dpi whatever they
  drew at; Pillow reads it back as ``im.info["dpi"]``, within rounding to pixels per metre).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from asyncrender.colours import rgba
from asyncrender.config import RenderSettings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class FinishedPng:
    data: bytes
    width: int
    height: int
    depth: int | None  # pixels from the bottom edge up to the baseline, when the backend knows it


def finish_png(data: bytes, settings: RenderSettings, depth: int | None = None) -> FinishedPng:
    """``data`` (a whole PNG) as ``settings`` want it; ``depth`` is its baseline depth in pixels."""
    multiple = settings.pad_to_multiple
    if settings.image_mode != "native" or multiple > 1:
        data, extra_rows = _repaint(data, settings)
        if depth is not None:
            depth += extra_rows
    data = with_dpi(data, settings.dpi)
    width, height = struct.unpack(">II", data[16:24])
    return FinishedPng(data, width, height, depth)


def with_dpi(data: bytes, dpi: float) -> bytes:
    """``data`` with one ``pHYs`` chunk (right after ``IHDR``) saying ``dpi``; other chunks kept."""
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG")
    per_metre = round(dpi / 0.0254)
    body = struct.pack(">IIB", per_metre, per_metre, 1)
    phys = _chunk(b"pHYs", body)
    out = [data[:8]]
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if kind != b"pHYs":
            out.append(data[pos:end])
        if kind == b"IHDR":
            out.append(phys)
        pos = end
    return b"".join(out)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _repaint(data: bytes, settings: RenderSettings) -> tuple[bytes, int]:
    """Convert and pad with Pillow; the PNG and the rows added at the bottom."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        native_mode = im.mode
        drawn_height = im.height
        rgba_im = im.convert("RGBA")
    mode = native_mode if settings.image_mode == "native" else settings.image_mode
    multiple = settings.pad_to_multiple
    width = -(-rgba_im.width // multiple) * multiple
    height = -(-rgba_im.height // multiple) * multiple
    background = rgba(settings.background)
    if (width, height) != rgba_im.size:
        canvas = Image.new("RGBA", (width, height), background)
        canvas.paste(rgba_im, (0, 0))
        rgba_im = canvas
    if mode in ("L", "RGB"):  # no alpha: lay the image on its background, white if transparent
        under = Image.new("RGBA", rgba_im.size, background[:3] + (255,))
        out = Image.alpha_composite(under, rgba_im).convert(mode)
    elif mode == "P":
        out = rgba_im.quantize(256, method=Image.Quantize.FASTOCTREE)
    else:  # RGBA, or a native mode with alpha (LA)
        out = rgba_im if mode == "RGBA" else rgba_im.convert(mode)
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue(), height - drawn_height
