"""cli: the real command, in a subprocess, on real files (the shipped examples among them)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.support.cli import cli, entries
from tests.support.papers import EXAMPLES, WritePapers, simple_paper


def test_examples_with_two_workers(tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "rendered"
    proc = cli("render", str(EXAMPLES / "arxiv_file_list.txt"), "-c", str(cache), "-o", str(out), "-j", "2",
               "--json")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    found = entries(cache)
    assert len(found) == 19 == run["run"]["files"]
    for name, entry in found.items():
        assert name == hashlib.md5(entry["file"].encode()).hexdigest() + ".cache"
        assert entry["status"] == "success", entry["errors"]
        for image in entry["images"]:
            with Image.open(image["path"]) as png:
                assert png.format == "PNG" and png.size == (image["width"], image["height"])
                png.load()
    summary = json.loads((cache / "summary.json").read_text())
    assert summary["files"]["total"] == 19
    assert summary["files"]["by_status"]["success"] == sum(e["status"] == "success" for e in found.values())
    assert summary["items"]["rendered"] == sum(len(e["images"]) for e in found.values()) == 335
    assert summary["items"]["failed"] == sum(len(e["errors"]) for e in found.values())
    assert summary == run["cache"]

    before = {n: os.stat(cache / "file_caches" / n).st_mtime_ns for n in found}
    proc = cli("render", str(EXAMPLES / "arxiv_file_list.txt"), "-c", str(cache), "-o", str(out), "-j", "2",
               "--resume", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["run"]["skipped"] == 19
    assert {n: os.stat(cache / "file_caches" / n).st_mtime_ns for n in found} == before


def test_broken_inputs_fail_alone_and_the_run_completes(tmp_path: Path) -> None:
    proc = cli("render", str(EXAMPLES / "broken_file_list.txt"), "-c", str(tmp_path / "c"), "-o",
               str(tmp_path / "o"), "-j", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    by_file = {e["file"]: e for e in entries(tmp_path / "c").values()}
    assert by_file["broken/missing_extracted.json"]["errors"][0]["message"].endswith("no such file")
    assert "not valid JSON" in by_file["broken/not_json_extracted.json"]["errors"][0]["message"]
    assert "'items' must be a list" in by_file["broken/wrong_shape_extracted.json"]["errors"][0]["message"]
    assert by_file["papers/240100417_extracted.json"]["status"] == "success"


def test_file_list_from_standard_input(tmp_path: Path, write_papers: WritePapers) -> None:
    write_papers({"a.json": simple_paper("a"), "b.json": simple_paper("b")})
    proc = cli("render", "-", "-c", "cache", "-o", "out", "-j", "1", "--renderer", "mathtext", "--json",
               stdin=b"papers/a.json\n# comment\n\n./papers/b.json\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(e["file"] for e in entries(tmp_path / "cache").values()) == ["papers/a.json", "papers/b.json"]


@pytest.mark.parametrize(
    "args",
    [
        ["render", "missing_list.txt"],
        ["render", "-", "--dpi", "0"],
        ["render", "-", "--renderer", "word"],
        ["render", "-", "--jobs", "many"],
        ["render", "-", "--config", "/nonexistent.toml"],
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str]) -> None:
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip()
    assert not (tmp_path / "cache_dir").exists()


def test_migrate_then_summary_then_resume_trusts_migrated(tmp_path: Path, write_papers: WritePapers) -> None:
    listing = write_papers({"a.json": simple_paper("a"), "b.json": simple_paper("b")})
    legacy = tmp_path / "rendered_images_cache.json"
    legacy.write_text(json.dumps({"papers/a.json": {"status": "success", "images": ["old/a/eq0.png"]},
                                  "bad": 5}))
    proc = cli("migrate", str(legacy), "-c", str(tmp_path / "cache"))
    assert proc.returncode == 0, proc.stderr
    assert "migrated 1 entries" in proc.stderr and "1 malformed" in proc.stderr

    proc = cli("render", str(listing), "-c", str(tmp_path / "cache"), "-o", str(tmp_path / "out"),
               "--legacy-cache", str(legacy), "--resume", "--renderer", "mathtext", "-j", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)["run"]
    assert (run["files"], run["skipped"]) == (2, 1)  # a.json trusted as migrated, b.json rendered

    proc = cli("summary", "-c", str(tmp_path / "cache"), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["files"]["total"], summary["migrated"]) == (2, 1)


def test_summary_of_a_folder_that_is_not_a_cache_fails_clearly(tmp_path: Path) -> None:
    proc = cli("summary", "-c", str(tmp_path))
    assert proc.returncode == 1 and "not a cache folder" in proc.stderr
