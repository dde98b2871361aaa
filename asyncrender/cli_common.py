"""What every CLI command module shares: the stderr console, the error exit, the cache option."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True)

CacheDir = Annotated[Path, typer.Option("--cache-dir", "-c", help="Cache folder.")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; ``raise`` the returned exit (1, or 2 for bad usage)."""
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(code)
