"""Object storage for real: an S3-compatible server (moto's server mode, on 127.0.0.1 and a free
port) started and stopped here, read and written through fsspec/s3fs by the real CLI. Skipped
when s3fs or moto are not installed (``pip install asyncrender[s3]`` and the test extra)."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncrender.model import normalise_key
from asyncrender.storage import is_url, object_stat, posix_folder
from tests.support.cli import cli, entries
from tests.support.outputs_cache import hf_datasets, paper_items

BUCKET = "corpus"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A live S3 server on loopback; yields an s3fs file system on it. The endpoint reaches the
    CLI subprocesses through fsspec's own configuration (``FSSPEC_S3_ENDPOINT_URL``)."""
    pytest.importorskip("s3fs", reason="s3fs is not installed (pip install asyncrender[s3])")
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "FSSPEC_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import fsspec
        import s3fs

        fsspec.config.set_conf_env(fsspec.config.conf)  # this process too, as a fresh one would
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        fs.mkdir(BUCKET)
        yield fs
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        import fsspec

        fsspec.config.conf.pop("s3", None)


def _put(fs: Any, key: str, data: bytes) -> None:
    with fs.open(f"{BUCKET}/{key}", "wb") as f:
        f.write(data)


def _papers(fs: Any, count: int = 4) -> str:
    lines = []
    for n in range(count):
        name = f"p{n}_extracted.json"
        _put(fs, f"papers/{name}", json.dumps({"paper_id": f"2402.{n:05d}", "items": paper_items(n)[:3]}).encode())
        lines.append(name)
    _put(fs, "papers/list.txt", ("\n".join(lines) + "\n").encode())
    return f"s3://{BUCKET}/papers/list.txt"


def _render(listing: str, tmp_path: Path, *more: str) -> dict[str, Any]:
    proc = cli("render", listing, "-c", str(tmp_path / "cache"), "-o", str(tmp_path / "rendered"),
               "--renderer", "mathtext", "-j", "1", "--json", *more)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_render_from_a_bucket_and_resume_by_size_and_mtime(s3: Any, tmp_path: Path) -> None:
    listing = _papers(s3)
    first = _render(listing, tmp_path, "--resume")
    assert first["run"]["files"] == 4 and first["run"]["by_status"]["success"] == 4
    made = entries(tmp_path / "cache")
    assert sorted(e["file"] for e in made.values()) == [f"p{n}_extracted.json" for n in range(4)]
    for entry in made.values():
        assert entry["input"]["size"] > 0 and entry["input"]["mtime_ns"] > 0 and len(entry["images"]) == 3

    assert _render(listing, tmp_path, "--resume")["run"]["skipped"] == 4  # nothing changed: all skipped
    time.sleep(1.1)  # S3 times have one-second resolution
    _put(s3, "papers/p2_extracted.json", json.dumps({"paper_id": "2402.00002", "items": paper_items(7)[:2]}).encode())
    again = _render(listing, tmp_path, "--resume")
    assert again["run"]["skipped"] == 3 and again["run"]["images"] == 2


def test_absolute_urls_in_a_local_list_and_a_missing_object(s3: Any, tmp_path: Path) -> None:
    _papers(s3, 2)
    local_list = tmp_path / "list.txt"
    local_list.write_text(f"s3://{BUCKET}/papers/p0_extracted.json\ns3://{BUCKET}/papers/./gone_extracted.json\n")
    result = _render(str(local_list), tmp_path)
    assert result["run"]["by_status"] == {"success": 1, "partial": 0, "failed": 1}
    by_key = {e["file"]: e for e in entries(tmp_path / "cache").values()}
    assert set(by_key) == {f"s3://{BUCKET}/papers/p0_extracted.json", f"s3://{BUCKET}/papers/gone_extracted.json"}
    (error,) = by_key[f"s3://{BUCKET}/papers/gone_extracted.json"]["errors"]
    assert error["kind"] == "input" and "gone_extracted.json" in error["message"]


def test_export_parquet_to_a_bucket_is_the_local_export_uploaded(s3: Any, tmp_path: Path) -> None:
    _render(_papers(s3), tmp_path)
    cache = str(tmp_path / "cache")
    local = tmp_path / "local"
    assert cli("export", "-c", cache, "-o", str(local), "--format", "parquet", "--shard-size", "3",
               "--test", "0.3").returncode == 0
    url = f"s3://{BUCKET}/datasets/formulas"
    proc = cli("export", "-c", cache, "-o", url, "--format", "parquet", "--shard-size", "3", "--test", "0.3",
               "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["out"] == url
    shards = sorted(p.name for p in local.glob("*.parquet"))
    remote = sorted(p.rsplit("/", 1)[1] for p in s3.ls(f"{BUCKET}/datasets/formulas"))
    assert remote == sorted([*shards, ".asyncrender-export.json"])
    download = tmp_path / "download"
    download.mkdir()
    for name in shards:
        data = s3.cat_file(f"{BUCKET}/datasets/formulas/{name}")
        assert data == (local / name).read_bytes()
        (download / name).write_bytes(data)
    loaded = hf_datasets().load_dataset("parquet", data_dir=str(download), cache_dir=str(tmp_path / "hf"))
    assert sum(ds.num_rows for ds in loaded.values()) == 12
    redo = cli("export", "-c", cache, "-o", url, "--format", "parquet", "--shard-size", "3", "--test", "0.3",
               "--json")
    assert json.loads(redo.stdout)["shards_kept"] == len(shards)  # redone: nothing uploaded again


def test_urls_for_the_cache_or_output_folder_are_refused_in_one_line(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("a_extracted.json\n")
    for args in (["-c", "s3://b/cache", "-o", str(tmp_path / "r")], ["-c", str(tmp_path / "c"), "-o", "s3://b/x"]):
        proc = cli("render", str(listing), *args, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
        assert "not a URL" in proc.stderr
    assert not (tmp_path / "s3:").exists()
    for command in (["summary"], ["failures"], ["verify"], ["export", "-o", str(tmp_path / "e")]):
        proc = cli(*command, "-c", "gs://bucket/cache", cwd=tmp_path)
        assert proc.returncode in (1, 2) and proc.stderr.count("\n") == 1 and "not a URL" in proc.stderr
    assert not (tmp_path / "gs:").exists()
    export = cli("export", "-c", str(tmp_path), "-o", "s3://b/x", "--format", "imagefolder")
    assert export.returncode == 2 and export.stderr.count("\n") == 1


def test_url_helpers() -> None:
    assert is_url("s3://b/k") and is_url("s3:/b/k") and is_url("gs://b") and not is_url("C:/x") and not is_url("a/b")
    assert normalise_key("s3://b/a/../c.json") == "s3://b/c.json" and normalise_key("./a.json") == "a.json"
    assert posix_folder("rendered", "x") == "rendered"
    with pytest.raises(ValueError, match="not a URL"):
        posix_folder("s3://b/x", "the output folder")
    from datetime import UTC, datetime

    stamp = datetime(2026, 1, 2, tzinfo=UTC)
    assert object_stat({"size": 5, "LastModified": stamp}).st_mtime_ns == int(stamp.timestamp() * 1e9)
    by_etag = object_stat({"size": 5, "ETag": '"abc"'})
    assert by_etag.st_mtime_ns != object_stat({"size": 5, "ETag": '"abd"'}).st_mtime_ns and by_etag.st_size == 5
