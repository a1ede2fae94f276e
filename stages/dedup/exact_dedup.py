"""``exact_dedup``: remove exact duplicates by normalised-content hash or by normalised URL.

Two phases plus the shared apply: per shard, a 128-bit key per document is written partitioned by
key; per partition, equal keys form a cluster and the keep rule picks its survivor. Memory is
bounded by a shard batch and by one key partition (32 bytes per document).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash
from pydantic import Field

from core.io import iter_parquet_batches
from core.stage import GlobalStage, RunContext, StageConfig
from core.stats import StageStats
from stages.dedup.hashing import U64
from stages.dedup.idstore import IdWriter
from stages.dedup.removal import KeepRule, apply_shard, apply_tasks, cluster_decisions, keep_attribute
from stages.dedup.scratch import (
    DECISION_DTYPE,
    KEY_DTYPE,
    PartitionedWriter,
    part_dir,
    prepare_run,
    read_partition,
)

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


class ExactDedupConfig(StageConfig):
    """Exact duplicate removal (keys are the job-file keys)."""

    #: "content": NFC, whitespace-collapsed (optionally lower-cased) text; "url": normalised URL.
    key: Literal["content", "url"] = "content"
    lowercase: bool = False
    #: URL mode: treat http and https as the same page.
    ignore_scheme: bool = True
    keep: KeepRule = "first"
    score_column: str = "quality_score"
    #: Column added to kept documents: how many documents shared their key (1 = unique).
    count_column: str = "exact_dup_count"
    #: Columns added to every row: the id of its cluster's first document and of the kept
    #: document (null for a document whose key no other document shares).
    cluster_id_column: str = "dup_cluster_id"
    representative_column: str = "dup_representative_id"
    batch_rows: int = Field(2000, ge=1)
    #: Keys per partition (32 bytes each, ~80 bytes at the sort peak): sets the partition count.
    partition_entries: int = Field(10_000_000, ge=1)
    keep_scratch: bool = False


def normalize_url(url: str, ignore_scheme: bool = True) -> str:
    """Lower-case scheme and host, drop default port, fragment and trailing slash; keep the query."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = parts.netloc.lower()
    port = _DEFAULT_PORTS.get(scheme)
    if port and host.endswith(port):
        host = host[: -len(port)]
    path = parts.path.rstrip("/") or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{'' if ignore_scheme else scheme + ':'}//{host}{path}{query}"


def content_keys(texts: pa.ChunkedArray | pa.Array, lowercase: bool) -> tuple[np.ndarray, np.ndarray]:
    """128-bit keys (two uint64 columns) of normalised texts, and a mask of documents with a key."""
    t = pc.utf8_normalize(pc.fill_null(texts, ""), form="NFC")
    if lowercase:
        t = pc.utf8_lower(t)
    t = pc.utf8_trim_whitespace(pc.replace_substring_regex(t, r"\s+", " "))
    return _hash128(t.to_pylist())


def url_keys(urls: pa.ChunkedArray | pa.Array, ignore_scheme: bool) -> tuple[np.ndarray, np.ndarray]:
    vals = pc.fill_null(urls, "").to_pylist()
    return _hash128([normalize_url(u, ignore_scheme) if u.strip() else "" for u in vals])


