"""WebDataset and Parquet exports, loaded with the real ``datasets`` and ``webdataset`` libraries;
the leak-free dedup rule; byte-identical, resumable shards."""

from __future__ import annotations

import io
import json
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.outputs import export as export_module
from asyncrender.outputs.export import SPLITS, ExportError, Fractions, export
from asyncrender.outputs.formulas import formula_hash
from asyncrender.outputs.samples import Sample
from asyncrender.outputs.shards import STATE_FILE
from tests.support.cli import cli
from tests.support.outputs_cache import PAPERS, Rendered, hf_datasets, rendered_cache


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return rendered_cache(tmp_path_factory)


def _cache_images(cache_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    cache = DistributedCacheManager(cache_dir, create=False)
    return {(str(e["paper_id"]), i["id"]): dict(i) for e in cache.iter_entries() for i in e["images"]}


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_shards_load_with_datasets_streaming_too(rendered: Rendered, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / fmt
    report = export(rendered.cache_dir, out, fmt=fmt, fractions=Fractions(0.25, 0.25), shard_size=5)
    images = _cache_images(rendered.cache_dir)
    assert sum(report.images.values()) == len(images) == PAPERS * 3
    ext = "tar" if fmt == "webdataset" else "parquet"
    for split in SPLITS:
        names = sorted(p.name for p in out.glob(f"{split}-*.{ext}"))
        assert names == [f"{split}-{n:05d}.{ext}" for n in range(-(-report.images[split] // 5))]
        assert report.shards[split] == len(names)

    datasets = hf_datasets()
    loaded = datasets.load_dataset(fmt, data_dir=str(out), cache_dir=str(tmp_path / "hf"))
    present = [s for s in SPLITS if report.images[s]]
    assert sorted(loaded) == sorted(present)
    paper_split: dict[str, str] = {}
    for split in present:
        assert loaded[split].num_rows == report.images[split]
        for row in loaded[split]:
            image, meta = (row["png"], row["json"]) if fmt == "webdataset" else (row["image"], row)
            source = images[(meta["paper_id"], meta["item_id"])]
            assert meta["latex"] == source["latex"] and meta["type"] == source["type"]
            assert meta["depth"] == source["depth"] is not None
            assert meta["formula_hash"] == formula_hash(meta["latex"], meta["type"])
            assert image.size == (meta["width"], meta["height"]) == (source["width"], source["height"])
            with Image.open(source["path"]) as original:
                assert image.tobytes() == original.tobytes()
            assert paper_split.setdefault(meta["paper_id"], split) == split
    streamed = datasets.load_dataset(fmt, data_dir=str(out), streaming=True, cache_dir=str(tmp_path / "hf"))
    first = next(iter(streamed[present[0]]))
    assert isinstance(first["png" if fmt == "webdataset" else "image"], Image.Image)
    assert sum(1 for _ in streamed[present[-1]]) == report.images[present[-1]]


# webdataset's tar reader leaves closing its files to the garbage collector.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_webdataset_library_reads_the_tars(rendered: Rendered, tmp_path: Path) -> None:
    wds = pytest.importorskip("webdataset")
    out = tmp_path / "wds"
    report = export(rendered.cache_dir, out, fmt="webdataset", fractions=Fractions(0, 0), shard_size=7)
    urls = [str(p) for p in sorted(out.glob("train-*.tar"))]
    assert len(urls) == report.shards["train"] == -(-PAPERS * 3 // 7)
    pipeline = wds.WebDataset(urls, shardshuffle=False, empty_check=False).decode("pil").to_tuple(
        "__key__", "png", "json")
    seen = [(key, image.size, meta) for key, image, meta in pipeline]
    assert len(seen) == PAPERS * 3 and len({k for k, _, _ in seen}) == len(seen)
    assert all(size == (meta["width"], meta["height"]) for _, size, meta in seen)
    with tarfile.open(urls[0]) as tar:  # the members: <key>.png then <key>.json, no time or owner
        members = tar.getmembers()
    assert [m.name.rsplit(".", 1)[1] for m in members[:2]] == ["png", "json"]
    assert {m.mtime for m in members} == {0} and {m.uid for m in members} == {0}


def test_same_cache_same_bytes_and_an_interrupted_export_resumes(
        rendered: Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options: dict[str, Any] = {"fmt": "parquet", "fractions": Fractions(0.25, 0.25), "shard_size": 4}
    whole = tmp_path / "whole"
    export(rendered.cache_dir, whole, **options)
    again = tmp_path / "again"
    export(rendered.cache_dir, again, **options)
    assert _tree(whole) == _tree(again) and len(_tree(whole)) > 4

    extension, real_write = export_module.SHARDED["parquet"]
    written: list[str] = []

    def dies_on_the_fourth(samples: list[Sample], path: Path) -> None:
        if len(written) == 3:
            path.write_bytes(b"PAR1 half a shard")
            raise KeyboardInterrupt  # as a kill would, mid-write
        written.append(path.name)
        real_write(samples, path)

    monkeypatch.setitem(export_module.SHARDED, "parquet", (extension, dies_on_the_fourth))
    resumed = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        export(rendered.cache_dir, resumed, **options)
    left = sorted(p.name for p in resumed.iterdir())
    assert len([n for n in left if n.endswith(".parquet")]) == 3  # three whole shards, no half one
    assert all(n.endswith(".parquet") or n == STATE_FILE for n in left)  # no temp file either
    assert not json.loads((resumed / STATE_FILE).read_text())["complete"]
    monkeypatch.setitem(export_module.SHARDED, "parquet", (extension, real_write))
    report = export(rendered.cache_dir, resumed, **options)
    assert report.shards_kept == 3
    assert _tree(resumed) == _tree(whole)
    assert export(rendered.cache_dir, resumed, **options).shards_kept == sum(report.shards.values())
    with pytest.raises(ExportError, match="other options"):
        export(rendered.cache_dir, resumed, **{**options, "shard_size": 5})


def test_shard_bytes_caps_a_shard(rendered: Rendered, tmp_path: Path) -> None:
    out = tmp_path / "capped"
    images = _cache_images(rendered.cache_dir)
    largest = max(Path(i["path"]).stat().st_size for i in images.values())
    report = export(rendered.cache_dir, out, fmt="webdataset", fractions=Fractions(0, 0), shard_bytes=2 * largest)
    assert report.shards["train"] >= PAPERS * 3 // 2
    for shard in out.glob("*.tar"):
        with tarfile.open(shard) as tar:
            pngs = [m.size for m in tar.getmembers() if m.name.endswith(".png")]
        assert 1 <= len(pngs) <= 2 and sum(pngs) <= 2 * largest


# -- dedup: leak-free splits ----------------------------------------------------------------------


def _dup_cache(root: Path, papers: int = 60) -> Path:
    """Papers whose formulas repeat across papers (a pool of 120, each about twice), with real tiny
    PNGs; each formula is written two ways that differ only in blanks."""
    cache = DistributedCacheManager(root / "cache")
    buf = io.BytesIO()
    Image.new("L", (6, 4), 255).save(buf, format="PNG")
    for n in range(papers):
        folder = root / "rendered" / f"p{n}"
        folder.mkdir(parents=True)
        images = []
        for k in range(5):
            formula = (n * 37 + k * 11) % 120
            latex = f"x_{{{formula}}}  +  y" if k % 2 else f"x_{{{formula}}}+y"  # whitespace differs
            (folder / f"e{k}.png").write_bytes(buf.getvalue())
            images.append({"id": f"e{k}", "path": str(folder / f"e{k}.png"), "width": 6, "height": 4,
                           "type": "display", "latex": latex, "depth": 1})
        cache.save_file_cache(f"p{n}.json", {"version": 1, "file": f"p{n}.json", "paper_id": f"p{n}",
                                             "status": "success", "images": images, "errors": [],
                                             "input": None, "config": None})
    return root / "cache"


def _hashes_by_split(out: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {s: [] for s in SPLITS}
    for path in out.glob("*.jsonl"):
        found[path.stem] = [json.loads(line)["formula_hash"] for line in path.read_text().splitlines()]
    return found


def test_dedup_keeps_each_formula_once_in_test_before_validation_before_train(tmp_path: Path) -> None:
    cache_dir = _dup_cache(tmp_path)
    fractions = Fractions(0.3, 0.3)
    full = _hashes_by_split(tmp_path / "full") if export(cache_dir, tmp_path / "full", fmt="jsonl",
                                                          fractions=fractions) else {}
    report = export(cache_dir, tmp_path / "dedup", fmt="jsonl", fractions=fractions, dedup=True)
    kept = _hashes_by_split(tmp_path / "dedup")
    every = [h for hs in kept.values() for h in hs]
    distinct = {h for hs in full.values() for h in hs}
    assert len(every) == len(set(every)) == len(distinct) == 120
    assert report.duplicates == 60 * 5 - 120
    assert set(kept["test"]) == set(full["test"])  # every formula of test stays in test
    assert set(kept["validation"]) == set(full["validation"]) - set(full["test"])
    assert set(kept["train"]) == set(full["train"]) - set(full["test"]) - set(full["validation"])
    assert not set(kept["train"]) & (set(full["test"]) | set(full["validation"]))  # no leak into train
    assert all(kept[s] for s in SPLITS)


@pytest.mark.parametrize("fmt", ["webdataset", "parquet", "imagefolder"])
def test_every_format_carries_formula_hash_and_dedups_alike(tmp_path: Path, fmt: str) -> None:
    cache_dir = _dup_cache(tmp_path, papers=20)
    report = export(cache_dir, tmp_path / fmt, fmt=fmt, fractions=Fractions(0.3, 0.3), dedup=True)
    reference = export(cache_dir, tmp_path / "ref", fmt="jsonl", fractions=Fractions(0.3, 0.3), dedup=True)
    assert report.images == reference.images and report.duplicates == reference.duplicates
    hashes: Counter[str] = Counter()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for shard in (tmp_path / fmt).glob("*.parquet"):
            hashes.update(pq.read_table(shard, columns=["formula_hash"]).column(0).to_pylist())
    elif fmt == "webdataset":
        for shard in (tmp_path / fmt).glob("*.tar"):
            with tarfile.open(shard) as tar:
                for m in tar.getmembers():
                    if m.name.endswith(".json"):
                        hashes[json.loads(tar.extractfile(m).read())["formula_hash"]] += 1  # type: ignore[union-attr]
    else:
        for meta in (tmp_path / fmt).glob("*/metadata.jsonl"):
            hashes.update(json.loads(line)["formula_hash"] for line in meta.read_text().splitlines())
    assert sum(hashes.values()) == sum(report.images.values()) and max(hashes.values()) == 1


def test_cli_export_webdataset_json_report_and_one_line_errors(rendered: Rendered, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    proc = cli("export", "-c", str(rendered.cache_dir), "-o", str(out), "--format", "webdataset",
               "--shard-size", "10", "--shard-bytes", "1MB", "--dedup", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert sum(report["images"].values()) == PAPERS * 3 and report["shards_kept"] == 0
    assert sum(report["shards"].values()) == len(list(out.glob("*.tar")))
    for args, code in ((["--shard-bytes", "lots"], 2), (["--format", "zip"], 2)):
        bad = cli("export", "-c", str(rendered.cache_dir), "-o", str(tmp_path / "bad"), *args)
        assert bad.returncode == code and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1


def test_a_redo_after_the_cache_changed_rewrites_and_removes_what_changed(tmp_path: Path) -> None:
    cache_dir = _dup_cache(tmp_path, papers=30)
    options: dict[str, Any] = {"fmt": "webdataset", "fractions": Fractions(0, 0), "shard_size": 20}
    out = tmp_path / "out"
    first = export(cache_dir, out, **options)
    assert first.shards["train"] == 150 // 20 + 1
    cache = DistributedCacheManager(cache_dir, create=False)
    for n in range(20, 30):  # the cache lost ten papers
        cache.entry_path(f"p{n}.json").unlink()
    redo = export(cache_dir, out, **options)
    fresh = export(cache_dir, tmp_path / "fresh", **options)
    assert redo.shards == fresh.shards and redo.shards["train"] == 100 // 20
    assert _tree(out) == _tree(tmp_path / "fresh")  # surplus shards gone, changed ones rewritten
    assert 0 < redo.shards_kept < redo.shards["train"]
