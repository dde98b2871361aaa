"""Shards: ``--shard I/N`` splits the list by key; shards 0..N-1 cover it exactly once."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.cli import app
from asyncrender.config import ConfigError, RunSettings, parse_config, parse_shard
from asyncrender.inputs.filelist import listed_file
from asyncrender.run.shard import select_shard, shard_of

# Paths as a file list yields them: any bytes but newline and NUL, decoded with surrogateescape.
path_bytes = st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b and b"\0" not in b)
paths = st.lists(path_bytes.map(lambda b: b.decode("utf-8", "surrogateescape")), max_size=60)


@given(paths, st.integers(1, 7))
def test_shards_cover_the_list_exactly_once(lines: list[str], count: int) -> None:
    files = [listed_file(line, "base") for line in lines]
    shards = [select_shard(files, (index, count)) for index in range(count)]
    assert Counter(f for shard in shards for f in shard) == Counter(files)
    for index, shard in enumerate(shards):
        assert all(shard_of(f.key, count) == index for f in shard)
        assert shard == [f for f in files if f in shard]  # list order kept


@given(paths, st.integers(1, 7), st.randoms())
def test_a_files_shard_depends_on_its_key_alone(lines: list[str], count: int, rnd: object) -> None:
    files = [listed_file(line, None) for line in lines]
    shuffled = list(files)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    for index in range(count):
        assert set(select_shard(files, (index, count))) == set(select_shard(shuffled, (index, count)))


def test_one_key_is_one_shard_however_the_path_is_written() -> None:
    same = [listed_file(p, None) for p in ("papers/a.json", "./papers/a.json", "papers/x/../a.json")]
    assert len({shard_of(f.key, 5) for f in same}) == 1
    assert select_shard(same, None) == same


def test_the_split_is_the_entry_names_md5_modulo_n() -> None:
    # A fixed rule (not Python's salted hash()): every machine computes the same split.
    for key in ("papers/a.json", "b_extracted.json", "/abs/c.json"):
        for count in (2, 3, 10):
            assert shard_of(key, count) == int(hashlib.md5(key.encode()).hexdigest(), 16) % count


@pytest.mark.parametrize("text", ["0/1", "2/3", " 1/4 "])
def test_parse_shard(text: str) -> None:
    index, count = parse_shard(text)
    assert 0 <= index < count and f"{index}/{count}" == text.strip()


@pytest.mark.parametrize("text", ["", "1", "3/3", "-1/3", "1/0", "a/b", "1/2/3", "0.5/2"])
def test_parse_shard_refuses(text: str) -> None:
    with pytest.raises(ConfigError, match="--shard must be I/N"):
        parse_shard(text)


def test_shard_setting_in_a_settings_file() -> None:
    assert parse_config("[run]\nshard = [1, 3]\n").run.shard == (1, 3)
    for bad in ("[3, 3]", "[1]", '["1", "3"]', "[true, 2]"):
        with pytest.raises(ConfigError, match=r"run\.shard"):
            parse_config(f"[run]\nshard = {bad}\n")
    with pytest.raises(ConfigError, match=r"run\.shard"):
        RunSettings(shard=(0, 0))


def test_three_shards_on_one_cache_folder_render_every_file_once(tmp_path: Path) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    lines = []
    for n in range(12):
        (folder / f"p{n}_extracted.json").write_text(json.dumps([f"x^{{{n}}}"]))
        lines.append(f"papers/p{n}_extracted.json")
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(lines) + "\n")
    cache = tmp_path / "cache"

    rendered: list[str] = []
    for index in range(3):  # three machines, one after the other here, sharing the cache folder
        result = CliRunner().invoke(app, [
            "render", str(listing), "-c", str(cache), "-o", str(tmp_path / "out"), "-j", "1",
            "--renderer", "mathtext", "--shard", f"{index}/3", "--json"])
        assert result.exit_code == 0, result.output
        run = json.loads(result.stdout.strip().splitlines()[-1])
        before = set(rendered)
        entries = DistributedCacheManager(cache).iter_entries()
        rendered += [e["file"] for e in entries if e["file"] not in before]
        assert run["run"]["files"] == len(rendered) - len(before)

    keys = [listed_file(line, None).key for line in lines]
    assert sorted(rendered) == sorted(keys)  # every file once, by exactly one shard
    assert len({shard_of(k, 3) for k in keys}) == 3  # and each shard had some
    assert all(e["status"] == "success" for e in DistributedCacheManager(cache).iter_entries())


def test_cli_refuses_a_bad_shard(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("a.json\n")
    result = CliRunner().invoke(app, ["render", str(listing), "-c", str(tmp_path / "c"), "--shard", "4/4"])
    assert result.exit_code == 2
    assert "--shard must be I/N" in result.output
    assert not (tmp_path / "c").exists()
