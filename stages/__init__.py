"""Curation stages, one subpackage per stage: its config, its stage class and its helpers.

``STAGES`` lists every stage class this package provides. The core never imports this package; the
orchestration layer (``pipeline.registry``) reads ``STAGES`` to resolve the names in job files.
"""

from stages.dedup import ExactDedup, MinHashDedup
from stages.extract import Extract
from stages.langid import LangIDStage
from stages.mix import Mix
from stages.pii import PiiStage
from stages.quality import QualityStage

STAGES = (Extract, LangIDStage, QualityStage, ExactDedup, MinHashDedup, PiiStage, Mix)

__all__ = ["STAGES", "ExactDedup", "Extract", "LangIDStage", "MinHashDedup", "Mix", "PiiStage", "QualityStage"]
