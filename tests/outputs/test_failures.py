"""Failure rows from entries, and ``asyncrender failures`` on a real rendered cache."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from asyncrender.outputs.failures import entry_failures, error_line, failure_rows, write_csv, write_json
from tests.support.cli import cli
from tests.support.outputs_cache import PAPERS, Rendered, rendered_cache


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return rendered_cache(tmp_path_factory)


ENTRY = {
    "file": "papers/a.json", "paper_id": "2401.1", "status": "partial", "images": [{"id": "ok"}],
    "errors": [{"id": "eq2", "kind": "latex", "message": "! Undefined control sequence.\nl.3 \\foo",
                "type": "display", "latex": "\\foo"},
               {"id": 7, "kind": "input", "message": "items[7]: 'latex' must be a string"}],
}


def test_rows_carry_file_paper_item_kind_message_and_latex() -> None:
    rows = entry_failures(ENTRY)
    assert rows[0] == {"file": "papers/a.json", "paper_id": "2401.1", "item_id": "eq2", "style": None, "kind": "latex",
                       "message": "! Undefined control sequence.\nl.3 \\foo", "type": "display",
                       "latex": "\\foo"}
    assert rows[1]["item_id"] == "7" and rows[1]["latex"] is None
    assert error_line(rows[0]) == "papers/a.json [eq2] latex: ! Undefined control sequence. l.3 \\foo"
    assert [r["kind"] for r in failure_rows([ENTRY, ENTRY], frozenset({"input"}))] == ["input", "input"]


def test_a_failure_in_one_style_names_the_style() -> None:
    entry = {**ENTRY, "errors": [{**ENTRY["errors"][0], "style": "euler", "dpi": 200}]}
    (row,) = entry_failures(entry)
    assert row["style"] == "euler"
    assert error_line(row) == "papers/a.json [eq2 euler] latex: ! Undefined control sequence. l.3 \\foo"


def test_whole_file_failure_is_one_row_without_item() -> None:
    entry = {"file": "x.json", "paper_id": None, "status": "failed", "images": [],
             "errors": [{"id": None, "kind": "input", "message": "x.json: not valid JSON"}]}
    (row,) = entry_failures(entry)
    assert row["item_id"] is None and error_line(row) == "x.json [-] input: x.json: not valid JSON"


def test_json_and_csv_round_trip() -> None:
    rows = entry_failures(ENTRY)
    buf = io.StringIO()
    assert write_json(rows, buf) == 2 and json.loads(buf.getvalue()) == rows
    empty = io.StringIO()
    assert write_json([], empty) == 0 and json.loads(empty.getvalue()) == []
    buf = io.StringIO()
    write_csv(rows, buf)
    back = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert back[0]["message"] == rows[0]["message"] and back[1]["latex"] == ""



def test_failures_command_lists_every_failed_item(rendered: Rendered) -> None:
    bad_formulas = len(range(0, PAPERS, 3))
    proc = cli("failures", "-c", str(rendered.cache_dir), "--csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    kinds = sorted(r["kind"] for r in rows)
    assert kinds == sorted(["unsupported"] * PAPERS + ["latex"] * bad_formulas + ["input"])
    whole = next(r for r in rows if r["kind"] == "input")
    assert whole["file"] == "broken_extracted.json" and whole["item_id"] == ""
    latex = next(r for r in rows if r["kind"] == "latex")
    assert latex["item_id"] == "bad" and latex["latex"] == r"\frac{1}{" and latex["message"]

    only_latex = cli("failures", "-c", str(rendered.cache_dir), "--json", "--kind", "latex").stdout
    as_json = json.loads(only_latex)
    assert [r["item_id"] for r in as_json] == ["bad"] * bad_formulas

    table = cli("failures", "-c", str(rendered.cache_dir), "--limit", "3")
    assert table.returncode == 0 and f"3 of {len(rows)} shown" in table.stdout


def test_failures_command_on_a_missing_cache_is_a_clear_error(tmp_path: Path) -> None:
    proc = cli("failures", "-c", str(tmp_path / "nope"))
    assert proc.returncode == 1 and "not a cache folder" in proc.stderr
    assert not (tmp_path / "nope").exists()
