"""Writing BENCHMARKS.md from the sections of one run."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from benchmarks.common import Section, machine


def versions() -> dict[str, str]:
    found = {}
    for name in ("asyncrender", "anyio", "matplotlib", "diskcache"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def write(path: Path, sections: list[Section], quick: bool, command: str, load: str) -> None:
    m = machine()
    lines = ["# Benchmarks", "",
             f"Written by `{command}` ({'QUICK mode: sizes scaled down' if quick else 'full mode'}). "
             "Every ratio compares figures measured side by side in this one run.", "",
             f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM; {m['os']}",
             f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in versions().items()),
             f"- Load average when the run started: {load}. On a shared machine absolute figures are "
             "noisy; ratios measured side by side in one run are the figures to trust.",
             "", "## Headlines", "", "| claim | measured |", "|---|---|"]
    for s in sections:
        lines += [f"| {k} | {v} |" for k, v in s.headlines.items()]
    for s in sections:
        lines += ["", f"## {s.title}", "", *s.lines, "", f"_({s.seconds:.0f} s)_"]
    path.write_text("\n".join(lines) + "\n")
