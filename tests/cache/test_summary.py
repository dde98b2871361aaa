"""cache.summary: totals over entries (pure)."""

from __future__ import annotations

from asyncrender.cache.summary import summarise


def test_totals() -> None:
    entries = [
        {"status": "success", "images": [{}, {}], "errors": [], "seconds": 1.5},
        {"status": "partial", "images": [{}], "errors": [{"kind": "latex"}, {"kind": "timeout"}], "seconds": 2},
        {"status": "failed", "images": [], "errors": [{"kind": "input"}], "migrated": {"from": "x"}},
    ]
    summary = summarise(entries, "now")
    assert summary == {
        "files": {"total": 3, "by_status": {"success": 1, "partial": 1, "failed": 1}},
        "items": {"rendered": 3, "failed": 3},
        "failures_by_kind": {"input": 1, "latex": 1, "timeout": 1},
        "render_seconds": 3.5,
        "migrated": 1,
        "generated_at": "now",
    }
