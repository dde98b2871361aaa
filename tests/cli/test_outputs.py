"""``summary`` (table and --json) and ``export`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncrender.cache.summary import summarise
from asyncrender.cli.outputs import summary_table
from tests.support.cli import cli
from tests.support.outputs_cache import PAPERS, Rendered, rendered_cache


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return rendered_cache(tmp_path_factory)



def test_summary_json_holds_the_documented_fields(rendered: Rendered) -> None:
    proc = cli("summary", "-c", str(rendered.cache_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    totals = json.loads(proc.stdout)
    assert set(totals) == {"files", "items", "failures_by_kind", "render_seconds", "migrated", "generated_at"}
    assert totals["files"]["total"] == PAPERS + 1 and totals["items"]["rendered"] == PAPERS * 3
    assert totals == json.loads((rendered.cache_dir / "summary.json").read_text())


def test_summary_table_shows_shares_and_kinds(rendered: Rendered) -> None:
    proc = cli("summary", "-c", str(rendered.cache_dir))
    assert proc.returncode == 0, proc.stderr
    for word in ("partial", "rendered", "unsupported", "per item"):
        assert word in proc.stdout
    table = summary_table(summarise([], "T"), Path("c"))
    assert table.row_count >= 6  # an empty cache still has a table, with no division by zero


def test_export_command_prints_counts_and_refuses_bad_usage(rendered: Rendered, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    proc = cli("export", "-c", str(rendered.cache_dir), "-o", str(out), "--json", "--validation", "0.3")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert sum(report["images"].values()) == PAPERS * 3 and report["out"] == str(out.resolve())
    again = cli("export", "-c", str(rendered.cache_dir), "-o", str(out))
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    bad = cli("export", "-c", str(rendered.cache_dir), "-o", str(tmp_path / "x"), "--test", "0.9",
               "--validation", "0.2")
    assert bad.returncode == 2 and "exceed 1" in bad.stderr
    assert not (tmp_path / "x").exists()
