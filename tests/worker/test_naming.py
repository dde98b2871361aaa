"""naming: output file names stay inside output_dir and never collide."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from asyncrender.worker.naming import item_file_names, paper_dir, safe_name


def test_plain_ids_are_kept() -> None:
    assert safe_name("eq1") == "eq1"
    assert safe_name("2401.00001") == "2401.00001"


def test_unsafe_ids_are_replaced_and_suffixed() -> None:
    assert safe_name("../../x").startswith("_.._x-")
    assert safe_name("..") != safe_name(".")
    assert "/" not in safe_name("/etc/passwd")
    assert len(safe_name("x" * 10_000)) <= 80 + 9
    assert safe_name("a/b") != safe_name("a_b")


def test_ids_that_differ_in_case_get_distinct_files() -> None:
    names = item_file_names(["Eq1", "eq1", "EQ1"])
    assert len({n.casefold() for n in names}) == 3
    assert names[0] == "Eq1.png"


@given(st.lists(st.text(min_size=1, max_size=200), min_size=1, max_size=30, unique=True))
def test_names_stay_inside_and_never_collide(ids: list[str]) -> None:
    root = Path("/out")
    names = item_file_names(ids)
    assert len({n.casefold() for n in names}) == len(ids)
    for name in names:
        target = (paper_dir(root, ids[0]) / name).resolve()
        assert target.parent.parent == root
        assert not name.startswith(".")
