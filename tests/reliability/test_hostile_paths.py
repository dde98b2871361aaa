"""Point 6: hostile paper and item ids never write outside output_dir, never overwrite each other."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from asyncrender.worker.naming import item_file_names, paper_dir
from asyncrender.worker.paperdirs import OWNER_FILE, owned_paper_dir
from tests.reliability.support import audit, cli_args, run_cli

HOSTILE = ["../x", "../../etc/passwd", "/abs/y", "a\x00b", "q" * 10_000, "..", ".", "", " ", "CON",
           "Eq1", "eq1", "EQ1", "a/b", "a_b", "\udcff", "é", "e\u0301"]
ids = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300), st.text(alphabet="./\\\x00aA", max_size=12))


@settings(max_examples=500, deadline=None)
@given(ids, st.lists(ids, max_size=12, unique=True))
def test_names_stay_inside_and_apart(paper_id: str, item_ids: list[str]) -> None:
    out = Path("/out")
    folder = paper_dir(out, paper_id)
    assert folder.parent == out and folder.name not in ("", ".", "..")
    names = item_file_names(item_ids)
    assert len({n.casefold() for n in names}) == len(names)
    for name in [folder.name, *names]:
        assert "/" not in name and "\x00" not in name and not name.startswith(".")
        assert len(name.encode("utf-8", "surrogateescape")) <= 255


def test_a_folder_belongs_to_the_first_file_that_uses_it(tmp_path: Path) -> None:
    first = owned_paper_dir(tmp_path, "2401.1", "a_extracted.json")
    second = owned_paper_dir(tmp_path, "2401.1", "copy/a_extracted.json")
    assert first == tmp_path / "2401.1" and second != first and second.parent == tmp_path
    assert owned_paper_dir(tmp_path, "2401.1", "a_extracted.json") == first
    assert owned_paper_dir(tmp_path, "2401.1", "copy/a_extracted.json") == second
    assert (first / OWNER_FILE).read_text() == "a_extracted.json"


def test_hostile_ids_end_to_end(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    docs = {
        "evil_extracted.json": {"paper_id": "../../escaped", "items": [{"id": i, "latex": f"x_{n}"}
                                                                        for n, i in enumerate(HOSTILE)]},
        "abs_extracted.json": {"paper_id": str(tmp_path / "abs_target"), "items": ["a", "b"]},
        "long_extracted.json": {"paper_id": "p" * 10_000, "items": [{"id": "q" * 10_000, "latex": "z"}]},
        # Two files that claim one paper id, with the same item ids: neither may overwrite the other.
        "v1_extracted.json": {"paper_id": "2401.00001", "items": [{"id": "eq1", "latex": "v^1"}]},
        "v2_extracted.json": {"paper_id": "2401.00001", "items": [{"id": "eq1", "latex": "v^2 + w"}]},
    }
    for name, doc in docs.items():
        (folder / name).write_text(json.dumps(doc))
    listing = folder / "list.txt"
    listing.write_text("\n".join(docs) + "\n")
    cache, out = tmp_path / "cache", tmp_path / "out"
    done = run_cli(cli_args(listing, cache, out))
    assert done.returncode == 0, done.stderr.decode()
    entries = audit(cache, list(docs))

    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    outside = {p for p in written if not p.is_relative_to(out) and not p.is_relative_to(cache)
               and not p.is_relative_to(folder)}
    assert outside == set(), outside
    listed = [Path(image["path"]) for e in entries.values() for image in e["images"]]
    assert len(set(listed)) == len(listed)  # no two items share a file
    assert all(p.resolve().is_relative_to(out.resolve()) for p in listed)
    pngs = {p for p in written if p.suffix == ".png"}
    assert pngs == set(listed)
    # The two claimants of 2401.00001 keep different images.
    v1, v2 = (entries[k]["images"][0] for k in ("v1_extracted.json", "v2_extracted.json"))
    assert v1["path"] != v2["path"] and (v1["width"], v1["height"]) != (v2["width"], v2["height"])
    # Every hostile id got its own image or a clear error (an empty id is refused).
    evil = entries["evil_extracted.json"]
    assert len(evil["images"]) + len(evil["errors"]) == len(HOSTILE)
    assert os.path.commonpath([out, *listed]) == str(out)
