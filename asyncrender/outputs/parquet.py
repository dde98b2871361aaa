"""Parquet shards: one row per sample, the PNG embedded as Hugging Face's ``Image`` encoding.

The ``image`` column is a struct of ``bytes`` (the PNG) and ``path`` (``<paper>/<item>.png``,
informative), and the file's schema metadata carries the ``datasets`` features (``huggingface``
key), so ``datasets.load_dataset("parquet", data_dir=OUT)`` gives PIL images and typed columns,
streaming too. Written with pyarrow in row groups of at most ``ROW_GROUP_ROWS`` rows or
``ROW_GROUP_BYTES`` of images, so a streaming reader holds one small group at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asyncrender.outputs.samples import Sample

EXTENSION = "parquet"
ROW_GROUP_ROWS = 1000
ROW_GROUP_BYTES = 32 << 20
_FEATURES: dict[str, Any] = {
    "image": {"_type": "Image"},
    **{name: {"dtype": "string", "_type": "Value"} for name in ("latex", "paper_id", "item_id", "type")},
    **{name: {"dtype": "int32", "_type": "Value"} for name in ("width", "height", "depth")},
    "formula_hash": {"dtype": "string", "_type": "Value"},
    "style": {"dtype": "string", "_type": "Value"},
}


def schema() -> Any:
    import pyarrow as pa

    fields = [pa.field("image", pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())]))]
    for name, feature in _FEATURES.items():
        if name != "image":
            fields.append(pa.field(name, pa.int32() if feature["dtype"] == "int32" else pa.string()))
    metadata = {"huggingface": json.dumps({"info": {"features": _FEATURES}}, separators=(",", ":"))}
    return pa.schema(fields, metadata=metadata)


def write_shard(samples: Sequence[Sample], path: Path) -> None:
    import pyarrow.parquet as pq

    table_schema = schema()
    # PNGs are compressed already: their column is stored as is, the others with zstd.
    compression = {name: "zstd" for name in table_schema.names if name != "image"}
    compression.update({"image.bytes": "none", "image.path": "zstd"})
    with pq.ParquetWriter(path, table_schema, compression=compression, write_statistics=False) as writer:
        group: list[Sample] = []
        group_bytes = 0
        for sample in samples:
            if group and (len(group) >= ROW_GROUP_ROWS or group_bytes + sample.size > ROW_GROUP_BYTES):
                writer.write_table(_table(group, table_schema), row_group_size=len(group))
                group, group_bytes = [], 0
            group.append(sample)
            group_bytes += sample.size
        if group:
            writer.write_table(_table(group, table_schema), row_group_size=len(group))


def _table(samples: Sequence[Sample], table_schema: Any) -> Any:
    import pyarrow as pa

    columns: dict[str, list[Any]] = {"image": [{"bytes": Path(s.source).read_bytes(), "path": s.name}
                                               for s in samples]}
    for name in table_schema.names[1:]:
        columns[name] = [s.columns.get(name) for s in samples]
    return pa.Table.from_pydict(columns, schema=table_schema)
