"""A picture of rendered formulas beside their LaTeX (the README's ``docs/gallery.png``).

    asyncrender gallery -c CACHE_DIR -o docs/gallery.png [--count 6] [--item PAPER/ITEM ...]

Picks images from cache entries (deterministically: entries in their fixed order, the first
display formula of each paper that fits, or the items named with ``--item``) and draws a
two-column table with Pillow: the LaTeX source in DejaVu Sans Mono (shipped with matplotlib, so
the picture looks the same on every machine) on the left, the PNG as rendered on the right.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from asyncrender.cache.entry import entry_paper_id
from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.model import CacheEntry
from asyncrender.tempfiles import write_atomic

TEXT_CHARS = 58  # LaTeX column width, in characters
MAX_IMAGE_WIDTH = 720  # wider images are scaled down to this
PAD = 14
FONT_SIZE = 15


@dataclass(frozen=True)
class Pick:
    paper_id: str
    item_id: str
    latex: str
    path: str
    renderer: str = ""
    style: str = ""


def pick_images(entries: Iterable[CacheEntry], count: int, items: Sequence[str] = (),
                max_width: int = 2 * MAX_IMAGE_WIDTH, styles: bool = False) -> list[Pick]:
    """``items`` (``paper/item``) in the order given when named; else the first display image of
    each paper, at most ``max_width`` pixels wide, until ``count`` are found. With ``styles``,
    each formula in every style it was rendered in; else in its first."""
    wanted = {name: i for i, name in enumerate(items)}
    found: dict[str, list[Pick]] = {}
    picks: list[list[Pick]] = []
    for entry in entries:
        paper_id = entry_paper_id(entry)
        looks: dict[str, list[Pick]] = {}  # item id -> its images, one per style
        for image in entry.get("images") or []:
            if not isinstance(image, dict) or not image.get("latex") or not image.get("path"):
                continue
            pick = Pick(paper_id, str(image.get("id")), str(image["latex"]), str(image["path"]),
                        str((entry.get("config") or {}).get("renderer", "")), str(image.get("style") or ""))
            looks.setdefault(pick.item_id, []).append(pick)
            if wanted:
                if f"{paper_id}/{pick.item_id}" in wanted:
                    found[f"{paper_id}/{pick.item_id}"] = looks[pick.item_id]
            elif (len(looks[pick.item_id]) == 1 and len(picks) < count and image.get("type", "display") == "display"
                  and int(image.get("width") or 0) <= max_width and not any(p[0].paper_id == paper_id for p in picks)):
                picks.append(looks[pick.item_id])
        if not wanted and len(picks) >= count:
            break  # the styles of a chosen formula are all in its own entry, read by now
    chosen = [found[name] for name in sorted(found, key=wanted.__getitem__)] if wanted else picks
    if wanted and len(found) < len(wanted):
        raise LookupError(f"not rendered in this cache: {', '.join(n for n in items if n not in found)}")
    return [pick for looks_of_one in chosen for pick in (looks_of_one if styles else looks_of_one[:1])]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSansMono.ttf"
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:  # no FreeType in this Pillow: the built-in bitmap font still works
        return ImageFont.load_default()


def draw_gallery(picks: Sequence[Pick]) -> Image.Image:
    """The picture: a header row, then one row per pick (LaTeX left, image right)."""
    font = _font(FONT_SIZE)
    bold = _font(FONT_SIZE + 1)
    char_w = int(font.getlength("M")) or 8
    line_h = FONT_SIZE + 6
    text_w = TEXT_CHARS * char_w
    rows: list[tuple[list[str], Image.Image]] = []
    for pick in picks:
        lines = textwrap.wrap(pick.latex, TEXT_CHARS, break_long_words=True, break_on_hyphens=False) or [""]
        with Image.open(pick.path) as raw:
            image = raw.convert("RGBA")
        if image.width > MAX_IMAGE_WIDTH:
            image = image.resize((MAX_IMAGE_WIDTH, max(1, image.height * MAX_IMAGE_WIDTH // image.width)),
                                 Image.Resampling.LANCZOS)
        caption = f"{pick.paper_id} / {pick.item_id}" + (f" · {pick.style}" if pick.style else "")
        rows.append(([caption, *lines], image))
    image_w = max([r[1].width for r in rows] + [240])
    width = PAD * 5 + text_w + image_w
    heights = [max(len(lines) * line_h, img.height) + 2 * PAD for lines, img in rows]
    header = line_h + 2 * PAD
    canvas = Image.new("RGB", (width, header + sum(heights)), "white")
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, header), fill=(238, 240, 244))
    renderers = sorted({p.renderer for p in picks if p.renderer})
    title = f"rendered by asyncrender ({', '.join(renderers)})" if renderers else "rendered by asyncrender"
    draw.text((PAD, PAD), "LaTeX", font=bold, fill=(30, 30, 30))
    draw.text((PAD * 3 + text_w, PAD), title, font=bold, fill=(30, 30, 30))
    y = header
    for (lines, image), h in zip(rows, heights, strict=True):
        draw.line((0, y, width, y), fill=(210, 210, 215))
        for i, line in enumerate(lines):
            colour = (120, 120, 130) if i == 0 else (20, 20, 20)  # the paper/item caption is grey
            draw.text((PAD, y + PAD + i * line_h), line, font=font, fill=colour)
        canvas.paste(image, (PAD * 3 + text_w, y + (h - image.height) // 2), image)
        y += h
    draw.line((PAD * 2 + text_w, header, PAD * 2 + text_w, y), fill=(210, 210, 215))
    return canvas


def make_gallery(cache_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, count: int = 6,
                 items: Sequence[str] = (), styles: bool = False) -> list[Pick]:
    """Draw the gallery of ``cache_dir`` into the PNG ``out``; returns what it shows."""
    cache = DistributedCacheManager(cache_dir, create=False)
    picks = pick_images(cache.iter_entries(ordered=True), count, items, styles=styles)
    if not picks:
        raise LookupError(f"{cache_dir}: no rendered display formula to show")
    import io

    buf = io.BytesIO()
    draw_gallery(picks).save(buf, format="PNG", optimize=True)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(Path(out), buf.getvalue())
    return picks
