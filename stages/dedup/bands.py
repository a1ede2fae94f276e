"""Choosing LSH bands x rows for a Jaccard threshold, and checking a given choice against it.

A pair with Jaccard J becomes a candidate with probability ``1 - (1 - J**r)**b``. For a threshold
t and a budget of hashes, the steepest S-curve that still catches the target share of pairs at
exactly t is the one with the most rows per band: more rows move the curve's knee up, so fewer pairs
below t become candidates (and need verifying), while every band added keeps recall at t.
"""

from __future__ import annotations

from stages.dedup.minhash import detection_probability

#: Share of pairs at exactly the threshold that LSH must make candidates when bands are derived.
TARGET_RECALL = 0.95
#: Below this share at the threshold a configuration is refused: most duplicates there are missed.
MIN_RECALL = 0.5


def recall_at(threshold: float, bands: int, rows: int) -> float:
    """Probability that a pair at exactly ``threshold`` becomes an LSH candidate."""
    return float(detection_probability(threshold, bands, rows))


def derive_bands(threshold: float, num_hashes: int, target: float = TARGET_RECALL) -> tuple[int, int]:
    """(bands, rows) using at most ``num_hashes`` hashes: the largest ``rows`` with
    ``bands = num_hashes // rows`` whose candidate probability at ``threshold`` is >= ``target``.

    Falls back to one row per band (the highest recall the budget allows) when none reaches it.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    for rows in range(num_hashes, 0, -1):
        bands = num_hashes // rows
        if recall_at(threshold, bands, rows) >= target:
            return bands, rows
    return num_hashes, 1
