"""Names loaded on first use: what a package's import costs, and what a worker never imports."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from asyncrender.lazy import exports


def test_a_name_loads_on_first_use_and_stays() -> None:
    package = types.ModuleType("lazy_probe")
    sys.modules["lazy_probe"] = package
    try:
        setattr(package, "__getattr__", exports("lazy_probe", {"dedent": "textwrap"}))  # noqa: B010
        assert "dedent" not in vars(package)
        import textwrap

        assert package.dedent is textwrap.dedent
        assert vars(package)["dedent"] is textwrap.dedent  # the next use is a plain attribute
        with pytest.raises(AttributeError, match="'lazy_probe' has no attribute 'indent'"):
            _ = package.indent
    finally:
        del sys.modules["lazy_probe"]


def test_a_worker_imports_neither_asyncio_nor_the_orchestrator() -> None:
    code = ("import sys, asyncrender.worker.process, asyncrender.render.latex\n"
            "print(sorted(m for m in ('asyncio', 'aiofiles', 'anyio', 'asyncrender.run.renderer', "
            "'asyncrender.inputs.filelist') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_run_orchestrator_never_imports_the_latex_backend(tmp_path: Path) -> None:
    """It needs TeX's versions (the fingerprint) and whether TeX is there, not the backend: the
    backend's modules are the workers' (they cost a run's start ~25 ms)."""
    (tmp_path / "a.json").write_text('{"paper_id": "a", "items": [{"id": "1", "type": "display", "latex": "x"}]}')
    (tmp_path / "list.txt").write_text("a.json\n")
    code = ("import sys, atexit\n"
            "atexit.register(lambda: print(sorted(m for m in sys.modules if m.startswith("
            "('asyncrender.render.latex', 'asyncrender.render.texlog', 'asyncrender.worker.process')))))\n"
            "sys.argv = ['asyncrender', 'render', 'list.txt', '-c', 'c', '-o', 'o', '-j', '1', '--quiet']\n"
            "from asyncrender.cli import main\nmain()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_pool_worker_started_from_the_console_script_loads_no_orchestrator_code(tmp_path: Path) -> None:
    """A forkserver's worker (a library caller's pool, a rebuilt one): multiprocessing runs the
    parent's main script again in each (as ``__mp_main__``), and a worker imports the module of
    each function the pool sends it: neither may bring typer, the commands, asyncio or anyio into a
    worker (~45 ms each, once per worker)."""
    script = tmp_path / "asyncrender"  # what pip's console script does, run as a file
    script.write_text(
        "import sys\nfrom asyncrender.cli import main\n"
        "def modules():\n    import sys\n    return sorted(sys.modules)\n"
        "if __name__ == '__main__':\n"
        "    from asyncrender.executors import LocalPoolRunner\n"
        "    runner = LocalPoolRunner(1)\n"
        "    loaded = runner._current_pool().submit(modules).result(timeout=60)\n"
        "    runner._current_pool().submit(runner._render, None).exception(timeout=60)  # the job function's module\n"
        "    loaded = runner._current_pool().submit(modules).result(timeout=60)\n"
        "    runner.terminate()\n"
        "    print(sorted(m for m in ('typer', 'asyncrender.cli.commands', 'asyncio', 'anyio',\n"
        "                             'asyncrender.executors.local_pool') if m in loaded))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
