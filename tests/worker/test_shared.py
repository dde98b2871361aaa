"""Each distinct item typeset once per run (``worker.shared``): copies get the first copy's image
(byte-identical, hard-linked), their own files and records, and say which image they share; failed
copies fail the same way; across jobs and worker processes through the run's store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from asyncrender.config import RenderSettings
from asyncrender.model import ListedFile, RenderJob
from asyncrender.render.base import ItemOutcome, RenderItem, publish_file
from asyncrender.worker.process import render_job_with
from asyncrender.worker.shared import SHARE_ROOT, run_share_dir
from benchmarks.tiny_backend import TINY_PNG

ROOT = Path(__file__).resolve().parents[2]


class CountingBackend:
    """Writes one distinct PNG per LaTeX (its text in a tEXt chunk) and fails ``\\bad``; counts calls."""

    name = "counting"

    def __init__(self) -> None:
        self.typeset: Counter[str] = Counter()

    def version(self) -> str:
        return "counting 1"

    def render(self, items: Sequence[RenderItem], settings: RenderSettings) -> list[ItemOutcome]:
        out = []
        for item in items:
            self.typeset[item.latex] += 1
            if item.latex == r"\bad":
                out.append(ItemOutcome.failed("latex", "! Undefined control sequence. l.1 \\bad"))
                continue
            publish_file(TINY_PNG[:-12] + item.latex.encode() + TINY_PNG[-12:], item.out_path)
            out.append(ItemOutcome(width=1, height=1, depth=0))
        return out


def _job(tmp_path: Path, papers: dict[str, list[object]], share: bool = True, run: str = "r1") -> RenderJob:
    files = []
    for paper, items in papers.items():
        path = tmp_path / f"{paper}_extracted.json"
        path.write_text(json.dumps({"paper_id": paper, "items": items}))
        files.append(ListedFile(path.name, str(path)))
    out = tmp_path / "out"
    share_dir = run_share_dir(out, run) if share else None
    if share_dir is not None:
        share_dir.mkdir(parents=True, exist_ok=True)
    return RenderJob(tuple(files), RenderSettings(renderer="mathtext"), str(out),
                     str(share_dir) if share_dir else None)


def test_copies_in_one_job_are_typeset_once_and_linked(tmp_path: Path) -> None:
    backend = CountingBackend()
    items = [{"id": "a", "latex": "x^2"}, {"id": "b", "latex": r"\bad"}, {"id": "c", "latex": "y"}]
    outcomes = render_job_with(_job(tmp_path, {"p1": items, "p2": items}), backend)
    assert backend.typeset == {"x^2": 1, r"\bad": 1, "y": 1}
    first, second = outcomes
    for mine, theirs in zip(second.images, first.images, strict=True):
        assert mine["path"] != theirs["path"] and mine["shared_from"] == theirs["path"]
        assert Path(mine["path"]).read_bytes() == Path(theirs["path"]).read_bytes()
        assert os.path.samefile(mine["path"], theirs["path"])  # a hard link
        assert "shared_from" not in theirs
    assert second.errors == [{**first.errors[0]}]  # the copy fails the same way


def test_the_same_latex_in_another_type_or_look_is_typeset_apart(tmp_path: Path) -> None:
    backend = CountingBackend()
    items = [{"id": "a", "latex": "x"}, {"id": "b", "latex": "x", "type": "inline"}]
    outcomes = render_job_with(_job(tmp_path, {"p1": items}), backend)
    assert backend.typeset == {"x": 2} and all("shared_from" not in i for i in outcomes[0].images)


def test_later_jobs_of_the_run_take_the_image_from_the_store(tmp_path: Path) -> None:
    backend = CountingBackend()
    render_job_with(_job(tmp_path, {"p1": ["x^2", r"\bad"]}), backend)
    later = render_job_with(_job(tmp_path, {"p2": ["x^2", r"\bad"]}), CountingBackend())
    assert backend.typeset == {"x^2": 1, r"\bad": 1}
    (image,) = later[0].images
    assert image["shared_from"] == str(tmp_path / "out" / "p1" / "0.png")
    assert Path(image["path"]).read_bytes() == (tmp_path / "out" / "p1" / "0.png").read_bytes()
    assert later[0].errors[0]["kind"] == "latex" and later[0].errors[0]["message"].startswith("! Undefined")


def test_another_run_typesets_again(tmp_path: Path) -> None:
    render_job_with(_job(tmp_path, {"p1": ["x^2"]}, run="r1"), CountingBackend())
    backend = CountingBackend()
    render_job_with(_job(tmp_path, {"p2": ["x^2"]}, run="r2"), backend)
    assert backend.typeset == {"x^2": 1}


def test_sharing_off_typesets_every_copy(tmp_path: Path) -> None:
    backend = CountingBackend()
    outcomes = render_job_with(_job(tmp_path, {"p1": ["x", "x"], "p2": ["x"]}, share=False), backend)
    assert backend.typeset == {"x": 3}
    assert all("shared_from" not in i for o in outcomes for i in o.images)


def _cli_run(tmp_path: Path, *extra: str) -> dict[str, dict[str, object]]:
    papers = tmp_path / "papers"
    papers.mkdir(exist_ok=True)
    for k in range(8):  # the same three formulas in eight papers
        (papers / f"q{k}_extracted.json").write_text(json.dumps(
            {"paper_id": f"q{k}", "items": ["a+b", r"\frac{1}{2}", f"x_{k}"]}))
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"papers/q{k}_extracted.json\n" for k in range(8)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    subprocess.run([sys.executable, "-m", "asyncrender", "render", str(listing), "-c", str(tmp_path / "c"),
                    "-o", str(tmp_path / "o"), "-j", "2", "--quiet", "--renderer", "mathtext", *extra],
                   check=True, env=env)
    entries = [json.loads(p.read_bytes()) for p in (tmp_path / "c" / "file_caches").glob("*.cache")]
    return {e["paper_id"]: e for e in entries}


@pytest.mark.parametrize("share", [True, False])
def test_a_run_of_two_workers_shares_images_across_papers_and_removes_its_store(tmp_path: Path,
                                                                                 share: bool) -> None:
    config = tmp_path / "run.toml"
    config.write_text(f"[run]\nshare_images = {str(share).lower()}\n")
    entries = _cli_run(tmp_path, "--config", str(config))
    images = [i for e in entries.values() for i in e["images"]]  # type: ignore[attr-defined]
    assert len(images) == 24
    shared = [i for i in images if "shared_from" in i]
    for image in shared:
        assert Path(image["path"]).read_bytes() == Path(image["shared_from"]).read_bytes()
    # 16 items hold the two common formulas: each typeset once, or once per worker when two
    # workers met it at the same time; every other copy is shared
    assert (16 - 4 <= len(shared) <= 16 - 2) if share else not shared
    assert not (tmp_path / "o" / SHARE_ROOT).exists()


def test_place_copy_links_a_new_image_in_place_and_replaces_an_old_one_whole(tmp_path: Path) -> None:
    from asyncrender.worker.shared import place_copy

    source = tmp_path / "first.png"
    source.write_bytes(TINY_PNG)
    new, old = tmp_path / "new.png", tmp_path / "old.png"
    old.write_bytes(b"an earlier run's image")
    place_copy(source, new)
    place_copy(source, old)
    for target in (new, old):
        assert os.path.samefile(target, source) and target.read_bytes() == TINY_PNG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.png", "new.png", "old.png"]  # no temp left
