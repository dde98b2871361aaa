"""One real render of synthetic papers (mathtext, the real CLI in a subprocess), shared read-only
by the tests of the output commands (export, failures, runlog, gallery, summary): rendered once
per test session, whichever of those modules runs first.

12 papers of 4 items each: 3 that mathtext draws and one it cannot (a ``raw`` tabular ->
``unsupported``), every third paper also a broken formula (``latex``); one paper has an item id
that is not a safe file name; one file is not JSON (the whole file fails).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import cli

PAPERS = 12


@dataclass(frozen=True)
class Rendered:
    root: Path
    list_file: Path
    cache_dir: Path
    output_dir: Path
    log_file: Path
    stderr: str


_session: dict[str, Rendered] = {}


def paper_items(n: int) -> list[dict[str, str]]:
    items = [
        {"id": "eq1", "type": "display", "latex": rf"x_{{{n}}} = \frac{{a_{n} + b}}{{c^{{{n}}}}}"},
        {"id": "in1", "type": "inline", "latex": rf"\alpha_{{{n}}} \leq \beta"},
        {"id": "a/b" if n == 0 else "eq2", "type": "display", "latex": rf"\sum_{{i=1}}^{{{n + 2}}} i^2"},
        {"id": "t1", "type": "raw", "latex": r"\begin{tabular}{cc} a & b \end{tabular}"},
    ]
    if n % 3 == 0:
        items.append({"id": "bad", "type": "display", "latex": r"\frac{1}{"})
    return items


def write_papers(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for n in range(PAPERS):
        name = f"p{n:02d}_extracted.json"
        (folder / name).write_text(json.dumps({"paper_id": f"2401.{n:05d}", "items": paper_items(n)}))
        lines.append(name)
    (folder / "broken_extracted.json").write_text("{not json")
    lines.append("broken_extracted.json")
    list_file = folder / "list.txt"
    list_file.write_text("\n".join(lines) + "\n")
    return list_file


def rendered_cache(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    if "cache" not in _session:
        root = tmp_path_factory.mktemp("outputs")
        list_file = write_papers(root / "papers")
        r = Rendered(root, list_file, root / "cache", root / "rendered", root / "run.log", "")
        proc = cli("render", str(list_file), "-c", str(r.cache_dir), "-o", str(r.output_dir),
                   "--renderer", "mathtext", "-j", "2", "--log-file", str(r.log_file))
        assert proc.returncode == 0, proc.stderr
        _session["cache"] = Rendered(root, list_file, r.cache_dir, r.output_dir, r.log_file, proc.stderr)
    return _session["cache"]



def hf_datasets() -> Any:
    """The real ``datasets`` library, offline (it must not reach the network), quiet."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # before its first import reads them
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    return datasets
