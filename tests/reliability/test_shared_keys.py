"""Issue 12, item 5: two lists in different folders each list ``paper_extracted.json`` (two different
files, one cache key). The second used to replace the first's entry silently; now it is refused,
named, with exit 1, and the first's entry and images stay. Once the first file is gone (the corpus
moved), the key is taken over.
"""

from __future__ import annotations

import json
from pathlib import Path

from asyncrender.cache.manager import DistributedCacheManager
from tests.reliability.support import cli_args, run_cli

KEY = "paper_extracted.json"


def _corpus(folder: Path, latex: str) -> Path:
    folder.mkdir(parents=True)
    (folder / KEY).write_text(json.dumps({"items": [{"id": "eq1", "latex": latex}]}))
    (folder / "list.txt").write_text(KEY + "\n")
    return folder / "list.txt"


def test_two_files_under_one_key_never_replace_each_other(tmp_path: Path) -> None:
    first, second = _corpus(tmp_path / "a", "x^2"), _corpus(tmp_path / "b", "y^3")
    cache, out = tmp_path / "cache", tmp_path / "out"
    done = run_cli(cli_args(first, cache, out))
    assert done.returncode == 0, done.stderr.decode()
    entry = DistributedCacheManager(cache).load_file_cache(KEY)
    assert entry is not None and entry.get("source") == str((tmp_path / "a" / KEY).resolve())
    image = Path(entry["images"][0]["path"])
    before = image.read_bytes()

    for flags in ([], ["--resume"]):
        refused = run_cli(cli_args(second, cache, out, *flags))
        assert refused.returncode == 1
        err = refused.stderr.decode()
        assert f"{KEY}: not rendered: its cache key is another file's, {tmp_path / 'a' / KEY}" in err
        assert len(err.strip().splitlines()) == 2  # the file, then the count; no traceback
        assert DistributedCacheManager(cache).load_file_cache(KEY) == entry
        assert image.read_bytes() == before

    (tmp_path / "a" / KEY).unlink()  # the first file is gone: the key is the second's now
    taken = run_cli(cli_args(second, cache, out))
    assert taken.returncode == 0, taken.stderr.decode()
    now = DistributedCacheManager(cache).load_file_cache(KEY)
    assert now is not None and now.get("source") == str((tmp_path / "b" / KEY).resolve())