def _hash128(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    digest = b"".join(xxhash.xxh3_128_digest(s.encode("utf-8", "surrogatepass")) for s in strings)
    keys = np.frombuffer(digest, dtype=">u8").astype(U64).reshape(-1, 2)
    has = np.fromiter((len(s) > 0 for s in strings), dtype=bool, count=len(strings))
    return keys, has


@dataclass(frozen=True)
class ExactPlan:
    work: str
    key: str
    lowercase: bool
    ignore_scheme: bool
    keep: str
    score_column: str
    n_parts: int
    n_shards: int
    batch_rows: int


def key_shard_task(item: tuple[ExactPlan, int, str]) -> dict:
    """Write (key, doc, attribute) of every document of one shard, partitioned by key."""
    plan, shard, path = item
    column = "text" if plan.key == "content" else "url"
    names = set(pq.read_schema(path).names)
    cols = [c for c in (column, plan.score_column, "id") if c in names]
    if plan.keep == "longest" and "text" in names and "text" not in cols:
        cols.append("text")
    w = PartitionedWriter(Path(plan.work) / "keys", f"s{shard:06d}", KEY_DTYPE, plan.n_parts)
    names_w = IdWriter(Path(plan.work) / "names", shard)
    counts = {"rows": 0, "no_key": 0, "missing_score": 0}
    for batch in iter_parquet_batches(Path(path), plan.batch_rows, cols):
        n = batch.num_rows
        values = batch.column(column) if column in batch.column_names else pa.nulls(n, pa.string())
        keys, has = (content_keys(values, plan.lowercase) if plan.key == "content"
                     else url_keys(values, plan.ignore_scheme))
        attr, missing = keep_attribute(batch, plan.keep, plan.score_column)  # type: ignore[arg-type]
        row0 = counts["rows"]
        rec = np.empty(int(has.sum()), dtype=KEY_DTYPE)
        rec["k1"], rec["k2"] = keys[has, 0], keys[has, 1]
        rec["doc"] = ((U64(shard) << U64(32)) | np.arange(row0, row0 + n, dtype=U64))[has]
        rec["attr"] = attr[has]
        w.add(rec, (rec["k1"] % U64(plan.n_parts)).astype(np.int64))
        counts["rows"] += n
        counts["no_key"] += n - len(rec)
        counts["missing_score"] += missing
        names_w.add(batch.column("id") if "id" in batch.column_names else None, n)
    w.flush()
    names_w.close()
    return counts


def group_partition_task(item: tuple[ExactPlan, int]) -> dict:
    """Equal keys of one partition form clusters; write keep/remove decisions per shard."""
    plan, p = item
    rec = read_partition(part_dir(Path(plan.work) / "keys", p), KEY_DTYPE)
    if len(rec) == 0:
        return {"groups": 0, "max_group": 0}
    order = np.lexsort((rec["k2"], rec["k1"]))
    rec = rec[order]
    new = np.ones(len(rec), dtype=bool)
    new[1:] = (rec["k1"][1:] != rec["k1"][:-1]) | (rec["k2"][1:] != rec["k2"][:-1])
    label = np.cumsum(new).astype(U64)
    sizes = np.bincount(label.astype(np.int64))
    dup = sizes[label.astype(np.int64)] > 1
    dec, shards = cluster_decisions(rec["doc"][dup], label[dup], rec["attr"][dup])
    w = PartitionedWriter(Path(plan.work) / "decisions", f"k{p:05d}", DECISION_DTYPE, plan.n_shards)
    w.add(dec, shards)
    w.flush()
    return {"groups": int(dec["keep"].sum()), "max_group": int(dec["size"].max()) if len(dec) else 0}


class ExactDedup(GlobalStage):
    """Exact duplicate removal by content hash or URL, keeping one document per key."""

    name = "exact_dedup"
    Config = ExactDedupConfig

    def run(self, inputs: list[Path], output_dir: Path, rejects_dir: Path | None,
            ctx: RunContext) -> list[StageStats]:
        cfg: ExactDedupConfig = self.config  # type: ignore[assignment]
        t0 = time.perf_counter()
        inputs, n_parts, work = prepare_run(self.name, inputs, output_dir, ctx.workers, ctx.scratch_dir,
                                            1, cfg.partition_entries)
        plan = ExactPlan(work=str(work), key=cfg.key, lowercase=cfg.lowercase,
                         ignore_scheme=cfg.ignore_scheme, keep=cfg.keep, score_column=cfg.score_column,
                         n_parts=n_parts, n_shards=len(inputs), batch_rows=cfg.batch_rows)
        reason = "exact_duplicate" if cfg.key == "content" else "url_duplicate"
        try:
            keyed = ctx.map(key_shard_task, [(plan, i, str(p)) for i, p in enumerate(inputs)],
                            desc="exact_dedup: keys")
            groups = ctx.map(group_partition_task, [(plan, p) for p in range(n_parts)],
                             desc="exact_dedup: groups")
            tasks = apply_tasks(self.name, inputs, output_dir, rejects_dir, work, reason, cfg)
            results = ctx.map(apply_shard, tasks, desc="exact_dedup: apply")
        finally:
            if not cfg.keep_scratch:
                shutil.rmtree(work, ignore_errors=True)
        stats = [StageStats.from_dict(r) for r in results]
        for st, k in zip(stats, keyed):
            if k["no_key"]:
                st.add("no_url" if cfg.key == "url" else "empty_text", k["no_key"])
            if k["missing_score"]:
                st.add("missing_score", k["missing_score"])
        if stats:
            stats[0].add("partitions", n_parts)
            stats[0].add("max_group", max((g["max_group"] for g in groups), default=0))
            stats[0].seconds = time.perf_counter() - t0 - sum(s.seconds for s in stats[1:])
        return stats
