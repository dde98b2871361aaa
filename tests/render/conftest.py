"""Fixtures for the latex backend's tests: skip without TeX, find the shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncrender.render.latex import tex_available

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT_ROOT / ".." / "shared" / "corpus" / "arxiv_formulas.lst"


@pytest.fixture(scope="session")
def tex() -> None:
    if not tex_available():
        pytest.skip("TeX is not installed (latex, dvipng and preview.sty are needed)")


@pytest.fixture(scope="session")
def corpus_lines() -> list[str]:
    if not CORPUS.exists():
        pytest.skip(f"the shared corpus is absent ({CORPUS}); it lives next to the project, not in it")
    with open(CORPUS, newline="\n", encoding="utf-8") as f:
        return f.read().split("\n")[:1200]
