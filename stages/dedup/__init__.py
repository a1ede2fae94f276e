"""Deduplication stages: ``exact_dedup`` (content hash or URL) and ``minhash_dedup`` (near duplicates)."""

from stages.dedup.exact import ExactDedup
from stages.dedup.stage import MinHashDedup

__all__ = ["ExactDedup", "MinHashDedup"]
