"""Validated configuration for tokenizer training and evaluation (YAML section or dict)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, field_validator, model_validator

from core.config import StrictConfig
from tokenizer.specials import FULL_VOCAB_SIZE, MIN_VOCAB_SIZE

#: Default language mix of the sampled training text, as shares of sampled bytes. Korean is
#: up-weighted well above its web share; ``*`` covers every language not listed.
DEFAULT_SHARES: dict[str, float] = {"ko": 0.45, "en": 0.30, "code": 0.10, "*": 0.15}
OTHER = "*"


class SampleConfig(StrictConfig):
    """How training (or held-out) text is drawn from the corpus."""

    inputs: list[str] = Field(min_length=1, description="Parquet files, directories or glob patterns")
    text_column: str = "text"
    lang_column: str = "lang"
    #: Column hashed to select documents (cheap and stable); the text is hashed when it is absent.
    key_column: str | None = "id"
    language_shares: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_SHARES))
    sample_bytes: int = Field(1_000_000_000, gt=0, description="UTF-8 bytes of text to sample")
    holdout_fraction: float = Field(0.01, ge=0.0, lt=0.5,
                                    description="documents kept out of training, used by eval")
    seed: int = 0
    batch_rows: int = Field(4096, gt=0)

    @field_validator("language_shares")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(s < 0 for s in v.values()) or sum(v.values()) <= 0:
            raise ValueError("language_shares must be non-negative with a positive sum")
        total = sum(v.values())
        return {k: s / total for k, s in v.items()}


class TrainConfig(SampleConfig):
    """``axk1 tokenizer train``: sample the corpus, train sentencepiece BPE, export both formats."""

    output_dir: str
    vocab_size: int = Field(FULL_VOCAB_SIZE, ge=MIN_VOCAB_SIZE)
    #: Longest training "sentence" (documents are cut at line breaks into chunks up to this size).
    max_sentence_chars: int = Field(2048, ge=64, le=32768)
    #: Sentences sentencepiece keeps in memory (it reservoir-samples beyond that).
    input_sentence_size: int = Field(2_000_000, gt=0)
    character_coverage: float = Field(0.99995, gt=0.9, le=1.0)
    max_piece_length: int = Field(16, ge=2, le=64)
    num_threads: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _vocab(self) -> TrainConfig:
        if self.vocab_size % 64:
            raise ValueError(f"vocab_size {self.vocab_size} must be a multiple of 64 (embedding shards)")
        return self


class EvalConfig(SampleConfig):
    """``axk1 tokenizer eval``: metrics on held-out text plus a round-trip stress corpus."""

    tokenizer_dir: str
    output: str = Field(description="JSON file to write; a Markdown rendering goes beside it")
    sample_bytes: int = Field(20_000_000, gt=0)
    #: Evaluate on the training hold-out (same seed and fraction as training) or on every document.
    use_holdout: bool = True
    stress_random_strings: int = Field(2000, ge=0)
    backend: str = Field("hf", pattern="^(hf|sentencepiece)$")


def load_config(cls: type[StrictConfig], source: dict[str, Any] | str | Path | None,
                section: str | None = None, overrides: dict[str, Any] | None = None) -> Any:
    """Build ``cls`` from a dict or a YAML file (optionally one top-level ``section`` of it)."""
    data: dict[str, Any] = {}
    if isinstance(source, (str, Path)):
        loaded = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
        if section and section in loaded:
            loaded = loaded[section]
        data.update(loaded)
    elif isinstance(source, dict):
        data.update(source)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return cls(**data)
