"""The run: the async orchestrator (``AsyncRenderer``), its resume and claims gate, job packing
and shards."""

from asyncrender.run.renderer import AsyncRenderer
from asyncrender.run.results import FileResult, RunStats

__all__ = ["AsyncRenderer", "FileResult", "RunStats"]
