"""LSH banding: documents whose band hashes agree become candidate pairs (star edges)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stages.dedup.scratch import BAND_DTYPE


@dataclass
class BucketStats:
    entries: int = 0
    #: Band buckets holding two or more documents.
    buckets: int = 0
    max_bucket: int = 0
    edges: int = 0


def unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique (a, b) pairs."""
    if len(a) == 0:
        return a.astype(np.uint64), b.astype(np.uint64)
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[keep], b[keep]


def star_edges(entries: np.ndarray) -> tuple[np.ndarray, np.ndarray, BucketStats]:
    """Edges from every member of an equal-(band, hash) group to the group's smallest document.

    Never all pairs: a bucket of ``k`` documents gives ``k - 1`` edges. Returns unique ``(a, b)``
    with ``a < b``.
    """
    stats = BucketStats(entries=len(entries))
    if len(entries) < 2:
        z = np.zeros(0, dtype=np.uint64)
        return z, z, stats
    entries = np.asarray(entries, dtype=BAND_DTYPE)
    order = np.lexsort((entries["doc"], entries["hash"], entries["band"]))
    band, h, doc = entries["band"][order], entries["hash"][order], entries["doc"][order]
    new_group = np.ones(len(doc), dtype=bool)
    new_group[1:] = (band[1:] != band[:-1]) | (h[1:] != h[:-1])
    group_id = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.append(starts, len(doc)))
    stats.buckets = int((sizes > 1).sum())
    stats.max_bucket = int(sizes.max())
    first = doc[starts][group_id]
    member = ~new_group & (doc != first)  # duplicate (doc) entries in one bucket are ignored
    a, b = unique_pairs(first[member], doc[member])
    stats.edges = len(a)
    return a, b, stats
