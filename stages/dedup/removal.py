"""Keep one representative per duplicate cluster and write the shards.

Shared by exact and near dedup: a phase produces (node, cluster label, keep-rule attribute)
records; ``select_representatives`` picks one node per label; ``apply_shard`` streams a shard and
drops the others, adding the cluster size to the kept row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.io import AtomicParquetWriter, iter_parquet_batches
from core.schema import REJECT_COLUMN, REJECT_STAGE_COLUMN
from core.stage import text_bytes
from core.stats import StageStats
from stages.dedup.scratch import DECISION_DTYPE, read_partition

KeepRule = Literal["first", "longest", "score"]


def keep_attribute(batch: pa.Table, keep: KeepRule, score_column: str) -> tuple[np.ndarray, int]:
    """Per-row value to maximise when choosing the kept document (ties: smallest shard/row).

    Returns the values and the number of rows whose score was missing (scored as -inf).
    """
    n = batch.num_rows
    if keep == "first":
        return np.zeros(n, dtype=np.float64), 0
    if keep == "longest":
        if "text" not in batch.column_names:
            return np.zeros(n, dtype=np.float64), 0
        lengths = pc.fill_null(pc.utf8_length(batch.column("text")), 0)
        return np.asarray(lengths.to_numpy(zero_copy_only=False), dtype=np.float64), 0
    if score_column not in batch.column_names:
        return np.full(n, -np.inf), n
    col = pc.cast(batch.column(score_column), pa.float64())
    missing = int(col.null_count)
    vals = np.array(pc.fill_null(col, -np.inf).to_numpy(zero_copy_only=False), dtype=np.float64)
    nan = np.isnan(vals)
    vals[nan] = -np.inf
    return vals, missing + int(nan.sum())


def select_representatives(nodes: np.ndarray, labels: np.ndarray,
                           attrs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(node, cluster size, keep flag) for every clustered node.

    Per label, the node with the highest attribute is kept; ties go to the smallest node key
    (shard index, then row), so the choice is deterministic.
    """
    if len(nodes) == 0:
        return nodes, np.zeros(0, np.int64), np.zeros(0, np.int8)
    order = np.lexsort((nodes, -attrs, labels))
    nodes, labels = nodes[order], labels[order]
    first = np.ones(len(nodes), dtype=bool)
    first[1:] = labels[1:] != labels[:-1]
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, len(nodes)))
    size_per = np.repeat(sizes, sizes).astype(np.int64)
    return nodes, size_per, first.astype(np.int8)


@dataclass(frozen=True)
class ApplyTask:
    """Write one output shard (and its rejects) from the decisions concerning it."""

    stage: str
    shard: int
    input_path: str
    output_path: str
    rejects_path: str | None
    decisions_dir: str
    reason: str
    count_column: str
    batch_rows: int


def _decision_arrays(decisions_dir: Path, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    dec = read_partition(decisions_dir, DECISION_DTYPE)
    sizes = np.ones(n_rows, dtype=np.int64)
    removed = np.zeros(n_rows, dtype=bool)
    if len(dec):
        sizes[dec["row"]] = dec["size"]
        removed[dec["row"]] = dec["keep"] == 0
    return sizes, removed


def apply_shard(task: ApplyTask) -> dict:
    """Stream one shard: drop removed rows (to rejects), add ``count_column`` to kept rows."""
    t0 = time.perf_counter()
    stats = StageStats(task.stage)
    pf = pq.ParquetFile(task.input_path)
    n_rows = pf.metadata.num_rows
    sizes, removed = _decision_arrays(Path(task.decisions_dir), n_rows)
    in_schema = pf.schema_arrow
    if task.count_column in in_schema.names:
        in_schema = in_schema.remove(in_schema.get_field_index(task.count_column))
    out_schema = in_schema.append(pa.field(task.count_column, pa.int64()))
    rejects_schema = in_schema.append(pa.field(REJECT_STAGE_COLUMN, pa.string())).append(
        pa.field(REJECT_COLUMN, pa.string()))
    # rejected rows keep every column, so their signals stay available for audit
    rejects = AtomicParquetWriter(Path(task.rejects_path), rejects_schema) if task.rejects_path else None
    row = 0
    try:
        with AtomicParquetWriter(Path(task.output_path), out_schema) as out:
            for batch in iter_parquet_batches(Path(task.input_path), task.batch_rows):
                n = batch.num_rows
                if task.count_column in batch.column_names:
                    batch = batch.drop_columns([task.count_column])
                rm = removed[row:row + n]
                keep_mask = pa.array(~rm)
                kept = batch.filter(keep_mask).append_column(
                    pa.field(task.count_column, pa.int64()), pa.array(sizes[row:row + n][~rm]))
                stats.docs_in += n
                stats.bytes_in += text_bytes(batch)
                stats.kept += kept.num_rows
                stats.bytes_out += text_bytes(kept)
                out.write(kept)
                n_rm = int(rm.sum())
                if n_rm:
                    stats.rejected[task.reason] += n_rm
                    if rejects is not None:
                        rej = batch.filter(pa.array(rm))
                        rej = rej.append_column(REJECT_STAGE_COLUMN, pa.array([task.stage] * n_rm, pa.string()))
                        rej = rej.append_column(REJECT_COLUMN, pa.array([task.reason] * n_rm, pa.string()))
                        rejects.write(rej)
                row += n
            out.commit()
        if rejects is not None:
            rejects.commit()
    except BaseException:
        if rejects is not None:
            rejects.abort()
        raise
    clustered = sizes > 1
    stats.add("docs_in_clusters", int(clustered.sum()))
    stats.add("clusters", int((clustered & ~removed).sum()))
    stats.seconds = time.perf_counter() - t0
    return stats.to_dict()
