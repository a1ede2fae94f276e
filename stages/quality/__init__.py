"""``quality``: Gopher / C4 / FineWeb signals, Korean thresholds, spam lists and a fastText classifier."""

from stages.quality.stage import QualityConfig, QualityStage

__all__ = ["QualityConfig", "QualityStage"]
