"""The CLI commands that read a finished cache: ``export``, ``failures``, ``gallery``, and the
``summary`` table. ``cli.py`` registers them; the work is done by ``export``, ``failures``,
``gallery`` and ``cache.summary``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from asyncrender.cli.common import CacheDir, fail, stderr_console

if TYPE_CHECKING:  # each command imports what it uses when it runs (``--help`` stays light)
    from rich.table import Table

    from asyncrender.cache.summary import Summary


def export_command(
    cache_dir: CacheDir = Path("cache_dir"),
    out: Annotated[str, typer.Option("--out", "-o", help="Export folder (absent or empty; for webdataset and "
                                     "parquet also a URL such as s3://bucket/ds).")] = "dataset",
    fmt: Annotated[str, typer.Option("--format", help="webdataset (tar shards), parquet (shards with embedded "
                                     "images), imagefolder (images + metadata.jsonl per split) or jsonl "
                                     "(manifests only).")] = "imagefolder",
    validation: Annotated[float, typer.Option(help="Share of papers in the validation split.")] = 0.1,
    test: Annotated[float, typer.Option(help="Share of papers in the test split (train: the rest).")] = 0.1,
    seed: Annotated[str, typer.Option(help="Changes which papers go where (same seed, same split).")] = "",
    dedup: Annotated[bool, typer.Option(help="Export each distinct formula once: in test, else validation, "
                                        "else train.")] = False,
    shard_size: Annotated[int | None, typer.Option(help="Samples per shard (webdataset, parquet; default "
                                                   "5000).", show_default=False)] = None,
    shard_bytes: Annotated[str, typer.Option(help="Most PNG bytes per shard, e.g. 500MB or 1GiB.")] = "500MB",
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Export the rendered images as a dataset, split into train/validation/test by paper."""
    from rich.console import Console
    from rich.table import Table

    from asyncrender.cache.manager import CacheFormatError
    from asyncrender.outputs.export import DEFAULT_SHARD_SIZE, SHARDED, SPLITS, ExportError, Fractions, export
    from asyncrender.storage import StorageError

    try:
        report = export(cache_dir, out, fmt=fmt, fractions=Fractions(validation, test), seed=seed, dedup=dedup,
                        shard_size=DEFAULT_SHARD_SIZE if shard_size is None else shard_size,
                        shard_bytes=parse_bytes(shard_bytes))
    except ExportError as exc:
        raise fail(str(exc), 2) from None
    except (CacheFormatError, StorageError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{out}: export failed: {exc}") from None
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
        return
    table = Table(title=f"asyncrender export ({report.format}) → {report.out}")
    table.add_column("split")
    table.add_column("papers", justify="right")
    table.add_column("images", justify="right")
    sharded = report.format in SHARDED
    if sharded:
        table.add_column("shards", justify="right")
    for split in SPLITS:
        table.add_row(split, str(report.papers[split]), str(report.images[split]),
                      *([str(report.shards[split])] if sharded else []))
    table.add_row("total", str(sum(report.papers.values())), str(sum(report.images.values())),
                  *([str(sum(report.shards.values()))] if sharded else []), style="bold")
    notes = []
    if report.missing:
        notes.append(f"{report.missing} images listed in the cache were missing and left out")
    if report.duplicates:
        notes.append(f"{report.duplicates} repeated formulas left out (--dedup)")
    if report.shards_kept:
        notes.append(f"{report.shards_kept} shards of an earlier run were unchanged and kept")
    table.caption = "; ".join(notes) or None
    Console().print(table)


def failures_command(
    cache_dir: CacheDir = Path("cache_dir"),
    as_json: Annotated[bool, typer.Option("--json", help="Every failure as a JSON array.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Every failure as CSV.")] = False,
    kind: Annotated[list[str] | None, typer.Option(help="Only failures of this kind (repeatable).")] = None,
    limit: Annotated[int, typer.Option(help="Rows in the table (not in --json or --csv).")] = 50,
) -> None:
    """List every failed item: file, paper, item, kind, TeX's message and the LaTeX."""
    from rich.console import Console
    from rich.table import Table

    from asyncrender.cache.manager import CacheFormatError, DistributedCacheManager
    from asyncrender.model import ERROR_KINDS
    from asyncrender.outputs.failures import failure_rows, one_line, write_csv, write_json

    if as_json and as_csv:
        raise fail("choose one of --json and --csv", 2)
    bogus = sorted(set(kind or ()) - set(ERROR_KINDS))
    if bogus:
        raise fail(f"--kind {bogus[0]!r} is not an error kind; accepted: {', '.join(ERROR_KINDS)}", 2)
    try:
        cache = DistributedCacheManager(cache_dir, create=False)
    except CacheFormatError as exc:
        raise fail(str(exc)) from None
    rows = failure_rows(cache.iter_entries(ordered=True), frozenset(kind or ()))
    if as_json:
        write_json(rows, sys.stdout)
        return
    if as_csv:
        write_csv(rows, sys.stdout)
        return
    table = Table(title=f"failed items in {cache_dir}", show_lines=False, expand=True)
    table.add_column("file / item", overflow="fold", ratio=2)
    table.add_column("kind", no_wrap=True)
    # One line per cell: the table is for a glance; --csv and --json carry the full text.
    table.add_column("message", no_wrap=True, overflow="ellipsis", ratio=3)
    table.add_column("latex", no_wrap=True, overflow="ellipsis", ratio=3)
    total = 0
    for row in rows:
        total += 1
        if total <= limit:
            item = row["item_id"] if row["item_id"] is not None else "(whole file)"
            item += f" {row['style']}" if row["style"] else ""
            table.add_row(f"{row['file']} [{item}]", str(row["kind"]), one_line(row["message"]),
                          one_line(row["latex"] or ""))
    if total > limit:
        table.caption = f"{limit} of {total} shown; --csv or --json gives all"
    elif total == 0:
        table.caption = "no failed items"
    Console().print(table)


def gallery_command(
    cache_dir: CacheDir = Path("cache_dir"),
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG to write.")] = Path("docs/gallery.png"),
    count: Annotated[int, typer.Option(help="How many formulas (one per paper).")] = 6,
    item: Annotated[list[str] | None, typer.Option(help="Show PAPER/ITEM (repeatable, in order).")] = None,
    styles: Annotated[bool, typer.Option("--styles", help="Each formula in every style it was rendered in.")] = False,
) -> None:
    """Draw a PNG of rendered formulas beside their LaTeX (the README's picture)."""
    from asyncrender.cache.manager import CacheFormatError
    from asyncrender.outputs.gallery import make_gallery

    try:
        picks = make_gallery(cache_dir, out, count=count, items=item or (), styles=styles)
    except CacheFormatError as exc:
        raise fail(str(exc)) from None
    except LookupError as exc:
        raise fail(str(exc).strip("'\"")) from None
    shown = dict.fromkeys(f"{p.paper_id}/{p.item_id}" for p in picks)
    stderr_console().print(f"{out}: {len(picks)} images of {len(shown)} formulas ({', '.join(shown)})",
              highlight=False, soft_wrap=True)


def parse_bytes(text: str) -> int:
    """``500MB``, ``1GiB``, ``1000000`` as bytes (KB, MB, GB: powers of 1000; KiB, MiB, GiB: of 1024)."""
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
             "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "k": 10**3, "m": 10**6, "g": 10**9}
    number = text.strip().rstrip("BbIiKkMmGgTt")
    unit = text.strip()[len(number):].lower()
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in units or value <= 0:
        from asyncrender.outputs.splits import ExportError

        raise ExportError(f"--shard-bytes: {text!r} is not a size (e.g. 500MB, 1GiB, 1000000)")
    return int(value * units[unit])


def summary_table(totals: Summary, cache_dir: Path) -> Table:
    """summary.json as a table: counts with their share, failures by kind, time spent."""
    from rich.table import Table

    files = totals["files"]
    items = totals["items"]

    def share(n: int, whole: int) -> str:
        return f"{100 * n / whole:.1f}%" if whole else ""

    table = Table(title=f"asyncrender cache {cache_dir}", caption=f"generated {totals['generated_at']}")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right", style="dim")
    table.add_row("files", f"{files['total']:,}", "", style="bold")
    for status, n in files["by_status"].items():
        table.add_row(f"  {status}", f"{n:,}", share(n, files["total"]),
                      style={"partial": "yellow", "failed": "red"}.get(status) if n else None)
    whole = items["rendered"] + items["failed"]
    table.add_row("items", f"{whole:,}", "", style="bold", end_section=False)
    table.add_row("  rendered", f"{items['rendered']:,}", share(items["rendered"], whole))
    table.add_row("  failed", f"{items['failed']:,}", share(items["failed"], whole),
                  style="red" if items["failed"] else None)
    for kind, n in totals["failures_by_kind"].items():
        table.add_row(f"    {kind}", f"{n:,}", share(n, items["failed"]))
    seconds = totals["render_seconds"]
    table.add_row("render seconds", f"{seconds:,.1f}", "", end_section=False)
    if whole:
        table.add_row("  per item", f"{1000 * seconds / whole:.1f} ms", "")
    if totals.get("migrated"):
        migrated = totals["migrated"]
        table.add_row("migrated entries", f"{migrated:,}", share(migrated, files["total"]))
    return table
