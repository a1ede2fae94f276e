"""``minhash_dedup`` phase tasks: top-level functions that ``ctx.map`` runs on workers.

Each takes a small picklable item (the ``Plan`` plus a shard or partition index), reads its inputs
from the scratch directory, and writes its outputs there partitioned for the next phase.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.io import iter_parquet_batches, writing
from core.stage import text_bytes
from stages.dedup.hashing import U64, hash_strings, key_row, key_shard, partition_of
from stages.dedup.idstore import IdWriter
from stages.dedup.lsh import star_edges, unique_pairs
from stages.dedup.minhash import MinHasher, band_hashes
from stages.dedup.removal import cluster_decisions, keep_attribute
from stages.dedup.scratch import (
    BAND_DTYPE,
    DECISION_DTYPE,
    PAIR_DTYPE,
    PartitionedWriter,
    part_dir,
    read_bin,
    read_partition,
    write_bin,
)
from stages.dedup.shingles import ShingleSpec, shingle_batch, unique_sets
from stages.dedup.verify import SetStore, pair_jaccard, set_paths

#: Bins of the Jaccard histogram of candidate pairs reported in the stats.
J_BINS = np.linspace(0.0, 1.0, 11)


@dataclass(frozen=True)
class Plan:
    """What every phase task needs (small and picklable)."""

    work: str
    spec: ShingleSpec
    bands: int
    rows: int
    seed: int
    n_parts: int
    n_shards: int
    verify: bool
    threshold: float
    keep: str
    score_column: str
    batch_rows: int

    def dir(self, name: str) -> Path:
        return Path(self.work) / name


# ------------------------------------------------------------------ phase 1: signatures

def _columns(path: str, wanted: list[str]) -> list[str]:
    names = set(pq.read_schema(path).names)
    return [c for c in wanted if c in names]


def signature_shard(item: tuple[Plan, int, str]) -> dict:
    """Shingle, sign and band one shard; write band entries, id hashes, attributes, shingle sets."""
    plan, shard, path = item
    t0 = time.perf_counter()
    hasher = MinHasher(plan.bands * plan.rows, plan.seed)
    producer = f"s{shard:06d}"
    bands_w = PartitionedWriter(plan.dir("bands"), producer, BAND_DTYPE, plan.n_parts)
    ids_w = PartitionedWriter(plan.dir("ids"), producer, np.dtype("<u8"), plan.n_parts)
    names_w = IdWriter(plan.dir("names"), shard)
    attrs: list[np.ndarray] = []
    set_offsets: list[np.ndarray] = [np.zeros(1, np.int64)]
    vals_path, offs_path = set_paths(plan.dir("sets"), shard)
    vals_tmp = vals_path.with_name(f".{vals_path.name}.{os.getpid()}.tmp")
    vals_tmp.parent.mkdir(parents=True, exist_ok=True)
    counts = {"rows": 0, "no_signature": 0, "truncated_long_docs": 0, "missing_score": 0, "bytes": 0}
    band_idx = np.arange(plan.bands, dtype=np.uint16)
    cols = _columns(path, ["id", "text", plan.score_column] if plan.keep == "score" else ["id", "text"])
    with writing(vals_path), open(vals_tmp, "wb") as vals_fh:
        for batch in iter_parquet_batches(Path(path), plan.batch_rows, cols):
            n = batch.num_rows
            row0 = counts["rows"]
            keys = (U64(shard) << U64(32)) | np.arange(row0, row0 + n, dtype=U64)
            texts = batch.column("text") if "text" in batch.column_names else pa.nulls(n, pa.string())
            sh = shingle_batch(texts, plan.spec)
            has = sh.counts() > 0
            sig = hasher.signatures(sh.values, sh.offsets)
            bh = band_hashes(sig[has], plan.bands, plan.rows)
            m = int(has.sum())
            entries = np.empty(m * plan.bands, dtype=BAND_DTYPE)
            entries["band"] = np.tile(band_idx, m)
            entries["hash"] = bh.ravel()
            entries["doc"] = np.repeat(keys[has], plan.bands)
            bands_w.add(entries, partition_of(entries["hash"], plan.n_parts))
            if "id" in batch.column_names:
                idh = hash_strings(batch.column("id"))
                ids_w.add(idh, partition_of(idh, plan.n_parts))
            names_w.add(batch.column("id") if "id" in batch.column_names else None, n)
            attr, missing = keep_attribute(batch, plan.keep, plan.score_column)  # type: ignore[arg-type]
            attrs.append(attr)
            if plan.verify:
                vals, offs = unique_sets(sh)
                vals.tofile(vals_fh)
                set_offsets.append(offs[1:] + set_offsets[-1][-1])
            counts["rows"] += n
            counts["no_signature"] += n - m
            counts["truncated_long_docs"] += sh.truncated
            counts["missing_score"] += missing
            counts["bytes"] += text_bytes(batch)
    bands_w.flush()
    ids_w.flush()
    names_w.close()
    write_bin(np.concatenate(attrs) if attrs else np.zeros(0), plan.dir("attrs") / f"{producer}.bin")
    if plan.verify:
        vals_tmp.replace(vals_path)
        write_bin(np.concatenate(set_offsets), offs_path)
    else:
        vals_tmp.unlink()
    counts["band_entries"] = bands_w.records
    counts["seconds"] = time.perf_counter() - t0
    return counts


# ------------------------------------------------------------------ phase 2: buckets -> edges

def bucket_partition(item: tuple[Plan, int]) -> dict:
    """Star edges from equal band hashes of one partition; count duplicate ids of the partition."""
    plan, p = item
    entries = read_partition(part_dir(plan.dir("bands"), p), BAND_DTYPE)
    a, b, st = star_edges(entries)
    del entries
    w = PartitionedWriter(plan.dir("edges"), f"b{p:05d}", PAIR_DTYPE, plan.n_parts)
    pairs = np.empty(len(a), dtype=PAIR_DTYPE)
    pairs["a"], pairs["b"] = a, b
    w.add(pairs, partition_of(a, plan.n_parts))
    w.flush()
    ids = np.sort(read_partition(part_dir(plan.dir("ids"), p), np.dtype("<u8")))
    dup_ids = int((ids[1:] == ids[:-1]).sum()) if len(ids) > 1 else 0
    return {"band_buckets_with_dups": st.buckets, "max_bucket": st.max_bucket,
            "star_edges": st.edges, "duplicate_ids": dup_ids}


# ------------------------------------------------------------------ phase 3: verification

def verify_partition(item: tuple[Plan, int]) -> dict:
    """Merge an edge partition's duplicate edges and keep those at or above the Jaccard threshold."""
    plan, e = item
    pairs = read_partition(part_dir(plan.dir("edges"), e), PAIR_DTYPE)
    a, b = unique_pairs(pairs["a"], pairs["b"])
    del pairs
    out = {"candidate_pairs": len(a), "verified_pairs": len(a), "jaccard_hist": [0] * (len(J_BINS) - 1)}
    if plan.verify and len(a):
        j = pair_jaccard(SetStore(plan.dir("sets")), a, b)
        out["jaccard_hist"] = np.histogram(j, bins=J_BINS)[0].tolist()
        keep = j >= plan.threshold
        a, b = a[keep], b[keep]
        out["verified_pairs"] = len(a)
    res = np.empty(len(a), dtype=PAIR_DTYPE)
    res["a"], res["b"] = a, b
    write_bin(res, part_dir(plan.dir("vedges"), e) / "edges.bin")
    return out


# ------------------------------------------------------------------ phase 5: representatives

def _attributes(plan: Plan, nodes: np.ndarray) -> np.ndarray:
    if plan.keep == "first":
        return np.zeros(len(nodes))
    out = np.empty(len(nodes))
    shards, rows = key_shard(nodes), key_row(nodes)
    for s in np.unique(shards):
        sel = shards == s
        out[sel] = read_bin(plan.dir("attrs") / f"s{int(s):06d}.bin", np.dtype("<f8"), mmap=True)[rows[sel]]
    return out


def select_partition(item: tuple[Plan, int]) -> dict:
    """Choose the kept document of every cluster whose label falls in this partition."""
    plan, c = item
    rec = read_partition(part_dir(plan.dir("labels"), c), PAIR_DTYPE)
    dec, shards = cluster_decisions(rec["a"], rec["b"], _attributes(plan, rec["a"]))
    w = PartitionedWriter(plan.dir("decisions"), f"c{c:05d}", DECISION_DTYPE, plan.n_shards)
    w.add(dec, shards)
    w.flush()
    return {"max_cluster": int(dec["size"].max()) if len(dec) else 0}


