"""inputs: the pure parser (no event loop) and the streamed file list reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from asyncrender.inputs.extracted import InputError, parse_extracted, read_extracted
from asyncrender.inputs.filelist import list_lines, listed_file, read_file_list
from asyncrender.model import ListedFile, normalise_key


def test_object_form_with_defaults() -> None:
    doc = {"items": [{"latex": "a"}, {"id": "t", "type": "raw", "latex": "b"}, {"id": 7, "type": "inline",
                                                                                "latex": "c"}]}
    paper = parse_extracted(json.dumps(doc).encode(), "dir/240100001_extracted.json")
    assert paper.paper_id == "240100001"
    assert [(i.id, i.type, i.latex) for i in paper.items] == [("0", "display", "a"), ("t", "raw", "b"),
                                                                ("7", "inline", "c")]
    assert paper.problems == ()


def test_bare_list_of_strings() -> None:
    paper = parse_extracted(b'["a", "b"]', "x.json")
    assert paper.paper_id == "x"
    assert [(i.id, i.latex) for i in paper.items] == [("0", "a"), ("1", "b")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{not json", "f.json: not valid JSON"),
        (b"\xff\xfe", "f.json: not UTF-8 text"),
        (b"5", "f.json: expected an object with 'items' or a list, not a number"),
        (b'{"items": 5}', "f.json: 'items' must be a list, not a number"),
        (b'{"paper": 1}', "f.json: no 'items' list"),
        (b'{"items": []}', "f.json: no items"),
        (b"[]", "f.json: no items"),
        (b'{"paper_id": [], "items": ["a"]}', "f.json: paper_id must be a string"),
    ],
)
def test_a_bad_file_fails_whole_naming_the_file(data: bytes, expected: str) -> None:
    with pytest.raises(InputError) as info:
        parse_extracted(data, "f.json")
    assert str(info.value).startswith(expected)


def test_a_bad_item_fails_alone_naming_file_and_place() -> None:
    doc = {"items": [{"id": "ok", "latex": "a"}, {"id": "n", "latex": 5}, 3, {"id": "ok", "latex": "b"},
                     {"id": "t", "type": "math", "latex": "c"}, {"latex": "  "}]}
    paper = parse_extracted(json.dumps(doc).encode(), "p.json")
    assert [i.id for i in paper.items] == ["ok"]
    messages = {p.id: p.message for p in paper.problems}
    assert messages["n"] == "p.json: items[1]: 'latex' must be a string, not a number"
    assert messages["2"] == "p.json: items[2]: an item must be an object or a string, not a number"
    assert messages["ok#3"] == "p.json: items[3]: duplicate id 'ok'"
    assert messages["t"].startswith("p.json: items[4]: type must be one of display, inline, raw")
    assert messages["5"] == "p.json: items[5]: 'latex' is empty"


def test_keys_normalise_so_one_file_is_one_key() -> None:
    assert normalise_key("./a.json") == normalise_key("a.json") == normalise_key("x/../a.json") == "a.json"
    assert normalise_key("/abs//dir/./f.json") == "/abs/dir/f.json"
    with pytest.raises(InputError):
        normalise_key("")


def test_listed_paths_are_relative_to_the_list_folder() -> None:
    assert listed_file("./p/a.json", "lists") == ListedFile(key="p/a.json", path="lists/./p/a.json")
    assert listed_file("/abs/a.json", "lists") == ListedFile(key="/abs/a.json", path="/abs/a.json")


def test_list_lines_skip_blanks_and_comments() -> None:
    assert list_lines("a\n\n# c\n  b  \r\n#x\n") == ["a", "b"]


def test_read_extracted_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_extracted(str(tmp_path / "missing.json"))
    with pytest.raises(InputError, match="is a folder"):
        read_extracted(str(tmp_path))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_extracted(str(fifo))


async def _collect(source: str) -> list[list[ListedFile]]:
    return [chunk async for chunk in read_file_list(source)]


def test_file_list_is_streamed_in_chunks_across_line_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncrender.inputs.filelist as inputs

    monkeypatch.setattr(inputs, "LIST_CHUNK_BYTES", 7)  # cut lines mid-way, many times
    listing = tmp_path / "list.txt"
    listing.write_text("# header\nalpha.json\n\nbeta/./b.json\ngamma.json")  # no final newline
    chunks = anyio.run(_collect, str(listing))
    assert len(chunks) > 1
    flat = [f for chunk in chunks for f in chunk]
    assert [f.key for f in flat] == ["alpha.json", "beta/b.json", "gamma.json"]
    assert flat[0].path == os.path.join(str(tmp_path), "alpha.json")


def test_file_list_from_standard_input(tmp_path: Path) -> None:
    code = ("import anyio, asyncrender.inputs as i\n"
            "async def main():\n"
            "    async for chunk in i.read_file_list('-'):\n"
            "        for f in chunk: print(f.key, f.path)\n"
            "anyio.run(main)\n")
    out = subprocess.run([sys.executable, "-c", code], input=b"a.json\n# c\n./b.json\n", capture_output=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.decode().splitlines() == ["a.json a.json", "b.json ./b.json"]
