"""Issue 12, item 10 (parts): a file list with a UTF-8 BOM; the images of items a paper no longer
has; a paper folder that is a symlink; an entry whose image lies outside the output folder; the
folder a killed export leaves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.outputs.export import export
from tests.reliability.support import cli_args, run_cli


def _paper(folder: Path, ids: list[str], *, bom: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"paper_id": "p", "items": [{"id": i, "latex": f"x_{{{n}}}"} for n, i in enumerate(ids)]}
    (folder / "p_extracted.json").write_text(json.dumps(doc))
    listing = folder / "list.txt"
    listing.write_bytes((b"\xef\xbb\xbf" if bom else b"") + b"p_extracted.json\n")
    return listing


def test_a_file_list_with_a_bom(tmp_path: Path) -> None:
    listing = _paper(tmp_path / "in", ["a"], bom=True)
    done = run_cli(cli_args(listing, tmp_path / "cache", tmp_path / "out"))
    assert done.returncode == 0, done.stderr.decode()
    entry = DistributedCacheManager(tmp_path / "cache").load_file_cache("p_extracted.json")
    assert entry is not None and entry["status"] == "success"


def test_images_of_removed_items_go(tmp_path: Path) -> None:
    out = tmp_path / "out"
    listing = _paper(tmp_path / "in", ["a", "b", "c"])
    assert run_cli(cli_args(listing, tmp_path / "cache", out)).returncode == 0
    assert sorted(p.name for p in (out / "p").glob("*.png")) == ["a.png", "b.png", "c.png"]
    _paper(tmp_path / "in", ["a", "c"])  # item b removed from the paper
    assert run_cli(cli_args(listing, tmp_path / "cache", out)).returncode == 0
    assert sorted(p.name for p in (out / "p").glob("*.png")) == ["a.png", "c.png"]


def test_a_symlinked_paper_folder_is_not_written_through(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "p").symlink_to(elsewhere)
    listing = _paper(tmp_path / "in", ["a"])
    done = run_cli(cli_args(listing, tmp_path / "cache", out))
    assert done.returncode == 0, done.stderr.decode()
    assert os.listdir(elsewhere) == []
    entry = DistributedCacheManager(tmp_path / "cache").load_file_cache("p_extracted.json")
    assert entry is not None and entry["errors"][0]["kind"] == "io"
    assert "is a symbolic link" in entry["errors"][0]["message"]


def test_export_reads_only_images_inside_the_output_folder(tmp_path: Path) -> None:
    listing = _paper(tmp_path / "in", ["a", "b"])
    cache = tmp_path / "cache"
    assert run_cli(cli_args(listing, cache, tmp_path / "out")).returncode == 0
    manager = DistributedCacheManager(cache)
    entry = manager.load_file_cache("p_extracted.json")
    assert entry is not None
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not yours")
    entry["images"][1]["path"] = str(secret)  # a tampered entry
    manager.save_file_cache("p_extracted.json", entry)

    report = export(cache, tmp_path / "dataset")
    assert report.outside == 1 and sum(report.images.values()) == 1
    exported = [p for p in (tmp_path / "dataset").rglob("*.png")]
    assert len(exported) == 1 and exported[0].read_bytes() != b"not yours"
    assert secret.stat().st_nlink == 1  # never hard-linked


def test_a_killed_exports_partial_folder_is_swept(tmp_path: Path) -> None:
    listing = _paper(tmp_path / "in", ["a"])
    cache = tmp_path / "cache"
    assert run_cli(cli_args(listing, cache, tmp_path / "out")).returncode == 0
    # A real process makes its partial export folder and is killed midway.
    proc = subprocess.Popen([sys.executable, "-c", "import os, time; os.mkdir(f'.dataset.{os.getpid()}.partial');"
                             " print(flush=True); time.sleep(600)"], cwd=tmp_path, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    killed = tmp_path / f".dataset.{proc.pid}.partial"
    assert killed.is_dir()
    sleeper = subprocess.Popen(["sleep", "600"])  # a live export's folder (made after it started) stays
    try:
        live = tmp_path / f".dataset.{sleeper.pid}.partial"
        live.mkdir()
        export(cache, tmp_path / "dataset")
        assert not killed.exists()
        assert live.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert (tmp_path / "dataset").is_dir()
