"""The README's Datasets section, run as written: its export commands against a real rendered cache
(the real CLI), then its loading blocks (the real ``datasets`` and ``webdataset`` libraries)."""

from __future__ import annotations

import os
import shlex
import textwrap
from pathlib import Path

import pytest

from tests.support.cli import cli
from tests.support.outputs_cache import Rendered, hf_datasets, rendered_cache

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(section: str) -> list[str]:
    """The indented code blocks of a ``## section`` of the README."""
    text = README.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks, current = [], []
    for line in [*body.split("\n"), ""]:
        if line.startswith("    "):
            current.append(line)
        elif current:
            blocks.append(textwrap.dedent("\n".join(current)))
            current = []
    return blocks


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return rendered_cache(tmp_path_factory)


# webdataset's tar reader leaves closing its files to the garbage collector.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_datasets_section_runs_as_written(rendered: Rendered, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks("Datasets")
    commands = [b for b in blocks if b.startswith("asyncrender ")]
    programs = [b for b in blocks if b.startswith(("import ", "from "))]
    assert len(commands) == 1 and len(programs) >= 4
    (tmp_path / "cache_dir").symlink_to(rendered.cache_dir)
    ran = 0
    for line in commands[0].splitlines():
        args = shlex.split(line.split("#", 1)[0])
        if any(a.startswith("s3://") for a in args):
            continue  # object storage: tests/test_storage.py, against a local S3 server
        proc = cli(*args[1:], cwd=tmp_path)
        assert proc.returncode == 0, f"{line}\n{proc.stderr}"
        ran += 1
    assert ran == 4
    datasets = hf_datasets()  # offline, quiet
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf")  # not the user's cache
    for program in programs:
        exec(compile(program, f"README.md Datasets block {program.splitlines()[0]!r}", "exec"), {})
    assert os.getcwd() == str(tmp_path)
