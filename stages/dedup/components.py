"""Connected components over candidate edges; every node is labelled with its component's minimum.

Two algorithms with identical results:

* ``local_components``: in memory, hook-and-compress (Shiloach-Vishkin style) on numpy arrays, for
  edge sets that fit one worker.
* large-star / small-star (Kiveris et al., "Connected Components in MapReduce and Beyond", 2014):
  each step is a group-by on a node, so the edge list stays partitioned by node hash across
  workers and no global index is ever built. ``large_star`` and ``small_star`` are the per-partition
  kernels; ``stages.dedup.minhash_dedup`` runs them over scratch files with ``ctx.map``.
"""

from __future__ import annotations

import numpy as np

from stages.dedup.hashing import U64, mix64
from stages.dedup.lsh import unique_pairs


def local_components(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, labels): every node that has an edge, labelled with its component's smallest node."""
    if len(a) == 0:
        z = np.zeros(0, dtype=U64)
        return z, z
    nodes, inv = np.unique(np.concatenate([a, b]).astype(U64), return_inverse=True)
    u, v = inv[: len(a)], inv[len(a):]
    lab = np.arange(len(nodes), dtype=np.int64)
    while True:
        lu, lv = lab[u], lab[v]
        diff = lu != lv
        if not diff.any():
            break
        lu, lv = lu[diff], lv[diff]
        low = np.minimum(lu, lv)
        np.minimum.at(lab, lu, low)
        np.minimum.at(lab, lv, low)
        while True:  # pointer jumping until every node points at a root
            nxt = lab[lab]
            if np.array_equal(nxt, lab):
                break
            lab = nxt
    return nodes, nodes[lab]


def _grouped(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sort directed records by (src, dst), dedupe; return src, dst, group starts, group index."""
    src, dst = unique_pairs(src, dst)
    new = np.ones(len(src), dtype=bool)
    new[1:] = src[1:] != src[:-1]
    starts = np.flatnonzero(new)
    return src, dst, starts, np.cumsum(new) - 1


def large_star(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each node u: connect every larger neighbour to min(N(u) and u). Returns undirected edges."""
    if len(src) == 0:
        return src, dst
    src, dst, starts, gid = _grouped(src, dst)
    m = np.minimum(np.minimum.reduceat(dst, starts), src[starts])[gid]
    sel = dst > src
    return dst[sel], m[sel]


def small_star(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each node u with smaller neighbours N<(u): connect N<(u) and u to min(N<(u))."""
    sel = dst < src
    src, dst = src[sel], dst[sel]
    if len(src) == 0:
        return src, dst
    src, dst, starts, gid = _grouped(src, dst)
    m = np.minimum.reduceat(dst, starts)  # smaller neighbours only, so m < u
    mm = m[gid]
    keep = dst != mm
    out_a = np.concatenate([dst[keep], src[starts]])
    out_b = np.concatenate([mm[keep], m])
    return out_a, out_b


def both_directions(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Directed records (u -> v) and (v -> u) of undirected edges, self loops dropped."""
    sel = a != b
    a, b = a[sel], b[sel]
    return np.concatenate([a, b]), np.concatenate([b, a])


def edge_checksum(src: np.ndarray, dst: np.ndarray) -> tuple[int, int]:
    """Order-independent (count, sum of mixed hashes) of the undirected edge set in directed records."""
    s, d = unique_pairs(src, dst)
    sel = s < d
    with np.errstate(over="ignore"):
        h = mix64(mix64(s[sel]) ^ d[sel])
        return int(sel.sum()), int(h.sum(dtype=U64))


def star_labels(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, min(node, neighbours)) per source node: the labels once the graph is a set of stars."""
    if len(src) == 0:
        return src, dst
    src, dst, starts, _ = _grouped(src, dst)
    return src[starts], np.minimum(np.minimum.reduceat(dst, starts), src[starts])


def iterate_stars(a: np.ndarray, b: np.ndarray, max_rounds: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """In-memory large-star/small-star to convergence (reference for the distributed driver)."""
    src, dst = both_directions(a.astype(U64), b.astype(U64))
    prev = edge_checksum(src, dst)
    for _ in range(max_rounds):
        src, dst = both_directions(*large_star(src, dst))
        src, dst = both_directions(*small_star(src, dst))
        cur = edge_checksum(src, dst)
        if cur == prev:
            break
        prev = cur
    return star_labels(src, dst)
