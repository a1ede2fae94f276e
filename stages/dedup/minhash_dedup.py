"""``minhash_dedup``: near-duplicate removal in phases that each stream through bounded memory.

1. signatures: per shard, shingles -> MinHash -> band hashes, written partitioned by band hash
   (plus compact shingle sets for verification and the keep-rule attribute per row);
2. buckets: per band partition, documents with equal (band, hash) become star edges to the
   bucket's smallest document;
3. verify: per edge partition, duplicate edges are merged and (optionally) dropped below the true
   Jaccard threshold;
4. components: in one task when the edges are few, else distributed large-star/small-star rounds;
5. select: per component partition, one representative per cluster by the keep rule;
6. apply: per shard, removed rows go to rejects; every row gets ``dup_cluster_size``,
   ``dup_cluster_id`` and ``dup_representative_id``.

Every phase is a ``ctx.map`` over top-level functions (``phases.py``, ``cc_tasks.py``), so it runs on
local processes or Ray tasks. Phases 1-5 commit their scratch files with a marker (``phase_log.py``):
a rerun after a kill resumes after the last finished phase, in the scratch folder named after the
output folder.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from core.stage import GlobalStage, RunContext, StageConfig
from core.stats import StageStats
from stages.dedup.bands import MIN_RECALL, derive_bands, recall_at
from stages.dedup.cc_tasks import distributed_components, local_components_task
from stages.dedup.phase_log import PhaseLog, input_identity
from stages.dedup.phases import (
    J_BINS,
    Plan,
    bucket_partition,
    select_partition,
    signature_shard,
    verify_partition,
)
from stages.dedup.removal import KeepRule, apply_shard, apply_tasks
from stages.dedup.scratch import prepare_run
from stages.dedup.shingles import ShingleSpec

log = logging.getLogger(__name__)

#: Resumable phases, in order, and the scratch folders each one writes.
PHASES: dict[str, list[str]] = {"signatures": ["bands", "ids", "attrs", "sets"], "buckets": ["edges"],
                                "verify": ["vedges"], "components": ["cc", "labels"], "select": ["decisions"]}


class MinHashDedupConfig(StageConfig):
    """Near-duplicate removal by MinHash LSH (keys are the job-file keys)."""

    #: "word": whitespace tokens (eojeols for Korean); "char": characters with whitespace removed
    #: (robust to Korean spacing variation).
    shingle: Literal["word", "char"] = "word"
    ngram: int = Field(5, ge=1, le=64)
    #: Two documents are near duplicates when the Jaccard similarity of their shingle sets is at
    #: least this. Verification drops candidates below it, and bands x rows are derived from it.
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    #: LSH bands and rows per band; leave both unset to derive them from ``threshold`` and
    #: ``num_hashes`` (0.8 and 112 give 16 x 7). Set, they must catch >= 50 % of pairs at the threshold.
    num_bands: int | None = Field(None, ge=1, le=512)
    rows_per_band: int | None = Field(None, ge=1, le=64)
    #: Hash budget when bands x rows are derived from the threshold.
    num_hashes: int = Field(112, ge=1, le=2048)
    #: Documents with fewer words (or characters) get no signature and are never clustered.
    min_units: int = Field(2, ge=1)
    lowercase: bool = True
    strip_punctuation: bool = True
    normalize_digits: bool = True
    #: Characters of a document that are shingled; longer documents are truncated (and counted).
    max_chars: int = Field(2_000_000, ge=1)
    #: Drop candidate pairs whose exact Jaccard of shingle sets is below ``threshold``.
    verify: bool = True
    #: Former name of ``threshold``; when set it must agree with ``threshold`` if both are given.
    verify_threshold: float | None = Field(None, gt=0.0, le=1.0)
    #: Which document of a cluster survives: first (shard, row), longest text, or highest score.
    keep: KeepRule = "first"
    score_column: str = "quality_score"
    count_column: str = "dup_cluster_size"
    #: Columns added to every row: the id of its cluster's first document (input order) and the id
    #: of the kept document; both null for a document in no cluster.
    cluster_id_column: str = "dup_cluster_id"
    representative_column: str = "dup_representative_id"
    #: MinHash seed; defaults to the job seed.
    seed: int | None = None
    batch_rows: int = Field(1000, ge=1)
    #: Band entries per partition (18 bytes each, ~50 bytes at the sort peak): sets the partition count.
    partition_entries: int = Field(10_000_000, ge=1)
    #: At most this many verified edges: components in one task; more: distributed rounds.
    local_components_max_edges: int = Field(5_000_000, ge=0)
    keep_scratch: bool = False

    @model_validator(mode="after")
    def _check(self) -> MinHashDedupConfig:
        if self.verify_threshold is not None and "threshold" in self.model_fields_set \
                and self.verify_threshold != self.threshold:
            raise ValueError("verify_threshold is the former name of threshold; set only threshold")
        if (self.num_bands is None) != (self.rows_per_band is None):
            raise ValueError("set num_bands and rows_per_band together, or neither (derived from threshold)")
        bands, rows = self.lsh_bands()
        if bands * rows > 2048:
            raise ValueError("num_bands * rows_per_band must be <= 2048")
        t = self.jaccard_threshold()
        if self.num_bands is not None and recall_at(t, bands, rows) < MIN_RECALL:
            raise ValueError(
                f"num_bands={bands}, rows_per_band={rows} make only {recall_at(t, bands, rows):.0%} of pairs at "
                f"threshold={t} LSH candidates (need >= {MIN_RECALL:.0%}); unset both to derive them")
        return self

    def jaccard_threshold(self) -> float:
        return self.threshold if self.verify_threshold is None else self.verify_threshold

    def lsh_bands(self) -> tuple[int, int]:
        """(bands, rows per band): as configured, or derived from the threshold."""
        if self.num_bands is not None and self.rows_per_band is not None:
            return self.num_bands, self.rows_per_band
        return derive_bands(self.jaccard_threshold(), self.num_hashes)

    def shingle_spec(self) -> ShingleSpec:
        return ShingleSpec(mode=self.shingle, n=self.ngram, min_units=self.min_units,
                           lowercase=self.lowercase, strip_punctuation=self.strip_punctuation,
                           normalize_digits=self.normalize_digits, max_chars=self.max_chars)


# ------------------------------------------------------------------ the stage

def _sum(dicts: list[dict], key: str) -> int:
    return int(sum(d.get(key, 0) for d in dicts))


class MinHashDedup(GlobalStage):
    """Near-duplicate removal: MinHash LSH, optional Jaccard verification, connected components."""

    name = "minhash_dedup"
    Config = MinHashDedupConfig

    def run(self, inputs: list[Path], output_dir: Path, rejects_dir: Path | None,
            ctx: RunContext) -> list[StageStats]:
        cfg: MinHashDedupConfig = self.config  # type: ignore[assignment]
        t0 = time.perf_counter()
        bands, rows = cfg.lsh_bands()
        threshold = cfg.jaccard_threshold()
        if recall_at(threshold, bands, rows) < 0.9:
            log.warning("%s: %d x %d bands catch only %.0f%% of pairs at J = %.2f", self.name, bands, rows,
                        100 * recall_at(threshold, bands, rows), threshold)
        inputs, n_parts, work = prepare_run(self.name, inputs, output_dir, ctx.workers, ctx.scratch_dir,
                                            bands, cfg.partition_entries, resume=True)
        plan = Plan(work=str(work), spec=cfg.shingle_spec(), bands=bands, rows=rows,
                    seed=ctx.seed if cfg.seed is None else cfg.seed, n_parts=n_parts,
                    n_shards=len(inputs), verify=cfg.verify, threshold=threshold,
                    keep=cfg.keep, score_column=cfg.score_column, batch_rows=cfg.batch_rows)
        phases = PhaseLog(work, PHASES, asdict(plan), input_identity(inputs))
        parts = range(n_parts)

        def components() -> int:
            if n_edges <= cfg.local_components_max_edges:
                ctx.map(local_components_task, [plan], desc="minhash_dedup: components")
                return 0
            return distributed_components(plan, ctx)

        finished = False
        try:
            sig = phases.run("signatures", lambda: ctx.map(
                signature_shard, [(plan, i, str(p)) for i, p in enumerate(inputs)], desc="minhash_dedup: signatures"))
            buckets = phases.run("buckets", lambda: ctx.map(
                bucket_partition, [(plan, p) for p in parts], desc="minhash_dedup: buckets"))
            ver = phases.run("verify", lambda: ctx.map(
                verify_partition, [(plan, e) for e in parts], desc="minhash_dedup: verify"))
            n_edges = _sum(ver, "verified_pairs")
            cc_rounds = phases.run("components", components)
            sel = phases.run("select", lambda: ctx.map(
                select_partition, [(plan, c) for c in parts], desc="minhash_dedup: select"))
            tasks = apply_tasks(self.name, inputs, output_dir, rejects_dir, work, "near_duplicate", cfg)
            results = ctx.map(apply_shard, tasks, desc="minhash_dedup: apply")
            finished = True
        finally:  # an interrupted run keeps its finished phases for the next one
            if finished and not cfg.keep_scratch:
                shutil.rmtree(work, ignore_errors=True)
        stats = [StageStats.from_dict(r) for r in results]
        for st, s in zip(stats, sig):
            for k in ("no_signature", "truncated_long_docs", "missing_score", "band_entries"):
                if s[k]:
                    st.add(k, s[k])
        if stats:
            g = stats[0]
            g.add("partitions", n_parts)
            g.add("lsh_bands", bands)
            g.add("lsh_rows_per_band", rows)
            for k in ("band_buckets_with_dups", "star_edges", "duplicate_ids"):
                g.add(k, _sum(buckets, k))
            g.add("candidate_pairs", _sum(ver, "candidate_pairs"))
            g.add("verified_pairs", n_edges)
            g.add("dropped_by_verification", _sum(ver, "candidate_pairs") - n_edges)
            g.add("cc_rounds", cc_rounds)
            g.add("max_bucket", max((b["max_bucket"] for b in buckets), default=0))
            g.add("max_cluster", max((s["max_cluster"] for s in sel), default=0))
            if cfg.verify:
                hist = np.sum([v["jaccard_hist"] for v in ver], axis=0)
                for lo, count in zip(J_BINS[:-1], hist):
                    if count:
                        g.add(f"candidates_jaccard_{lo:.1f}", int(count))
            g.seconds = time.perf_counter() - t0 - sum(s.seconds for s in stats[1:])
        log.info("%s: %d docs, %d candidate pairs, %d verified, %d removed", self.name, sum(s.docs_in for s in stats),
                 _sum(ver, "candidate_pairs"), n_edges, sum(s.rejected_total for s in stats))
        return stats
