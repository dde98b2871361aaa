"""What every CLI command module shares: the stderr console, the error exit, the cache option."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

err = Console(stderr=True)

CacheDir = Annotated[Path, typer.Option("--cache-dir", "-c", help="Cache folder.")]


def print_error(message: str) -> None:
    """``error: message`` on stderr, on one line (never wrapped: logs and greps see it whole); the
    message is plain text (a ``[`` in a path or a TeX message is not rich markup)."""
    err.print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the error; ``raise`` the returned exit (1, or 2 for bad usage)."""
    print_error(message)
    return typer.Exit(code)
