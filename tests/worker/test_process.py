"""worker: what a worker process does with a job (called directly here: same code, this process)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from asyncrender.config import RenderSettings
from asyncrender.model import ListedFile, RenderJob
from asyncrender.worker.process import render_job

MATHTEXT = RenderSettings(renderer="mathtext", dpi=100)


def job_for(tmp_path: Path, papers: dict[str, bytes]) -> RenderJob:
    files = []
    for name, data in papers.items():
        (tmp_path / name).write_bytes(data)
        files.append(ListedFile(name, str(tmp_path / name)))
    return RenderJob(tuple(files), MATHTEXT, str(tmp_path / "out"))


def test_a_malformed_file_among_good_ones_fails_alone(tmp_path: Path) -> None:
    good = json.dumps({"paper_id": "good", "items": ["a+b", {"id": "c", "latex": "c^2"}]}).encode()
    job = job_for(tmp_path, {"good.json": good, "bad.json": b"{oops", "also.json": b'["x"]'})
    outcomes = render_job(job)
    assert [o.key for o in outcomes] == ["good.json", "bad.json", "also.json"]
    assert [len(o.images) for o in outcomes] == [2, 0, 1]
    bad = outcomes[1]
    assert bad.errors[0]["kind"] == "input" and str(tmp_path / "bad.json") in bad.errors[0]["message"]
    assert bad.input_fp is not None  # read fine, parsed badly: --resume skips it until it changes
    for image in outcomes[0].images:
        with Image.open(image["path"]) as png:
            assert png.size == (image["width"], image["height"])


def test_hostile_ids_stay_inside_output_dir(tmp_path: Path) -> None:
    paper = {"paper_id": "../../escape", "items": [{"id": "../../x", "latex": "x"}, {"id": "/etc/y", "latex": "y"}]}
    outcome = render_job(job_for(tmp_path, {"p.json": json.dumps(paper).encode()}))[0]
    out = (tmp_path / "out").resolve()
    paths = [Path(i["path"]).resolve() for i in outcome.images]
    assert len(set(paths)) == 2
    assert all(out in p.parents for p in paths)
    assert [i["id"] for i in outcome.images] == ["../../x", "/etc/y"]


def test_an_item_that_now_fails_loses_its_stale_image(tmp_path: Path) -> None:
    job = job_for(tmp_path, {"p.json": json.dumps({"paper_id": "p", "items": [{"id": "a", "latex": "a"}]}).encode()})
    first = render_job(job)[0]
    stale = Path(first.images[0]["path"])
    assert stale.exists()
    (tmp_path / "p.json").write_text(json.dumps({"paper_id": "p", "items": [{"id": "a", "latex": r"\frac{"}]}))
    second = render_job(job)[0]
    assert second.errors[0]["id"] == "a" and not stale.exists()
