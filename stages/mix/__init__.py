"""``mix``: sample sources and languages to a token budget with per-source shares and epoch caps."""

from stages.mix.stage import Mix, MixConfig

__all__ = ["Mix", "MixConfig"]
