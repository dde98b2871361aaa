"""worker: what a worker process does with a job (called directly here: same code, this process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from asyncrender.config import RenderSettings
from asyncrender.model import ListedFile, RenderJob
from asyncrender.render.latex import tex_available
from asyncrender.styles import BUILT_IN, StyleDef
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


def _latex_job(tmp_path: Path, settings: RenderSettings, items: list[dict[str, str]]) -> RenderJob:
    if not tex_available():
        pytest.skip("TeX is not installed (latex, dvipng and preview.sty are needed)")
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "p_extracted.json"
    path.write_text(json.dumps({"paper_id": "p", "items": items}))
    return RenderJob((ListedFile("p_extracted.json", str(path)),), settings, str(tmp_path / "out"))


FORMULAS = [{"id": "a", "latex": r"\int_0^1 \frac{\alpha x^2}{\sqrt{1+y}}\,dx = \sum_n \gamma_n"},
            {"id": "b", "latex": r"E = mc^2 + \mathbb{R}"}]


def test_every_built_in_style_renders_and_looks_different(tmp_path: Path) -> None:
    styles = tuple(BUILT_IN)
    (outcome,) = render_job(_latex_job(tmp_path, RenderSettings(renderer="latex", styles=styles), FORMULAS))
    assert not outcome.errors, outcome.errors
    assert [(i["id"], i.get("style")) for i in outcome.images] == [(f["id"], s) for f in FORMULAS for s in styles]
    for image in outcome.images:
        assert Path(image["path"]).name == f"{image['id']}.{image.get('style')}.png" and image.get("dpi") == 200
    for formula in FORMULAS:
        pixels = {Image.open(i["path"]).convert("RGBA").tobytes() for i in outcome.images if i["id"] == formula["id"]}
        assert len(pixels) == len(styles)  # each style is a different picture of the formula


def test_a_failure_in_one_style_leaves_the_other_styles(tmp_path: Path) -> None:
    settings = RenderSettings(renderer="latex", styles=("cm", "broken"),
                              style=(StyleDef("broken", (r"\def\gamma{\undefinedinthisstyle}",)),))
    (outcome,) = render_job(_latex_job(tmp_path, settings, FORMULAS))
    assert [(e["id"], e.get("style"), e["kind"]) for e in outcome.errors] == [("a", "broken", "latex")]
    assert "undefinedinthisstyle" in outcome.errors[0]["message"]
    assert sorted((i["id"], i.get("style")) for i in outcome.images) == [("a", "cm"), ("b", "broken"), ("b", "cm")]
    assert not (tmp_path / "out" / "p" / "a.broken.png").exists()


def test_one_style_per_item_from_the_seed_and_one_style_changes_nothing(tmp_path: Path) -> None:
    items = [{"id": str(i), "latex": f"x_{i}"} for i in range(12)]
    settings = RenderSettings(renderer="latex", styles=("cm", "times", "euler"), style_choice="one", seed=4)
    (outcome,) = render_job(_latex_job(tmp_path, settings, items))
    chosen = [i.get("style") for i in outcome.images]
    assert len(chosen) == 12 and len(set(chosen)) > 1
    assert chosen == [settings.item_looks("p", str(i))[0][0] for i in range(12)]
    (plain,) = render_job(_latex_job(tmp_path / "plain", RenderSettings(renderer="latex"), items[:2]))
    assert [Path(i["path"]).name for i in plain.images] == ["0.png", "1.png"]
    assert all("style" not in i and "dpi" not in i for i in plain.images)
