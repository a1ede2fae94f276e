"""The base of every configuration model: unknown keys are errors, values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictConfig(BaseModel):
    """Base for job, stage, tokenizer and trainer configs: an unknown key is an error that names it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class JobError(ValueError):
    """A job file that cannot run, with a message that says why and where."""
