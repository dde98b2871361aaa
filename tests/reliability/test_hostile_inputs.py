"""Point 5: hostile and broken inputs, generated with hypothesis; the run never crashes.

The pure parser sees well over 1,000 generated extracted files and file lists (wrong types, deep
nesting, huge strings, invalid UTF-8, NUL bytes, binary data). Then real runs, in-process and
through the CLI, meet generated files on disk plus symlink loops, folders, FIFOs, missing files
and duplicate lines: every listed file gets an entry, and every bad one an error naming it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.config import Config, RenderSettings, RunSettings
from asyncrender.inputs.extracted import InputError, parse_extracted
from asyncrender.inputs.filelist import list_lines, listed_file
from asyncrender.run.renderer import AsyncRenderer
from tests.reliability.support import cli_args, run_cli

SOURCE = "papers/x_extracted.json"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: (st.lists(children, max_size=5)
                      | st.dictionaries(st.text(max_size=8), children, max_size=5)),
    max_leaves=30,
)
items = st.one_of(
    json_values,
    st.text(max_size=40),
    st.fixed_dictionaries({}, optional={"id": json_values | st.text(max_size=20) | st.integers(),
                                        "latex": json_values | st.text(max_size=60),
                                        "type": json_values | st.sampled_from(["raw", "DISPLAY"])}),
)
documents = st.one_of(
    json_values,
    st.lists(items, max_size=6),
    st.fixed_dictionaries({}, optional={"paper_id": json_values | st.text(max_size=40),
                                        "items": json_values | st.lists(items, max_size=6)}),
)


def encoded(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def mangled(data: bytes, how: int) -> bytes:
    """Damage a document the ways real files are damaged."""
    if how == 1:
        return data[: len(data) // 2]  # truncated
    if how == 2:
        return data.replace(b'"', b'"\x00', 1)  # a NUL byte
    if how == 3:
        return data.replace(b'"', b'"\xff\xfe', 1)  # invalid UTF-8
    if how == 4:
        return b"[" * 50_000 + data  # nested far beyond the recursion limit
    if how == 5:
        return b'{"items": [' + b"9" * 5000 + b"]}"  # an integer of 5,000 digits
    return data


hostile_bytes = st.one_of(
    st.builds(mangled, documents.map(encoded), st.integers(0, 5)),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


def check_parse(data: bytes) -> None:
    try:
        paper = parse_extracted(data, SOURCE)
    except InputError as exc:
        assert str(exc).startswith(SOURCE + ": ") and len(str(exc)) < 1000
        return
    ids = [item.id for item in paper.items]
    assert len(set(ids)) == len(ids)
    for item in paper.items:
        assert item.latex.strip() and "\x00" not in item.latex
        item.latex.encode("utf-8")  # valid Unicode, so every backend can write it
    for problem in paper.problems:
        assert problem.message.startswith(SOURCE + ": ") and len(problem.message) < 1000


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_bytes)
def test_the_parser_never_raises_anything_but_input_error(data: bytes) -> None:
    check_parse(data)


def test_huge_strings_are_parsed_and_quoted_briefly() -> None:
    huge = "x" * 5_000_000
    check_parse(encoded({"paper_id": huge, "items": [{"id": huge, "latex": huge, "type": huge}]}))
    check_parse(encoded({"items": [{"type": [[[[[[["deep"]]]]]]] * 900}]}))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_file_lists_of_any_bytes_give_listed_files(data: bytes) -> None:
    for line in list_lines(data.decode("utf-8", "surrogateescape")):
        listed = listed_file(line, "base")
        assert listed.key and listed.path


def run_library(paths: list[str], tmp: Path) -> dict[str, dict[str, Any]]:
    config = Config(render=RenderSettings(renderer="mathtext"), run=RunSettings(jobs=2, files_per_job=8))

    async def main() -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        async with AsyncRenderer(tmp / "cache", tmp / "out", config=config) as r:
            async for result in r.render(paths):
                assert result.entry is not None
                out[result.key] = result.entry
        return out

    return anyio.run(main)


def assert_clear(entries: dict[str, dict[str, Any]]) -> None:
    for key, entry in entries.items():
        for error in entry["errors"]:
            assert error["kind"] in ("input", "latex", "unsupported", "too_large"), error
            if error["id"] is None:  # the whole file failed: the message names it (escaped if need be)
                name = os.path.basename(key)
                assert name in error["message"] or repr(name)[1:-1] in error["message"], error


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(hostile_bytes, min_size=60, max_size=60))
def test_runs_on_generated_hostile_files_never_crash(tmp_path_factory: Any, blobs: list[bytes]) -> None:
    tmp = tmp_path_factory.mktemp("hostile")
    paths = []
    for index, blob in enumerate(blobs):
        path = tmp / f"h{index:03d}_extracted.json"
        path.write_bytes(blob)
        paths.append(str(path))
    entries = run_library(paths, tmp)
    assert set(entries) == {os.path.normpath(p) for p in paths}
    assert_clear(entries)


def test_the_cli_survives_every_kind_of_broken_listing(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good_extracted.json").write_text(json.dumps({"items": ["x^2", {"latex": "\\frac{1}{2}"}]}))
    (folder / "deep_extracted.json").write_bytes(b"[" * 100_000)
    (folder / "huge_extracted.json").write_text(json.dumps({"items": ["y" * 3_000_000, "z"]}))
    (folder / "binary_extracted.json").write_bytes(bytes(range(256)) * 10)
    (folder / "nul_extracted.json").write_bytes(b'{"items": ["a\\u0000b", "c"]}')
    (folder / "rawnul_extracted.json").write_bytes(b'{"items": ["a\x00b"]}')
    (folder / "latin1_extracted.json").write_bytes('{"items": ["caf\xe9"]}'.encode("latin-1"))
    (folder / "wrong_extracted.json").write_text(json.dumps({"items": {"a": 1}}))
    (folder / "folder_extracted.json").mkdir()
    os.symlink("loop_b_extracted.json", folder / "loop_a_extracted.json")
    os.symlink("loop_a_extracted.json", folder / "loop_b_extracted.json")
    os.mkfifo(folder / "fifo_extracted.json")
    odd = os.fsencode(folder) + b"/odd\xff\xfe_extracted.json"
    with open(odd, "wb") as f:
        f.write(b'{"items": ["q"]}')
    lines = [b"good_extracted.json", b"good_extracted.json", b"./good_extracted.json", b"deep_extracted.json",
             b"huge_extracted.json", b"binary_extracted.json", b"nul_extracted.json",
             b"rawnul_extracted.json", b"latin1_extracted.json",
             b"wrong_extracted.json", b"folder_extracted.json", b"loop_a_extracted.json",
             b"fifo_extracted.json", b"missing_extracted.json", b"odd\xff\xfe_extracted.json",
             b"with\x00nul_extracted.json", b"", b"# a comment", b"   "]
    listing = folder / "list.txt"
    listing.write_bytes(b"\n".join(lines) + b"\r\n")
    cache, out = tmp_path / "cache", tmp_path / "out"
    done = run_cli(cli_args(listing, cache, out, "--json"))
    assert done.returncode == 0, done.stderr.decode()
    entries = {e["file"]: e for e in DistributedCacheManager(cache).iter_entries()}
    assert len(entries) == 14, sorted(entries)  # the three listings of good_extracted.json are one key
    assert entries["good_extracted.json"]["status"] == "success"
    assert entries["odd\udcff\udcfe_extracted.json"]["status"] == "success"
    assert entries["huge_extracted.json"]["status"] == "partial"  # the huge item fails alone
    assert_clear(entries)
    expectations = [("deep", "nested too deeply"), ("binary", ("not valid JSON", "not UTF-8")), ("nul", "NUL"),
                    ("rawnul", "control character"), ("latin1", "not UTF-8"), ("wrong", "must be a list"),
                    ("folder", "folder"), ("loop_a", "symbolic links"), ("fifo", "not a regular file"),
                    ("missing", "no such")]
    for name, expected in expectations:
        errors = entries[f"{name}_extracted.json"]["errors"]
        options = expected if isinstance(expected, tuple) else (expected,)
        assert any(o in e["message"] for e in errors for o in options), (name, errors)
    assert "NUL" in entries["with\x00nul_extracted.json"]["errors"][0]["message"]
