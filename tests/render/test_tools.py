"""render.tools: a tool's version is asked once per binary and remembered across processes; a
replaced binary is asked again; kpsewhich's answer is trusted only while the file is there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from asyncrender.render import tools


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only scripts we write, and a private format cache."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("ASYNCRENDER_FORMAT_DIR", str(tmp_path / "formats"))
    return bin_dir


def _script(bin_dir: Path, name: str, body: str) -> Path:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\necho run >> {bin_dir / (name + '.calls')}\n{body}\n")
    path.chmod(0o755)
    return path


def _calls(bin_dir: Path, name: str) -> int:
    calls = bin_dir / f"{name}.calls"
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_version_asked_once_then_remembered_in_the_format_cache(fake_tools: Path) -> None:
    _script(fake_tools, "mytool", 'echo "mytool 1.0 (build 7)"; echo "second line"')
    assert tools.tool_version("mytool") == "mytool 1.0 (build 7)"
    assert tools.tool_version("mytool") == "mytool 1.0 (build 7)"
    assert _calls(fake_tools, "mytool") == 1
    saved = json.loads((tools.format_cache_dir() / tools.VERSIONS_FILE).read_text())
    assert list(saved.values()) == ["mytool 1.0 (build 7)"]


def test_a_replaced_binary_is_asked_again(fake_tools: Path) -> None:
    _script(fake_tools, "mytool", 'echo "mytool 1.0"')
    assert tools.tool_version("mytool") == "mytool 1.0"
    _script(fake_tools, "mytool", 'echo "mytool 2.0, a longer version line"')  # another size and mtime
    assert tools.tool_version("mytool") == "mytool 2.0, a longer version line"
    assert _calls(fake_tools, "mytool") == 2


def test_missing_or_silent_tools_are_not_remembered(fake_tools: Path) -> None:
    assert tools.tool_version("no-such-tool-here") == "no-such-tool-here missing"
    _script(fake_tools, "silent", "true")
    assert tools.tool_version("silent") == "silent ?"
    assert tools.tool_version("silent") == "silent ?"
    assert _calls(fake_tools, "silent") == 2
    assert not (tools.format_cache_dir() / tools.VERSIONS_FILE).exists()


def test_an_unwritable_cache_folder_only_means_asking_again(fake_tools: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ASYNCRENDER_FORMAT_DIR", str(blocker / "formats"))
    _script(fake_tools, "mytool", 'echo "mytool 3.0"')
    assert tools.tool_version("mytool") == "mytool 3.0"
    assert tools.tool_version("mytool") == "mytool 3.0"
    assert _calls(fake_tools, "mytool") == 2


def test_tex_file_is_remembered_while_the_file_exists(fake_tools: Path, tmp_path: Path) -> None:
    found = tmp_path / "tex" / "preview.sty"
    found.parent.mkdir()
    found.write_text("% a package")
    _script(fake_tools, "kpsewhich", f'[ "$1" = preview.sty ] && [ -f {found} ] && echo {found}')
    assert tools.tex_file("preview.sty") == str(found)
    assert tools.tex_file("preview.sty") == str(found)
    assert _calls(fake_tools, "kpsewhich") == 1
    found.unlink()  # uninstalled: asked again, and now not found
    assert tools.tex_file("preview.sty") is None
    assert _calls(fake_tools, "kpsewhich") == 2


@pytest.mark.skipif(shutil.which("latex") is None, reason="needs TeX (latex on PATH)")
def test_real_latex_version_is_its_first_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCRENDER_FORMAT_DIR", str(tmp_path / "formats"))
    first = subprocess.run(["latex", "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    assert tools.tool_version("latex") == first.strip()
    assert tools.tool_version("latex") == first.strip()
