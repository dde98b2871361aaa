"""WebDataset shards: plain tar files of ``<key>.png`` + ``<key>.json`` per sample.

What ``webdataset.WebDataset(urls)`` and ``datasets.load_dataset("webdataset", data_dir=OUT)``
read (the sample's files are adjacent and share the key; keys have no dot). Tar headers carry no
time, owner or mode of their own (mtime 0, root, 0644), so the same samples make the same bytes.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path

from asyncrender.outputs.samples import Sample

EXTENSION = "tar"
TAR_OVERHEAD = 2 * 512 + 2 * 511 + 256  # two headers and their padding, and a JSON of columns


def sample_json(sample: Sample) -> bytes:
    return json.dumps(sample.columns, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_shard(samples: Sequence[Sample], path: Path) -> None:
    with open(path, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for sample in samples:
            _add(tar, f"{sample.key}.png", Path(sample.source).read_bytes())
            _add(tar, f"{sample.key}.json", sample_json(sample))


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))
