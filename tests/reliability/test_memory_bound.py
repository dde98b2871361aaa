"""Issue 12, item 2: what one bad file may cost. An input of ``[1,1,1,...]`` (every item bad) used to
give an entry of 89 MB per MB of input and an orchestrator of 0.7 GB (2.6 GB at 4 MB). Now a file
keeps its first ``MAX_ERRORS_PER_FILE`` errors and counts the rest by kind (``errors_omitted``),
and the orchestrator's peak RSS is the same for a 1 MB and a 4 MB such input.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from asyncrender.cache.manager import DistributedCacheManager
from asyncrender.model import MAX_ERRORS_PER_FILE
from tests.reliability.support import cli_env

# The orchestrator alone, in a process of its own, reporting its own peak RSS (VmHWM: the workers
# are other processes and not counted).
ORCHESTRATOR = """
import sys, anyio
from asyncrender import AsyncRenderer
from asyncrender.config import Config, RenderSettings

async def main():
    async with AsyncRenderer(sys.argv[2], sys.argv[3], jobs=1,
                             config=Config(render=RenderSettings(renderer="mathtext"))) as r:
        await r.run([sys.argv[1]])

anyio.run(main)
with open("/proc/self/status") as f:
    print(next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) // 1024)
"""


def _orchestrator_peak_mib(source: Path, cache: Path, out: Path) -> int:
    done = subprocess.run([sys.executable, "-c", ORCHESTRATOR, str(source), str(cache), str(out)],
                          env=cli_env(), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return int(done.stdout.split()[-1])


def test_an_input_of_bad_items_costs_a_small_entry_and_flat_memory(tmp_path: Path) -> None:
    peaks = {}
    for mib in (1, 4):
        items = (mib << 20) // 2
        source = tmp_path / f"bad{mib}_extracted.json"
        source.write_bytes(b"[" + b"1," * (items - 1) + b"1]")
        cache = tmp_path / f"cache{mib}"
        peaks[mib] = _orchestrator_peak_mib(source, cache, tmp_path / f"out{mib}")

        entry_file = next((cache / "file_caches").glob("*.cache"))
        assert entry_file.stat().st_size < 64 << 10
        entry = DistributedCacheManager(cache).load_file_cache(str(source))
        assert entry is not None and entry["status"] == "failed"
        assert len(entry["errors"]) == MAX_ERRORS_PER_FILE
        assert entry.get("errors_omitted") == {"input": items - MAX_ERRORS_PER_FILE}
        summary = json.loads((cache / "summary.json").read_text())
        assert summary["items"]["failed"] == items
        assert summary["failures_by_kind"] == {"input": items}
    # Four times the input, the same orchestrator (it was 0.7 GB and 2.6 GB).
    assert peaks[4] <= peaks[1] + 32, peaks
