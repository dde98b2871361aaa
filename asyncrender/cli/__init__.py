"""The command line (typer): commands, the progress bar, the structured run log. The library does
not need it.

Light on purpose: the ``asyncrender`` script imports ``main`` from here, and so does every local
worker, since ``multiprocessing`` runs the parent's main script again in each child (as
``__mp_main__``). typer and the commands load when ``main`` runs or ``app`` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncrender.lazy import exports

if TYPE_CHECKING:
    from asyncrender.cli.commands import app


def main() -> None:
    """The ``asyncrender`` command."""
    from asyncrender.cli.commands import main as run

    run()


__getattr__ = exports(__name__, {"app": "asyncrender.cli.commands"})

__all__ = ["app", "main"]
