"""The ``axk1 sft build`` job file, validated with pydantic (unknown keys are errors naming the key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from core.config import JobError, StrictConfig


class SFTInput(StrictConfig):
    """One input: JSONL files (globs allowed) in one chat format, or the embedded demo sample."""

    paths: list[str] = Field(default_factory=list)
    embedded: Literal["sft_demo"] | None = None
    format: Literal["auto", "openai", "sharegpt"] = "auto"
    source: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")

    @model_validator(mode="after")
    def _one(self) -> SFTInput:
        if bool(self.paths) == bool(self.embedded):
            raise ValueError("an input needs either paths or embedded (not both)")
        return self


class CurateSection(StrictConfig):
    """Existing stages run on flattened views; ``null`` turns one off. Values are the stage's config."""

    langid: dict[str, Any] | None = Field(default_factory=lambda: {"keep_languages": ["ko", "en"]})
    pii: dict[str, Any] | None = Field(default_factory=dict)
    exact_dedup: dict[str, Any] | None = Field(default_factory=dict)
    minhash_dedup: dict[str, Any] | None = Field(default_factory=dict)


class MixGroup(StrictConfig):
    """A budget group: the conversations matching ``where`` (first matching group wins)."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    where: dict[Literal["source", "language"], list[str]] = Field(default_factory=dict)
    share: float = Field(..., gt=0, le=1, description="share of the example budget")
    max_epochs: float = Field(1.0, gt=0, description="most times one conversation may be used")

    @field_validator("where")
    @classmethod
    def _nonempty(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"where.{key} lists no values (it would match nothing)")
        return v


class MixSection(StrictConfig):
    budget: int = Field(..., gt=0, description="training examples to emit")
    think_share: float = Field(0.5, ge=0, le=1, description="target share of think-mode examples")
    both_modes: bool = Field(False, description="allow one prompt in both think and non-think mode")
    groups: list[MixGroup] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _shares(self) -> MixSection:
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError("mix.groups names must be unique")
        if sum(g.share for g in self.groups) > 1 + 1e-9:
            raise ValueError("mix.groups shares add up to more than 1")
        return self


class TokenizerSection(StrictConfig):
    """An exported tokenizer folder, or train one on the curated conversations (small demos)."""

    dir: str | None = None
    train_vocab_size: int = Field(2048, ge=1024)

    @field_validator("train_vocab_size")
    @classmethod
    def _multiple(cls, v: int) -> int:
        if v % 64:
            raise ValueError("train_vocab_size must be a multiple of 64")
        return v


class PackSection(StrictConfig):
    seq_len: int = Field(2048, ge=16, description="trainer sequence length; rows hold seq_len + 1 tokens")
    rows_per_shard: int = Field(10_000, ge=1)
    max_open_rows: int = Field(64, ge=1, description="rows kept open for best-fit packing (bounds memory)")


class SFTJob(StrictConfig):
    name: str
    output_dir: str
    seed: int = 0
    workers: int = Field(1, ge=0)
    batch_rows: int = Field(1000, ge=1)
    inputs: list[SFTInput] = Field(..., min_length=1)
    curate: CurateSection = Field(default_factory=CurateSection)
    mix: MixSection
    tokenizer: TokenizerSection = Field(default_factory=TokenizerSection)
    pack: PackSection = Field(default_factory=PackSection)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir)


def load_sft_job(path: str | Path, overrides: dict[str, Any] | None = None) -> SFTJob:
    """Read and validate a job file; errors name the offending key."""
    path = Path(path)
    if not path.is_file():
        raise JobError(f"job file not found: {path}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw.update(overrides or {})
    try:
        return SFTJob(**raw)
    except ValidationError as exc:
        msgs = ["{}: {}".format(".".join(str(x) for x in e["loc"]) or "job", e["msg"]) for e in exc.errors()]
        raise JobError(f"invalid SFT job {path}: " + "; ".join(msgs)) from None
