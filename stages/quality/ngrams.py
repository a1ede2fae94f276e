"""Gopher n-gram repetition over a whole batch: hashed token ids in numpy, no n-gram strings.

For every document: the character share of its most frequent n-gram (``top``; joined with spaces,
count x length, ties to the n-gram seen first) and the characters covered by repeated n-grams found
by a left-to-right scan that jumps past each repeat (``dup``; joined without spaces). Both follow
the Gopher definitions as implemented by datatrove, so thresholds carry over.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.quality.text import Tokens

_MUL = np.uint64(0x9E3779B97F4A7C15)
_DOC_MUL = np.uint64(0xC2B2AE3D27D4EB4F)


class NgramIndex:
    """Token ids, lengths and per-position helpers shared by all n."""

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens
        vals = tokens.values
        if len(vals):
            enc = pc.dictionary_encode(vals)
            self.ids = enc.indices.to_numpy(zero_copy_only=False).astype(np.uint64) + np.uint64(1)
            self.lens = pc.utf8_length(vals).to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            self.ids = np.zeros(0, np.uint64)
            self.lens = np.zeros(0, np.int64)
        self.doc = tokens.doc
        self.offsets = tokens.offsets
        self.pos_in_doc = np.arange(len(self.ids)) - self.offsets[self.doc] if len(self.ids) else self.doc
        self.doc_len = np.diff(self.offsets)
        self.len_cum = np.concatenate([[0], np.cumsum(self.lens)])
        self._hash: dict[int, np.ndarray] = {}

    def valid(self, n: int) -> np.ndarray:
        """Positions that start a complete n-gram inside their document."""
        return self.pos_in_doc <= self.doc_len[self.doc] - n

    def hashes(self, n: int) -> np.ndarray:
        """uint64 hash of the n-gram starting at every position (garbage past a doc's end)."""
        if n in self._hash:
            return self._hash[n]
        m = len(self.ids)
        h = np.zeros(m, np.uint64)
        with np.errstate(over="ignore"):
            for k in range(n):
                shifted = np.zeros(m, np.uint64)
                if k < m:
                    shifted[: m - k] = self.ids[k:]
                h = h * _MUL + shifted
            h ^= self.doc.astype(np.uint64) * _DOC_MUL
        self._hash[n] = h
        return h

    def char_len(self, n: int) -> np.ndarray:
        """Characters of the n-gram at each position, without separators."""
        m = len(self.ids)
        end = np.minimum(np.arange(m) + n, m)
        return self.len_cum[end] - self.len_cum[:m]


def _encode(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids in order of first appearance (hash table, no sort) and each position's first-ness."""
    ids = pc.dictionary_encode(pa.array(h, pa.uint64())).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    prev_max = np.maximum.accumulate(np.concatenate([[-1], ids[:-1]]))
    return ids, ids > prev_max


def _segments(doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index of each run of equal (sorted) doc ids, and the doc id of each run."""
    starts = np.flatnonzero(np.concatenate([[True], doc[1:] != doc[:-1]]))
    return starts, doc[starts]


def top_ngram_chars(idx: NgramIndex, n: int) -> np.ndarray:
    """Per doc: count x length (space-joined) of the most common n-gram; 0 if no n-gram."""
    out = np.zeros(idx.tokens.n_docs, np.float64)
    valid = np.flatnonzero(idx.valid(n))
    if not len(valid):
        return out
    ids, _ = _encode(idx.hashes(n)[valid])
    c = np.bincount(ids)[ids]
    starts, docs = _segments(idx.doc[valid])
    best_c = np.maximum.reduceat(c, starts)
    seg = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(valid))))
    pos = np.where(c == best_c[seg], np.arange(len(valid)), len(valid))
    first = np.minimum.reduceat(pos, starts)
    length = idx.char_len(n)[valid[first]] + (n - 1)
    out[docs] = best_c * length
    return out


def dup_ngram_chars(idx: NgramIndex, n: int) -> np.ndarray:
    """Per doc: characters of repeated n-grams by the jump-past-repeat scan; 0 when nothing repeats."""
    out = np.zeros(idx.tokens.n_docs, np.float64)
    valid = np.flatnonzero(idx.valid(n))
    if not len(valid):
        return out
    ids, is_first = _encode(idx.hashes(n)[valid])
    if is_first.all():
        return out
    first_pos = np.flatnonzero(is_first)  # position (in ``valid``) of each id's first occurrence
    clen = idx.char_len(n)[valid]
    doc = idx.doc[valid]
    cand = np.flatnonzero(~is_first)
    cdoc = doc[cand]
    cuts = np.flatnonzero(cdoc[1:] != cdoc[:-1]) + 1
    for c in np.split(cand, cuts):
        out[doc[c[0]]] = _scan(c.tolist(), ids[c].tolist(), first_pos, clen, n)
    return out


def _scan(cand: list[int], ids: list[int], first_pos: np.ndarray, clen: np.ndarray, n: int) -> int:
    """Greedy left-to-right scan (a repeat counts, then the scan jumps n tokens), visiting repeats only.

    A repeat at position i counts when i is visited and an earlier visited position holds the same
    n-gram. Only positions inside a jump window are unvisited, so first occurrences are checked
    against the recorded windows instead of walking every position.
    """
    total, skip_until = 0, -1
    win_start: list[int] = []
    seen: dict[int, bool] = {}
    for i, g in zip(cand, ids):
        if i < skip_until:
            continue
        s = seen.get(g)
        if s is None:
            fo = int(first_pos[g])
            k = bisect_right(win_start, fo) - 1
            s = not (k >= 0 and fo < win_start[k] + n - 1)
        if s:
            total += int(clen[i])
            skip_until = i + n
            win_start.append(i + 1)
        seen[g] = True
    return total


def duplicate_items(items: pa.Array, parent: np.ndarray, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Per doc: number and characters of items (lines, paragraphs) equal to an earlier item of the doc."""
    if not len(items):
        return np.zeros(n_docs), np.zeros(n_docs)
    ids = pc.dictionary_encode(items).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    key = parent.astype(np.int64) * (int(ids.max()) + 1) + ids
    _, first_idx = np.unique(key, return_index=True)
    dup = np.ones(len(key), bool)
    dup[first_idx] = False
    lens = pc.utf8_length(items).to_numpy(zero_copy_only=False).astype(np.float64)
    n_dup = np.bincount(parent[dup], minlength=n_docs).astype(np.float64)
    c_dup = np.bincount(parent[dup], weights=lens[dup], minlength=n_docs)
    return n_dup, c_dup
