"""Point 4: corrupt entries are treated as absent and rendered again; ``asyncrender verify``."""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path

import pytest
from PIL import Image

from asyncrender.cache.entry import entry_file_name
from asyncrender.outputs.verify import png_problem
from tests.reliability.support import audit, cli_args, make_corpus, run_cli


def a_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (7, 5), (10, 20, 30, 255)).save(buf, "PNG")
    return buf.getvalue()


def test_a_whole_png_passes() -> None:
    assert png_problem(a_png()) is None


@pytest.mark.parametrize("cut", [0, 1, 8, 20, 33, -13, -12, -1])
def test_every_truncation_is_found(cut: int) -> None:
    data = a_png()
    assert png_problem(data[:cut]) is not None


def test_a_flipped_bit_trailing_bytes_and_other_files_are_found() -> None:
    data = bytearray(a_png())
    data[40] ^= 0x01
    assert "CRC" in (png_problem(bytes(data)) or "")
    assert "after IEND" in (png_problem(a_png() + b"x") or "")
    assert png_problem(b"GIF89a") == "not a PNG (bad signature)"
    # A well-formed chunk stream without image data is not a whole PNG either.
    sig, ihdr = a_png()[:8], a_png()[8:33]
    iend = b"\0\0\0\0IEND" + zlib.crc32(b"IEND").to_bytes(4, "big")
    assert png_problem(sig + ihdr + iend) == "no image data (IDAT)"


def verify(cache: Path, *extra: str) -> tuple[int, dict[str, object]]:
    import subprocess
    import sys

    from tests.reliability.support import cli_env

    done = subprocess.run([sys.executable, "-m", "asyncrender", "verify", "-c", str(cache), "--json", *extra],
                          env=cli_env(), capture_output=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


def test_verify_reports_repair_mends_and_resume_renders_again(tmp_path: Path) -> None:
    listing = make_corpus(tmp_path / "in", files=8, items=2)
    keys = [line for line in listing.read_text().split("\n") if line]
    cache, out = tmp_path / "cache", tmp_path / "out"
    assert run_cli(cli_args(listing, cache, out)).returncode == 0
    entries = audit(cache, keys)
    path = {k: cache / "file_caches" / entry_file_name(k) for k in keys}

    data = path[keys[0]].read_bytes()
    path[keys[0]].write_bytes(data[: len(data) // 2])  # truncated
    path[keys[1]].write_bytes(b"\x00\x01 not json")  # binary garbage
    path[keys[2]].write_text(json.dumps({**entries[keys[2]], "version": 99}))  # unknown version
    path[keys[3]].rename(path[keys[3]].with_name(entry_file_name("elsewhere.json")))  # md5 mismatch
    Path(entries[keys[4]]["images"][0]["path"]).unlink()  # a listed image is missing
    image = Path(entries[keys[5]]["images"][1]["path"])
    image.write_bytes(image.read_bytes()[:-20])  # a listed image is truncated
    broken = set(keys[:6])

    code, report = verify(cache)
    assert code == 1
    problems = report["problems"]
    assert isinstance(problems, list) and len(problems) == 6
    messages = " | ".join(p["message"] for p in problems)
    for expected in ("not valid JSON", "unknown entry version 99", "does not hash to the file name",
                     "is missing", "truncated"):
        assert expected in messages

    code, report = verify(cache, "--repair")
    assert code == 0 and report["repaired"] == 6
    code, report = verify(cache)
    assert code == 0 and report["problems"] == [] and report["entries"] == 2

    done = run_cli(cli_args(listing, cache, out, "--resume", "--json"))
    assert done.returncode == 0, done.stderr.decode()
    run = json.loads(done.stdout)["run"]
    assert run["files"] - run["skipped"] == len(broken)
    audit(cache, keys)
    assert verify(cache)[0] == 0


def test_resume_treats_a_corrupt_entry_as_absent_with_a_warning(tmp_path: Path) -> None:
    listing = make_corpus(tmp_path / "in", files=3, items=1)
    keys = [line for line in listing.read_text().split("\n") if line]
    cache, out = tmp_path / "cache", tmp_path / "out"
    assert run_cli(cli_args(listing, cache, out)).returncode == 0
    before = audit(cache, keys)
    (cache / "file_caches" / entry_file_name(keys[1])).write_bytes(b'{"version": 1, "file": "p00')
    done = run_cli([a for a in cli_args(listing, cache, out, "--resume") if a != "--quiet"])
    assert done.returncode == 0
    assert "is corrupt and treated as absent" in done.stderr.decode()
    after = audit(cache, keys)
    assert after[keys[1]]["finished_at"] != before[keys[1]]["finished_at"]
    untouched = (keys[0], keys[2])
    assert [after[k]["finished_at"] for k in untouched] == [before[k]["finished_at"] for k in untouched]
