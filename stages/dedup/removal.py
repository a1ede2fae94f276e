"""Keep one representative per duplicate cluster and write the shards.

Shared by exact and near dedup: a phase produces (node, cluster label, keep-rule attribute)
records; ``select_representatives`` picks one node per label; ``apply_shard`` streams a shard and
drops the others. Every row of a cluster (kept and rejected) gets the cluster size, the cluster id
(the id of the cluster's first document in input order) and the representative id (the id of the
kept document); a document in no cluster gets size 1 and null ids.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.io import AtomicParquetWriter, iter_parquet_batches
from core.schema import REJECT_COLUMN, REJECT_STAGE_COLUMN
from core.stage import text_bytes
from core.stats import StageStats
from stages.dedup.hashing import key_row, key_shard
from stages.dedup.idstore import lookup_ids
from stages.dedup.scratch import DECISION_DTYPE, part_dir, read_partition

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
    nodes, sizes, keep, _, _ = cluster_members(nodes, labels, attrs)
    return nodes, sizes, keep


def cluster_members(nodes: np.ndarray, labels: np.ndarray, attrs: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(node, cluster size, keep flag, representative key, first key) for every clustered node.

    The representative is the kept node of the node's cluster; the first key is the smallest node
    key of the cluster (its first document in input order), which names the cluster.
    """
    if len(nodes) == 0:
        empty = np.zeros(0, np.uint64)
        return nodes, np.zeros(0, np.int64), np.zeros(0, np.int8), empty, empty
    order = np.lexsort((nodes, -attrs, labels))
    nodes, labels = nodes[order], labels[order]
    first = np.ones(len(nodes), dtype=bool)
    first[1:] = labels[1:] != labels[:-1]
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, len(nodes)))
    size_per = np.repeat(sizes, sizes).astype(np.int64)
    rep = np.repeat(nodes[starts], sizes).astype(np.uint64)
    smallest = np.repeat(np.minimum.reduceat(nodes, starts), sizes).astype(np.uint64)
    return nodes, size_per, first.astype(np.int8), rep, smallest


