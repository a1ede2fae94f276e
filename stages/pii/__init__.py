"""PII scrubbing tuned for Korean web text: detectors, validators, typed placeholders, the ``pii`` stage."""

from stages.pii.detectors import DETECTORS, Span, detect
from stages.pii.patterns import PII_PLACEHOLDERS, PII_TYPES, placeholder
from stages.pii.replacement import apply_spans, mask
from stages.pii.stage import COUNT_COLUMNS, TOTAL_COLUMN, PiiConfig, PiiStage


def placeholders() -> list[str]:
    """The placeholder tokens the tokenizer must reserve as special tokens."""
    return list(PII_PLACEHOLDERS)


def scrub(text: str, action: str = "replace") -> str:
    """Scrub one string with every detector (convenience for notebooks and tests)."""
    return apply_spans(text, detect(text), {t: action for t in PII_TYPES})  # type: ignore[misc]


__all__ = [
    "COUNT_COLUMNS", "DETECTORS", "PII_PLACEHOLDERS", "PII_TYPES", "TOTAL_COLUMN", "PiiConfig", "PiiStage",
    "Span", "apply_spans", "detect", "mask", "placeholder", "placeholders", "scrub",
]
