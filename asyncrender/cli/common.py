"""What every CLI command module shares: the stderr console, the error exit, the cache option.

Light on purpose (typer only): ``asyncrender --help`` imports this; rich loads on first use.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def stderr_console() -> Console:
    """The console on stderr (errors, the progress bar), made on first use."""
    from rich.console import Console

    return Console(stderr=True)

CacheDir = Annotated[Path, typer.Option("--cache-dir", "-c", help="Cache folder.")]


def print_error(message: str) -> None:
    """``error: message`` on stderr, on one line (never wrapped: logs and greps see it whole); the
    message is plain text (a ``[`` in a path or a TeX message is not rich markup)."""
    from rich.text import Text

    stderr_console().print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the error; ``raise`` the returned exit (1, or 2 for bad usage)."""
    print_error(message)
    return typer.Exit(code)
