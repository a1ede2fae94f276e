"""``langid``: fastText lid.176 plus script rules with a Korean focus, document and line level."""

from stages.langid.stage import LangIDConfig, LangIDStage

__all__ = ["LangIDConfig", "LangIDStage"]