def cluster_decisions(nodes: np.ndarray, labels: np.ndarray,
                      attrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decision records of every clustered node, and the shard each record belongs to."""
    nodes, sizes, keep, rep, smallest = cluster_members(nodes, labels, attrs)
    dec = np.empty(len(nodes), dtype=DECISION_DTYPE)
    dec["row"], dec["size"], dec["keep"] = key_row(nodes), sizes, keep
    dec["rep"], dec["first"] = rep, smallest
    return dec, key_shard(nodes)


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
    #: Folder of the per-shard id files (``idstore``) that name clusters and representatives.
    ids_dir: str = ""
    cluster_column: str = "dup_cluster_id"
    representative_column: str = "dup_representative_id"


def apply_tasks(stage: str, inputs: list[Path], output_dir: Path, rejects_dir: Path | None, work: Path,
                reason: str, cfg: Any) -> list[ApplyTask]:
    """One ``ApplyTask`` per input shard of a dedup run (``cfg``: the stage's config with its output
    column names and batch size); outputs keep the input shard names."""
    return [ApplyTask(stage=stage, shard=i, input_path=str(p), output_path=str(output_dir / p.name),
                      rejects_path=str(rejects_dir / p.name) if rejects_dir else None,
                      decisions_dir=str(part_dir(work / "decisions", i)), reason=reason,
                      count_column=cfg.count_column, batch_rows=cfg.batch_rows, ids_dir=str(work / "names"),
                      cluster_column=cfg.cluster_id_column, representative_column=cfg.representative_column)
            for i, p in enumerate(inputs)]


@dataclass
class _Decisions:
    sizes: np.ndarray
    removed: np.ndarray
    cluster_ids: pa.Array
    representative_ids: pa.Array


def _decision_arrays(decisions_dir: Path, n_rows: int, ids_dir: str) -> _Decisions:
    dec = read_partition(decisions_dir, DECISION_DTYPE)
    sizes = np.ones(n_rows, dtype=np.int64)
    removed = np.zeros(n_rows, dtype=bool)
    # row -> position in the looked-up id arrays; -1 (null) for rows in no cluster
    slot = np.full(n_rows, -1, dtype=np.int64)
    if len(dec):
        sizes[dec["row"]] = dec["size"]
        removed[dec["row"]] = dec["keep"] == 0
        slot[dec["row"]] = np.arange(len(dec))
    if len(dec) == 0:
        nulls = pa.nulls(n_rows, pa.string())
        return _Decisions(sizes, removed, nulls, nulls)
    if ids_dir:
        names = lookup_ids(Path(ids_dir), np.concatenate([dec["first"], dec["rep"]]))
        first_ids, rep_ids = names.slice(0, len(dec)), names.slice(len(dec))
    else:
        first_ids = rep_ids = pa.nulls(len(dec), pa.string())
    mask = pa.array(slot < 0)
    idx = pa.array(np.where(slot < 0, 0, slot))
    return _Decisions(sizes, removed,
                      pc.if_else(mask, pa.scalar(None, pa.string()), first_ids.take(idx)),
                      pc.if_else(mask, pa.scalar(None, pa.string()), rep_ids.take(idx)))


def _cluster_columns(task: ApplyTask) -> list[str]:
    return [task.count_column, task.cluster_column, task.representative_column]


def _with_cluster_columns(table: pa.Table, task: ApplyTask, d: _Decisions, rows: np.ndarray) -> pa.Table:
    idx = pa.array(rows)
    return (table.append_column(pa.field(task.count_column, pa.int64()), pa.array(d.sizes[rows]))
            .append_column(pa.field(task.cluster_column, pa.string()), d.cluster_ids.take(idx))
            .append_column(pa.field(task.representative_column, pa.string()), d.representative_ids.take(idx)))


def apply_shard(task: ApplyTask) -> dict:
    """Stream one shard: drop removed rows (to rejects); add the cluster columns to every row."""
    t0 = time.perf_counter()
    stats = StageStats(task.stage)
    pf = pq.ParquetFile(task.input_path)
    n_rows = pf.metadata.num_rows
    d = _decision_arrays(Path(task.decisions_dir), n_rows, task.ids_dir)
    sizes, removed = d.sizes, d.removed
    added = _cluster_columns(task)
    in_schema = pf.schema_arrow
    for name in added:  # re-deduplicating an earlier output: recompute these columns
        if name in in_schema.names:
            in_schema = in_schema.remove(in_schema.get_field_index(name))
    out_schema = (in_schema.append(pa.field(task.count_column, pa.int64()))
                  .append(pa.field(task.cluster_column, pa.string()))
                  .append(pa.field(task.representative_column, pa.string())))
    rejects_schema = out_schema.append(pa.field(REJECT_STAGE_COLUMN, pa.string())).append(
        pa.field(REJECT_COLUMN, pa.string()))
    # rejected rows keep every column, so their signals stay available for audit
    rejects = AtomicParquetWriter(Path(task.rejects_path), rejects_schema) if task.rejects_path else None
    row = 0
    try:
        with AtomicParquetWriter(Path(task.output_path), out_schema) as out:
            for batch in iter_parquet_batches(Path(task.input_path), task.batch_rows):
                n = batch.num_rows
                stale = [c for c in added if c in batch.column_names]
                if stale:
                    batch = batch.drop_columns(stale)
                rows = np.arange(row, row + n)
                rm = removed[row:row + n]
                kept = _with_cluster_columns(batch.filter(pa.array(~rm)), task, d, rows[~rm])
                stats.docs_in += n
                stats.bytes_in += text_bytes(batch)
                stats.kept += kept.num_rows
                stats.bytes_out += text_bytes(kept)
                out.write(kept)
                n_rm = int(rm.sum())
                if n_rm:
                    stats.rejected[task.reason] += n_rm
                    if rejects is not None:
                        rej = _with_cluster_columns(batch.filter(pa.array(rm)), task, d, rows[rm])
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
