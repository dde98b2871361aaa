"""Deterministic output, end to end: the same inputs and settings give byte-identical PNGs whatever
``-j``, the list's order, the packing of files into jobs, the batch size, or the resume history.

The real CLI with real TeX on the shipped examples (19 papers: display, inline and raw items, with
numbered environments) plus a paper of stateful items that would leak between neighbours if a TeX
run shared state (counters, global definitions, \\setcounter).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.render.latex import tex_available
from tests.support.cli import cli
from tests.support.papers import EXAMPLES

STATEFUL = {"paper_id": "stateful", "items": [
    {"id": "s1", "type": "raw", "latex": r"\begin{equation} a = b \end{equation}"},
    {"id": "s2", "type": "raw", "latex": r"\setcounter{equation}{41}\begin{equation} c = d \end{equation}"},
    {"id": "s3", "type": "raw", "latex": r"\newcounter{mine}\stepcounter{mine}\themine"},
    {"id": "s4", "type": "raw", "latex": r"\gdef\leak{LEAK}\begin{align} x &= y \label{e} \end{align}"},
    {"id": "s5", "type": "raw", "latex": r"\begin{align} u &= v \label{e} \end{align}"},
    {"id": "s6", "latex": r"\frac{1}{2}"},
]}


def _papers(tmp_path: Path) -> list[str]:
    paths = [str(EXAMPLES / line) for line in (EXAMPLES / "arxiv_file_list.txt").read_text().split("\n")
             if line.strip() and not line.startswith("#")]
    stateful = tmp_path / "stateful_extracted.json"
    stateful.write_text(json.dumps(STATEFUL))
    return [*paths, str(stateful)]


def _render(tmp_path: Path, name: str, paths: list[str], *flags: str, config: str = "") -> dict[str, bytes]:
    listing = tmp_path / f"{name}.txt"
    listing.write_text("\n".join(paths) + "\n")
    settings = tmp_path / f"{name}.toml"
    settings.write_text(config)
    cache, out = tmp_path / f"{name}-cache", tmp_path / "out" / name
    proc = cli("render", str(listing), "-c", str(cache), "-o", str(out), "--renderer", "latex", "--quiet",
               "--config", str(settings), *flags)
    assert proc.returncode == 0, proc.stderr
    images = {}
    for entry in DistributedCacheManager(cache).iter_entries():
        for image in entry["images"]:
            images[f"{entry['paper_id']}/{image['id']}"] = Path(image["path"]).read_bytes()
    return images


def test_the_same_inputs_give_the_same_bytes_whatever_the_run(tmp_path: Path) -> None:
    if not tex_available():
        pytest.skip("TeX is not installed (latex, dvipng and preview.sty are needed)")
    paths = _papers(tmp_path)
    base = _render(tmp_path, "j1", paths, "-j", "1")
    assert len(base) > 300 and all(f"stateful/s{i}" in base for i in range(1, 7))
    # Other worker count, reversed list, one file per job, small TeX batches.
    other = _render(tmp_path, "j2", paths[::-1], "-j", "2",
                    config="[render]\nbatch_size = 7\n[run]\nfiles_per_job = 1\n")
    assert other.keys() == base.keys()
    assert [k for k in base if base[k] != other[k]] == []
    # A resume history: half the list first (another order, batch 3), then the whole list resumed.
    half = paths[1::2]
    _render(tmp_path, "resumed", half, "-j", "2", "--resume", config="[render]\nbatch_size = 3\n")
    resumed = _render(tmp_path, "resumed", sorted(paths, key=os.path.basename), "-j", "1", "--resume",
                      config="[render]\nbatch_size = 3\n")
    assert [k for k in base if base[k] != resumed.get(k)] == []
