"""Realistic Korean evaluation documents with gold PII spans, and span-level scoring."""

from stages.pii.evalset.generate import GENRES, EvalDoc, generate
from stages.pii.evalset.score import prf, score, total

__all__ = ["GENRES", "EvalDoc", "generate", "prf", "score", "total"]
