"""Scratch files of the dedup phases: raw little-endian numpy records, written atomically.

Phases exchange data as ``<dir>/<partition>/<producer>.bin`` files: a producer task writes one file
per destination partition, a consumer task reads every file of its partition. Files are only
renamed into place when complete, so a consumer never sees a partial file.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from core.io import writing

#: One LSH band entry: (band index, band hash, document key).
BAND_DTYPE = np.dtype([("band", "<u2"), ("hash", "<u8"), ("doc", "<u8")])
#: One exact-dedup entry: 128-bit content key, document key, keep-rule attribute.
KEY_DTYPE = np.dtype([("k1", "<u8"), ("k2", "<u8"), ("doc", "<u8"), ("attr", "<f8")])
#: One graph edge or (node, label) pair.
PAIR_DTYPE = np.dtype([("a", "<u8"), ("b", "<u8")])
#: One removal decision: row in its shard, cluster size, 1 if this row is the kept representative,
#: the key of the kept representative and the key of the cluster's first document.
DECISION_DTYPE = np.dtype([("row", "<i8"), ("size", "<i8"), ("keep", "<i1"), ("rep", "<u8"), ("first", "<u8")])


def write_bin(arr: np.ndarray, path: Path) -> None:
    """Write ``arr`` as raw records to ``path`` via a temp file and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with writing(path):
            np.ascontiguousarray(arr).tofile(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def read_bin(path: Path, dtype: np.dtype, mmap: bool = False) -> np.ndarray:
    if mmap:
        if path.stat().st_size == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r")
    return np.fromfile(path, dtype=dtype)


def read_partition(directory: Path, dtype: np.dtype) -> np.ndarray:
    """Concatenate every complete ``*.bin`` file of one partition directory (name order)."""
    if not directory.exists():
        return np.zeros(0, dtype=dtype)
    files = sorted(p for p in directory.glob("*.bin") if not p.name.startswith("."))
    if not files:
        return np.zeros(0, dtype=dtype)
    return np.concatenate([np.fromfile(p, dtype=dtype) for p in files])


def part_dir(root: Path, part: int) -> Path:
    return root / f"p{part:05d}"


class PartitionedWriter:
    """Buffer records per destination partition; flush each buffer to its own file.

    Memory stays below ``flush_bytes``: when the buffers exceed it every partition gets a new
    chunk file (``<producer>-<chunk>.bin``).
    """

    def __init__(self, root: Path, producer: str, dtype: np.dtype, n_parts: int,
                 flush_bytes: int = 64 << 20) -> None:
        self.root, self.producer, self.dtype, self.n_parts = root, producer, dtype, n_parts
        self.flush_bytes = flush_bytes
        self._buf: list[list[np.ndarray]] = [[] for _ in range(n_parts)]
        self._size = 0
        self._chunk = 0
        self.records = 0

    def add(self, records: np.ndarray, parts: np.ndarray) -> None:
        if len(records) == 0:
            return
        order = np.argsort(parts, kind="stable")
        records, parts = records[order], parts[order]
        bounds = np.searchsorted(parts, np.arange(self.n_parts + 1))
        for p in np.flatnonzero(np.diff(bounds)):
            self._buf[p].append(records[bounds[p]:bounds[p + 1]])
        self._size += records.nbytes
        self.records += len(records)
        if self._size >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        for p, chunks in enumerate(self._buf):
            if chunks:
                name = f"{self.producer}-{self._chunk:04d}.bin"
                write_bin(np.concatenate(chunks), part_dir(self.root, p) / name)
                self._buf[p] = []
        self._chunk += 1
        self._size = 0


def prepare_run(stage_name: str, inputs: list[Path], output_dir: Path, workers: int, scratch_dir: Path,
                entries_per_row: int, partition_entries: int,
                resume: bool = False) -> tuple[list[Path], int, Path]:
    """Common start of a dedup run: input paths, partition count (so each partition holds about
    ``partition_entries`` entries, and at least one per worker) and a scratch folder: a fresh one,
    or with ``resume`` the folder named after ``output_dir`` that an interrupted run left."""
    inputs = [Path(p) for p in inputs]
    output_dir.mkdir(parents=True, exist_ok=True)
    total_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in inputs)
    n_parts = max(1, workers, math.ceil(total_rows * entries_per_row / partition_entries))
    scratch_dir.mkdir(parents=True, exist_ok=True)
    if resume:
        work = scratch_dir / output_dir.name
        work.mkdir(exist_ok=True)
        return inputs, n_parts, work
    work = Path(tempfile.mkdtemp(prefix=f"{stage_name}-", dir=scratch_dir))
    return inputs, n_parts, work
