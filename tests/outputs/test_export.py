"""Export: the pure split/rows core, and real exports loaded with the real ``datasets`` library."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.outputs.export import SPLITS, ExportError, Fractions, export, split_of
from asyncrender.outputs.formulas import formula_hash
from asyncrender.outputs.samples import ExportIndex, Sample, image_name, split_samples
from tests.support.outputs_cache import PAPERS, Rendered, hf_datasets, rendered_cache


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return rendered_cache(tmp_path_factory)


def _entry(paper_id: str | None, key: str, ids: list[str], folder: str = "/r") -> dict[str, object]:
    images = [{"id": i, "path": f"{folder}/{paper_id}/{i}.png", "width": 10, "height": 5, "type": "display",
               "latex": f"x_{i}"} for i in ids]
    return {"file": key, "paper_id": paper_id, "status": "success", "images": images, "errors": []}


# -- the pure core --------------------------------------------------------------------------------


def test_split_follows_the_fractions_and_the_seed() -> None:
    ids = [f"2401.{n:05d}" for n in range(4000)]
    fractions = Fractions(validation=0.2, test=0.1)
    counts = Counter(split_of(i, fractions) for i in ids)
    assert abs(counts["validation"] / 4000 - 0.2) < 0.03
    assert abs(counts["test"] / 4000 - 0.1) < 0.03
    assert [split_of(i, fractions) for i in ids] == [split_of(i, fractions) for i in ids]
    reseeded = [split_of(i, fractions, seed="other") for i in ids]
    assert reseeded != [split_of(i, fractions) for i in ids]
    assert Counter(reseeded)["train"] > 2400


def test_zero_fractions_put_everything_in_train_and_one_puts_everything_in_test() -> None:
    ids = [str(n) for n in range(200)]
    assert {split_of(i, Fractions(0, 0)) for i in ids} == {"train"}
    assert {split_of(i, Fractions(0, 1)) for i in ids} == {"test"}


@pytest.mark.parametrize(("validation", "test"), [(-0.1, 0.1), (0.1, 1.5), (0.6, 0.5)])
def test_bad_fractions_are_refused(validation: float, test: float) -> None:
    with pytest.raises(ExportError):
        Fractions(validation, test)


def _samples(cache_dir: Path, fractions: Fractions, seed: str = "") -> list[Sample]:
    cache = DistributedCacheManager(cache_dir, create=False)
    index = ExportIndex.build(cache, fractions, seed)
    return [s for split in SPLITS for s in split_samples(cache, index, split)]


def test_samples_of_one_paper_share_a_split_and_carry_the_columns(tmp_path: Path) -> None:
    DistributedCacheManager(tmp_path).save_file_cache("a.json", _entry("2401.1", "a.json", ["eq1", "eq2", "eq3"]))
    samples = _samples(tmp_path, Fractions(0.3, 0.3))
    assert len({s.split for s in samples}) == 1
    assert [s.name for s in samples] == ["2401.1/eq1.png", "2401.1/eq2.png", "2401.1/eq3.png"]
    assert samples[0].columns == {
        "latex": "x_eq1", "paper_id": "2401.1", "item_id": "eq1", "type": "display", "width": 10, "height": 5,
        "depth": None, "formula_hash": formula_hash("x_eq1", "display")}
    assert samples[0].source == "/r/2401.1/eq1.png"
    assert len({s.key for s in samples}) == 3 and all("." not in s.key and "/" not in s.key for s in samples)


def test_two_files_of_one_paper_get_distinct_names_even_ignoring_case(tmp_path: Path) -> None:
    cache = DistributedCacheManager(tmp_path)
    cache.save_file_cache("a.json", _entry("P", "a.json", ["Eq1"]))
    cache.save_file_cache("b.json", _entry("P", "b.json", ["eq1"], folder="/other"))
    cache.save_file_cache("c.json", _entry("p", "c.json", ["EQ1"], folder="/third"))  # another paper, case twin
    names = sorted(s.name for s in _samples(tmp_path, Fractions(0, 0)))
    assert len({n.casefold() for n in names}) == 3
    assert "P/Eq1.png" in names
    assert all(n.endswith(".png") for n in names)


def test_entry_without_paper_id_uses_its_key_and_names_stay_safe(tmp_path: Path) -> None:
    DistributedCacheManager(tmp_path).save_file_cache("../x y.json", _entry(None, "../x y.json", ["a b"]))
    (sample,) = _samples(tmp_path, Fractions(0, 0))
    assert sample.columns["paper_id"] == "../x y.json"
    folder, name = sample.name.split("/")
    assert ".." not in folder and " " not in folder + name and name.endswith(".png")
    assert image_name("p", "/x/weird.name.PNG") == "p/weird.name.png"


# -- real exports ---------------------------------------------------------------------------------


def _load_imagefolder(out: Path, hf_cache: Path) -> Any:
    # A private cache_dir: nothing lands in the user's ~/.cache.
    return hf_datasets().load_dataset("imagefolder", data_dir=str(out), cache_dir=str(hf_cache))


def test_imagefolder_export_loads_with_datasets(rendered: Rendered, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    report = export(rendered.cache_dir, out, fractions=Fractions(0.25, 0.25))
    entries = list(DistributedCacheManager(rendered.cache_dir, create=False).iter_entries())
    images = {(e["paper_id"], i["id"]): i for e in entries for i in e["images"]}
    assert sum(report.images.values()) == len(images) == PAPERS * 3
    assert sum(report.papers.values()) == PAPERS

    loaded = _load_imagefolder(out, tmp_path / "hf")
    present = [s for s in SPLITS if report.images[s]]
    assert sorted(loaded.keys()) == sorted(present)
    paper_split: dict[str, str] = {}
    for split in present:
        ds = loaded[split]
        assert ds.num_rows == report.images[split]
        assert set(ds.column_names) == {"image", "latex", "paper_id", "item_id", "type", "width", "height",
                                        "depth", "formula_hash"}
        for row in ds:
            source = images[(row["paper_id"], row["item_id"])]
            assert row["latex"] == source["latex"] and row["type"] == source["type"]
            assert row["image"].size == (row["width"], row["height"]) == (source["width"], source["height"])
            assert row["depth"] == source["depth"] and row["formula_hash"] == formula_hash(row["latex"], row["type"])
            with Image.open(source["path"]) as original:
                assert row["image"].tobytes() == original.tobytes()
            assert paper_split.setdefault(row["paper_id"], split) == split  # a paper in one split only


def test_export_is_deterministic_and_hard_links(rendered: Rendered, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    export(rendered.cache_dir, a, fractions=Fractions(0.3, 0.3), seed="s")
    export(rendered.cache_dir, b, fractions=Fractions(0.3, 0.3), seed="s")
    tree = sorted(p.relative_to(a).as_posix() for p in a.rglob("*"))
    assert tree == sorted(p.relative_to(b).as_posix() for p in b.rglob("*"))
    for split in SPLITS:
        meta = a / split / "metadata.jsonl"
        if meta.exists():
            assert meta.read_bytes() == (b / split / "metadata.jsonl").read_bytes()
            row = json.loads(meta.read_text().splitlines()[0])
            linked = a / split / row["file_name"]
            source = rendered.output_dir / row["file_name"]
            assert linked.stat().st_ino == source.stat().st_ino  # same file system: a hard link


def test_jsonl_manifest_points_at_the_images_where_they_are(rendered: Rendered, tmp_path: Path) -> None:
    out = tmp_path / "manifest"
    report = export(rendered.cache_dir, out, fmt="jsonl", fractions=Fractions(0.25, 0.25))
    assert not list(out.rglob("*.png"))
    rows = {s: [json.loads(line) for line in (out / f"{s}.jsonl").read_text().splitlines()]
            for s in SPLITS if report.images[s]}
    assert {s: len(r) for s, r in rows.items()} == {s: n for s, n in report.images.items() if n}
    for row in (r for split_rows in rows.values() for r in split_rows):
        assert Path(row["image"]).is_file() and Path(row["image"]).is_relative_to(rendered.output_dir)
        assert "file_name" not in row
    # As the README says: the json loader, then the image column cast to images.
    datasets = hf_datasets()
    loaded = datasets.load_dataset("json", data_dir=str(out), cache_dir=str(tmp_path / "hf"))
    for split, split_rows in rows.items():
        ds = loaded[split].cast_column("image", datasets.Image())
        assert ds.num_rows == len(split_rows)
        assert ds[0]["image"].size == (split_rows[0]["width"], split_rows[0]["height"])


def test_export_refuses_a_non_empty_target_and_leaves_no_trace(rendered: Rendered, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not an empty folder"):
        export(rendered.cache_dir, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert sum(export(rendered.cache_dir, empty).images.values()) == PAPERS * 3


def test_missing_images_are_left_out_and_counted(tmp_path: Path) -> None:
    cache = DistributedCacheManager(tmp_path / "cache")
    folder = tmp_path / "rendered"
    (folder / "P").mkdir(parents=True)
    Image.new("RGB", (10, 5), "white").save(folder / "P" / "here.png")
    cache.save_file_cache("a.json", _entry("P", "a.json", ["here", "gone"], folder=str(folder)))
    report = export(tmp_path / "cache", tmp_path / "out", fractions=Fractions(0, 0))
    assert report.images["train"] == 1 and report.missing == 1
    lines = (tmp_path / "out" / "train" / "metadata.jsonl").read_text().splitlines()
    assert [json.loads(line)["item_id"] for line in lines] == ["here"]
