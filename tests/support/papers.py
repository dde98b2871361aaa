"""Real input files for tests: the shipped examples, the shared corpus, synthetic papers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "examples"
CORPUS = PROJECT_ROOT.parent / "shared" / "corpus" / "arxiv_formulas.lst"

# write_papers (the fixture in conftest.py): file name -> JSON content (or raw bytes) -> list path.
WritePapers = Callable[..., Path]


def simple_paper(paper_id: str, n: int = 3) -> dict[str, Any]:
    return {"paper_id": paper_id,
            "items": [{"id": f"eq{i}", "latex": f"x_{{{i}}} + \\frac{{{i}}}{{y}}"} for i in range(n)]}
