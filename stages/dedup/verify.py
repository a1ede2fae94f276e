"""Exact Jaccard of candidate pairs from compact per-shard shingle sets.

Signature phase writes, per shard, every document's sorted unique 32-bit shingle hashes
(``s<shard>.values.bin``) and offsets (``s<shard>.offsets.bin``). Verification memory-maps them and
copies out only the documents its edges touch, a bounded chunk of pairs at a time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.dedup.hashing import U64, key_row, key_shard


def set_paths(root: Path, shard: int) -> tuple[Path, Path]:
    return root / f"s{shard:06d}.values.bin", root / f"s{shard:06d}.offsets.bin"


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each (s, l), vectorised."""
    total = int(lens.sum())
    before = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    return np.arange(total, dtype=np.int64) + np.repeat(starts - before, lens)


class SetStore:
    """Read access to the shingle sets of every shard.

    Each ``gather`` maps the files of the shards it needs, copies out only the requested ranges and
    unmaps them again, so a task's memory is bounded by the pairs of one chunk, not by the number of
    shards or documents it touches over its lifetime.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _maps(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        vp, op = set_paths(self.root, s)
        offs = np.memmap(op, dtype=np.int64, mode="r")
        vals = np.memmap(vp, dtype=np.uint32, mode="r") if vp.stat().st_size else np.zeros(0, np.uint32)
        return vals, offs

    def gather(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, lens): the sets of ``keys`` concatenated in the order of ``keys``."""
        shards, rows = key_shard(keys), key_row(keys)
        order = np.argsort(shards, kind="stable")
        bounds = np.flatnonzero(np.diff(shards[order])) + 1
        starts = np.zeros(len(keys), dtype=np.int64)
        lens = np.zeros(len(keys), dtype=np.int64)
        groups = np.split(order, bounds) if len(order) else []
        pieces: list[tuple[np.ndarray, np.ndarray]] = []
        for sel in groups:
            vals, offs = self._maps(int(shards[sel[0]]))
            r = rows[sel]
            starts[sel] = offs[r]
            lens[sel] = offs[r + 1] - offs[r]
            pieces.append((sel, np.asarray(vals[_ranges(starts[sel], lens[sel])])))
            del vals, offs  # unmap
        out = np.empty(int(lens.sum()), dtype=np.uint32)
        out_starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        for sel, got in pieces:
            out[_ranges(out_starts[sel], lens[sel])] = got
        return out, lens


def _intersections(va: np.ndarray, la: np.ndarray, vb: np.ndarray, lb: np.ndarray) -> np.ndarray:
    n = len(la)
    pa_ = np.repeat(np.arange(n, dtype=U64), la)
    pb_ = np.repeat(np.arange(n, dtype=U64), lb)
    keys = np.concatenate([(pa_ << U64(32)) | va.astype(U64), (pb_ << U64(32)) | vb.astype(U64)])
    keys.sort()
    eq = keys[1:] == keys[:-1]
    return np.bincount((keys[1:][eq] >> U64(32)).astype(np.int64), minlength=n)


def pair_jaccard(store: SetStore, a: np.ndarray, b: np.ndarray, max_elems: int = 4_000_000) -> np.ndarray:
    """Exact Jaccard of the shingle sets of each pair ``(a[i], b[i])`` (0 when both are empty)."""
    out = np.zeros(len(a), dtype=np.float64)
    i = 0
    chunk = 4096
    while i < len(a):
        j = min(i + chunk, len(a))
        va, la = store.gather(a[i:j])
        vb, lb = store.gather(b[i:j])
        inter = _intersections(va, la, vb, lb)
        union = la + lb - inter
        out[i:j] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        # adapt the chunk so one gather stays near max_elems values
        per_pair = max(1.0, (len(va) + len(vb)) / max(1, j - i))
        chunk = int(max(1, min(1 << 20, max_elems / per_pair)))
        i = j
    return out
