"""Deduplication stages: ``exact_dedup`` (content hash or URL) and ``minhash_dedup`` (near duplicates)."""

from stages.dedup.exact_dedup import ExactDedup
from stages.dedup.minhash_dedup import MinHashDedup

__all__ = ["ExactDedup", "MinHashDedup"]
