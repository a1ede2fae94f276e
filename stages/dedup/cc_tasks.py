"""``minhash_dedup`` phase 4 on workers: connected components over the verified edge files.

Few edges: one task runs ``local_components``. Many: large-star / small-star rounds, each a
``ctx.map`` over node partitions, until the edge set stops changing; then every node's label.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from core.stage import RunContext
from stages.dedup import components as cc
from stages.dedup.hashing import partition_of
from stages.dedup.phases import Plan
from stages.dedup.scratch import PAIR_DTYPE, PartitionedWriter, part_dir, read_partition


def _write_labels(plan: Plan, producer: str, nodes: np.ndarray, labels: np.ndarray) -> None:
    rec = np.empty(len(nodes), dtype=PAIR_DTYPE)
    rec["a"], rec["b"] = nodes, labels
    w = PartitionedWriter(plan.dir("labels"), producer, PAIR_DTYPE, plan.n_parts)
    w.add(rec, partition_of(labels, plan.n_parts))
    w.flush()


def local_components_task(plan: Plan) -> int:
    """All verified edges in one task: hook-and-compress components; write (node, label)."""
    parts = [read_partition(part_dir(plan.dir("vedges"), e), PAIR_DTYPE) for e in range(plan.n_parts)]
    edges = np.concatenate(parts) if parts else np.zeros(0, PAIR_DTYPE)
    nodes, labels = cc.local_components(edges["a"], edges["b"])
    _write_labels(plan, "local", nodes, labels)
    return len(nodes)


def _write_directed(plan: Plan, root: Path, producer: str, src: np.ndarray, dst: np.ndarray) -> None:
    rec = np.empty(len(src), dtype=PAIR_DTYPE)
    rec["a"], rec["b"] = src, dst
    w = PartitionedWriter(root, producer, PAIR_DTYPE, plan.n_parts)
    w.add(rec, partition_of(src, plan.n_parts))
    w.flush()


def cc_init_task(item: tuple[Plan, int]) -> None:
    plan, e = item
    edges = read_partition(part_dir(plan.dir("vedges"), e), PAIR_DTYPE)
    src, dst = cc.both_directions(edges["a"], edges["b"])
    _write_directed(plan, plan.dir("cc") / "r0000", f"e{e:05d}", src, dst)


def cc_step_task(item: tuple[Plan, int, int, str]) -> tuple[int, int]:
    """One large-star or small-star step on one node partition; returns its input's checksum."""
    plan, rnd, q, kind = item
    rec = read_partition(part_dir(plan.dir("cc") / f"r{rnd:04d}", q), PAIR_DTYPE)
    src, dst = rec["a"], rec["b"]
    checksum = cc.edge_checksum(src, dst)
    a, b = cc.large_star(src, dst) if kind == "large" else cc.small_star(src, dst)
    s2, d2 = cc.both_directions(a, b)
    _write_directed(plan, plan.dir("cc") / f"r{rnd + 1:04d}", f"q{q:05d}", s2, d2)
    return checksum


def cc_label_task(item: tuple[Plan, int, int]) -> int:
    plan, rnd, q = item
    rec = read_partition(part_dir(plan.dir("cc") / f"r{rnd:04d}", q), PAIR_DTYPE)
    nodes, labels = cc.star_labels(rec["a"], rec["b"])
    _write_labels(plan, f"q{q:05d}", nodes, labels)
    return len(nodes)


def distributed_components(plan: Plan, ctx: RunContext, max_rounds: int = 200) -> int:
    """Large-star / small-star rounds over node-partitioned edge files until the edge set is stable."""
    parts = range(plan.n_parts)
    ctx.map(cc_init_task, [(plan, e) for e in parts], desc="minhash_dedup: components init")
    rnd, prev, steps = 0, None, 0
    while True:
        sums = ctx.map(cc_step_task, [(plan, rnd, q, "large") for q in parts], desc=f"cc large {rnd}")
        total = (sum(c for c, _ in sums), sum(h for _, h in sums) % (1 << 64))
        if total == prev or steps >= max_rounds:
            break
        prev = total
        for old in (rnd - 2, rnd - 1):  # consumed by earlier steps
            if old >= 0:
                shutil.rmtree(plan.dir("cc") / f"r{old:04d}", ignore_errors=True)
        ctx.map(cc_step_task, [(plan, rnd + 1, q, "small") for q in parts], desc=f"cc small {rnd}")
        rnd += 2
        steps += 1
    ctx.map(cc_label_task, [(plan, rnd, q) for q in parts], desc="minhash_dedup: labels")
    return steps
