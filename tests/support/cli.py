"""The real command, in a subprocess, and the entries it leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def cli(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asyncrender", *args], input=stdin.decode() if stdin else None,
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def entries(cache: Path) -> dict[str, dict[str, Any]]:
    folder = cache / "file_caches"
    return {name: json.loads((folder / name).read_text()) for name in os.listdir(folder)}
