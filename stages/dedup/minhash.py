"""MinHash signatures and LSH band hashes, vectorised over a whole batch of documents."""

from __future__ import annotations

import numpy as np

from stages.dedup.hashing import U64, mix64

#: Signature value of a document without shingles (never equal-banded: such docs are skipped).
EMPTY = np.uint32(0xFFFFFFFF)


class MinHasher:
    """``num_perm`` hash permutations ``h -> a*h + b (mod 2**64)`` (a odd: a bijection of uint64).

    Shingle hashes are already avalanche-mixed 64-bit values; the minimum of each affine
    permutation, keeping its top 32 bits, is the signature entry.
    """

    def __init__(self, num_perm: int, seed: int, max_block: int = 65_536) -> None:
        rng = np.random.Generator(np.random.PCG64(seed))
        self.num_perm = num_perm
        self.a = rng.integers(0, 2**64 - 1, size=num_perm, dtype=U64, endpoint=True) | U64(1)
        self.b = rng.integers(0, 2**64 - 1, size=num_perm, dtype=U64, endpoint=True)
        #: Max elements of one [shingles, num_perm] block (bounds memory: 8 bytes each).
        self.max_block = max_block

    def _block_min(self, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
        block = np.multiply.outer(values, self.a)
        block += self.b
        return np.minimum.reduceat(block, starts, axis=0)

    def signatures(self, values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """uint32 ``[docs, num_perm]`` signatures; rows of shingle-less documents are all ``EMPTY``."""
        offsets = np.asarray(offsets, dtype=np.int64)
        n_docs = len(offsets) - 1
        out = np.full((n_docs, self.num_perm), np.iinfo(np.uint64).max, dtype=U64)
        rows = max(1, self.max_block // self.num_perm)
        counts = np.diff(offsets)
        d = 0
        with np.errstate(over="ignore"):
            while d < n_docs:
                e = int(np.searchsorted(offsets, offsets[d] + rows, side="right")) - 1
                e = min(max(e, d + 1), n_docs)
                if offsets[e] - offsets[d] > rows:  # one very long document: running min over blocks
                    for s in range(int(offsets[d]), int(offsets[d + 1]), rows):
                        part = values[s:min(s + rows, int(offsets[d + 1]))]
                        out[d] = np.minimum(out[d], self._block_min(part, np.zeros(1, np.int64))[0])
                    d += 1
                    continue
                docs = np.arange(d, e)[counts[d:e] > 0]
                if len(docs):
                    block_vals = values[offsets[d]:offsets[e]]
                    out[docs] = self._block_min(block_vals, offsets[docs] - offsets[d])
                d = e
        return (out >> U64(32)).astype(np.uint32)


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """uint64 ``[docs, bands]``: one hash per band of ``rows`` signature entries (band index mixed in)."""
    n = sig.shape[0]
    view = sig[:, :bands * rows].reshape(n, bands, rows).astype(U64)
    coef = mix64(np.arange(rows, dtype=U64) + U64(0xB4D)) | U64(1)
    with np.errstate(over="ignore"):
        acc = (view * coef).sum(axis=2, dtype=U64)
        acc ^= mix64(np.arange(bands, dtype=U64))
    return mix64(acc)


def detection_probability(j: np.ndarray | float, bands: int, rows: int) -> np.ndarray:
    """P(some band of ``rows`` entries agrees | Jaccard j) = 1 - (1 - j**rows)**bands."""
    j = np.asarray(j, dtype=np.float64)
    return 1.0 - (1.0 - j**rows) ** bands
