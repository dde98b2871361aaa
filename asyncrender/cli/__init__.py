"""The command line (typer): commands, the progress bar, the structured run log. The library does
not need it."""

from asyncrender.cli.commands import app, main

__all__ = ["app", "main"]
