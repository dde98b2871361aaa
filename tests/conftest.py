"""Shared test helpers: real files on disk, the shipped examples, the shared corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.papers import CORPUS, WritePapers


@pytest.fixture
def corpus_formulas() -> list[str]:
    """The shared corpus's formulas, line number = id; skips when ../shared is absent."""
    if not CORPUS.exists():
        pytest.skip(f"shared corpus not found at {CORPUS} (a user's checkout has no ../shared)")
    with open(CORPUS, newline="\n", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


@pytest.fixture
def write_papers(tmp_path: Path) -> WritePapers:
    """Write extracted files and a file list under tmp_path; return the list's path.

    ``papers`` maps a file name to its JSON content (or raw bytes for broken files).
    """

    def write(papers: dict[str, Any], list_name: str = "list.txt") -> Path:
        folder = tmp_path / "papers"
        folder.mkdir(exist_ok=True)
        lines = []
        for name, content in papers.items():
            data = content if isinstance(content, bytes) else json.dumps(content).encode()
            (folder / name).write_bytes(data)
            lines.append(f"papers/{name}")
        listing = tmp_path / list_name
        listing.write_text("\n".join(lines) + "\n")
        return listing

    return write
