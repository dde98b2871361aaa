"""Item 7: exporting a large cache as sharded datasets (WebDataset, Parquet): time and peak RSS.

A synthetic cache of ``n`` samples (entries of 20 images each) whose images are tiny real PNGs
(a pool of 1,000 files of about 100 bytes, shared by the entries: the cost measured is the
export's, not the disk's); formulas from the shared corpus (or a fallback pool) made distinct per
sample, except that one sample in ten repeats an earlier formula, for ``--dedup``. Each export runs
in a fresh process (``python -m benchmarks.export CACHE OUT FORMAT DEDUP``) that reports its own
peak RSS (``VmHWM``). Memory must stay flat as the sample count grows 100-fold; dedup's set of
64-bit hashes costs 16 MiB per million formulas.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import time
from pathlib import Path

from asyncrender.model import ImageRecord
from benchmarks.common import Section, formulas, peak_rss_mib, run_child

ITEMS_PER_FILE = 20
PNG_POOL = 1000


def build_cache(folder: Path, n_samples: int) -> Path:
    """A cache of ``n_samples`` images; reused when it is there already."""
    from PIL import Image

    from asyncrender.cache.manager import DistributedCacheManager

    cache_dir = folder / f"cache_{n_samples}"
    done = cache_dir / "complete"
    if done.exists():
        return cache_dir
    shutil.rmtree(cache_dir, ignore_errors=True)
    pngs = folder / "pngs"
    pngs.mkdir(parents=True, exist_ok=True)
    for k in range(PNG_POOL):
        buf = io.BytesIO()
        im = Image.new("L", (12 + k % 7, 8), 255)
        im.putpixel((k % 12, k % 8), 0)
        im.save(buf, format="PNG")
        (pngs / f"{k}.png").write_bytes(buf.getvalue())
    pool = formulas()
    cache = DistributedCacheManager(cache_dir)
    for f in range(-(-n_samples // ITEMS_PER_FILE)):
        images: list[ImageRecord] = []
        for i in range(min(ITEMS_PER_FILE, n_samples - f * ITEMS_PER_FILE)):
            n = f * ITEMS_PER_FILE + i
            source = n // 2 if n % 10 == 9 else n  # one in ten repeats an earlier formula
            images.append({"id": f"eq{i}", "path": str(pngs / f"{n % PNG_POOL}.png"), "width": 12, "height": 8,
                           "type": "display", "latex": f"{pool[source % len(pool)]} + {source}", "depth": 2})
        key = f"papers/{f:07d}_extracted.json"
        cache.save_file_cache(key, {"version": 1, "file": key, "status": "success", "paper_id": f"{f:07d}",
                                    "images": images, "errors": [], "input": None, "config": None})
    done.write_text("yes")
    return cache_dir


def run(work: Path, quick: bool) -> Section:
    small, large = (10_000, 100_000) if quick else (10_000, 1_000_000)
    runs = [(fmt, n, False) for n in (small, large) for fmt in ("webdataset", "parquet")]
    runs.append(("parquet", large, True))
    figures = {}
    for fmt, n, dedup in runs:
        cache = build_cache(work / "export", n)
        out = work / "export" / f"out_{fmt}_{n}_{dedup}"
        shutil.rmtree(out, ignore_errors=True)
        figures[(fmt, n, dedup)] = run_child("benchmarks.export", str(cache), str(out), fmt, str(int(dedup)))
        shutil.rmtree(out, ignore_errors=True)
    s = Section("7. Export to shards (time and peak RSS)")
    s.lines += [f"A synthetic cache of entries of {ITEMS_PER_FILE} tiny PNGs each (a pool of {PNG_POOL} real "
                "PNG files of about 100 bytes); `asyncrender.outputs.export.export` in a fresh process per "
                "row, default shard size (5,000 samples), 80/10/10 by paper. Peak RSS of that process "
                "(`VmHWM`), interpreter and pyarrow included.", "",
                "| format | samples | dedup | seconds | samples/s | peak RSS | output |",
                "|---|---:|---|---:|---:|---:|---:|"]
    for (fmt, n, dedup), f in figures.items():
        s.lines.append(f"| {fmt} | {n:,} | {'yes' if dedup else 'no'} | {f['seconds']:.1f} | "
                       f"{n / f['seconds']:,.0f} | {f['rss_mib']:.0f} MiB | {f['bytes'] / 2**20:,.0f} MiB |")
    for fmt in ("webdataset", "parquet"):
        growth = figures[(fmt, large, False)]["rss_mib"] / figures[(fmt, small, False)]["rss_mib"]
        s.headlines[f"export {fmt}, {large:,} samples"] = (
            f"{figures[(fmt, large, False)]['seconds']:.0f} s, peak RSS "
            f"{figures[(fmt, large, False)]['rss_mib']:.0f} MiB (x{growth:.2f} of {small:,})")
    deduped = figures[("parquet", large, True)]
    s.headlines[f"export parquet --dedup, {large:,} samples"] = (
        f"{deduped['seconds']:.0f} s, peak RSS {deduped['rss_mib']:.0f} MiB")
    growths = [f"x{figures[(f, large, False)]['rss_mib'] / figures[(f, small, False)]['rss_mib']:.2f} ({f})"
               for f in ("webdataset", "parquet")]
    s.lines += ["", f"{large // small}x the samples: peak RSS {', '.join(growths)} (aim: flat)."]
    return s


def child(cache: str, out: str, fmt: str, dedup: bool) -> dict[str, float]:
    from asyncrender.outputs.export import Fractions, export

    start = time.perf_counter()
    report = export(cache, out, fmt=fmt, fractions=Fractions(), dedup=dedup)
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in Path(out).iterdir())
    return {"seconds": seconds, "rss_mib": peak_rss_mib(), "bytes": size,
            "samples": sum(report.images.values()), "duplicates": report.duplicates}


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1")))
