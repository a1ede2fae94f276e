"""Document ids by position, for naming clusters and representatives in the dedup output.

The dedup phases identify documents by key ``shard << 32 | row``. The first phase writes each
shard's ``id`` column to an Arrow IPC file; the apply phase memory-maps the files it needs and
takes the rows of the representatives it names, so no task ever holds every id.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.dedup.hashing import key_row, key_shard

_SCHEMA = pa.schema([pa.field("id", pa.string())])


def id_path(root: Path, shard: int) -> Path:
    return root / f"s{shard:06d}.arrow"


class IdWriter:
    """Stream one shard's ids (in row order) into ``<root>/s<shard>.arrow``, renamed when closed."""

    def __init__(self, root: Path, shard: int) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path = id_path(root, shard)
        self._tmp = self.path.with_name(f".{self.path.name}.tmp")
        self._sink = pa.OSFile(str(self._tmp), "wb")
        self._writer = pa.ipc.new_file(self._sink, _SCHEMA)

    def add(self, ids: pa.Array | pa.ChunkedArray | None, n: int) -> None:
        """Append ``n`` ids; ``None`` (a shard without an ``id`` column) appends nulls."""
        col = pa.nulls(n, pa.string()) if ids is None else pc.cast(ids, pa.string())
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        self._writer.write_batch(pa.record_batch([col], schema=_SCHEMA))

    def close(self) -> None:
        self._writer.close()
        self._sink.close()
        self._tmp.replace(self.path)


def lookup_ids(root: Path, keys: np.ndarray) -> pa.Array:
    """The ids of document ``keys`` (in the order given), read from memory-mapped shard files."""
    keys = np.asarray(keys, dtype=np.uint64)
    if len(keys) == 0:
        return pa.array([], pa.string())
    shards, rows = key_shard(keys), key_row(keys)
    order = np.argsort(shards, kind="stable")
    parts: list[pa.Array] = []
    for s in np.unique(shards):
        sel = order[shards[order] == s]
        with pa.memory_map(str(id_path(root, int(s))), "r") as src:
            table = pa.ipc.open_file(src).read_all()
            parts.append(table.column("id").take(pa.array(rows[sel])).combine_chunks())
    gathered = pa.concat_arrays(parts)
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.arange(len(keys))
    return gathered.take(pa.array(inverse))
