"""Start-up stays light: ``asyncrender --help`` and importing the CLI load no heavy module (issue 15).

Checked in a fresh interpreter through ``sys.modules``; timings are the benchmarks' business.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("rich", "anyio", "asyncio", "aiofiles", "msgspec", "uvloop", "PIL", "fsspec", "asyncrender.config",
         "asyncrender.cache.manager", "asyncrender.run.renderer", "asyncrender.outputs.export")


def _loaded(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_nothing_heavy() -> None:
    assert _loaded("import asyncrender.cli") == []


def test_help_loads_nothing_heavy() -> None:
    for argv in (["--help"], ["render", "--help"], ["export", "--help"]):
        code = ("import sys, contextlib, io\nfrom asyncrender.cli import main\nsys.argv = ['asyncrender', "
                f"*{argv!r}]\nwith contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
                "    main()")
        assert _loaded(code) == [], argv


def test_help_still_lists_every_command() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "asyncrender", "--help"], capture_output=True, text=True, env=env,
                         check=True).stdout
    for command in ("render", "migrate", "summary", "failures", "export", "gallery", "verify"):
        assert command in out
