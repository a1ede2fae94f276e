"""Pretraining job file (YAML), validated with pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, model_validator

from core.config import StrictConfig
from trainer.config import AttnImpl, ExpertImpl, ModelConfig, get_config
from trainer.parallel.config import ParallelSection


class ModelSection(StrictConfig):
    preset: str = "axk1-tiny"
    #: Any ``ModelConfig`` field, e.g. ``{num_layers: 4, aux_loss_alpha: 0.0}``.
    overrides: dict[str, Any] = Field(default_factory=dict)
    attn_impl: AttnImpl = "auto"
    expert_impl: ExpertImpl = "auto"
    activation_checkpointing: bool = False
    compile: bool = False
    #: Tokens per chunk of the head + cross-entropy (never the full fp32 logits); 0: all at once.
    loss_chunk_tokens: int = Field(2048, ge=0)

    def build_config(self) -> ModelConfig:
        return get_config(self.preset, self.overrides)


class DataSection(StrictConfig):
    #: ``pretrain``: packed token shards, loss on every token; ``sft``: SFT shard directories
    #: (``core.sft_shards``), loss on assistant tokens only.
    kind: Literal["pretrain", "sft"] = "pretrain"
    #: Megatron ``.bin/.idx`` path prefixes (relative paths resolve against the job file's folder).
    prefixes: list[str] = Field(default_factory=list)
    weights: list[float] = Field(default_factory=list)
    #: Train on a seeded random-token stream instead (smoke tests and benchmarks).
    synthetic: bool = False
    #: Batches a background thread prepares ahead (pinned memory on GPU); 0: read synchronously.
    prefetch: int = Field(2, ge=0)

    @model_validator(mode="after")
    def _check(self) -> DataSection:
        if not self.synthetic:
            if not self.prefixes:
                raise ValueError("data.prefixes is empty (or set data.synthetic: true)")
            if self.weights and len(self.weights) != len(self.prefixes):
                raise ValueError("data.weights must have one weight per prefix")
            if any(w < 0 for w in self.weights) or (self.weights and sum(self.weights) <= 0):
                raise ValueError("data.weights must be non-negative with a positive sum")
        return self


class ScheduleSection(StrictConfig):
    kind: Literal["cosine", "wsd", "constant"] = "cosine"
    lr: float = 3e-4
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    #: WSD only: fraction of steps spent in the final decay.
    decay_fraction: float = 0.2


class OptimSection(StrictConfig):
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0
    #: Aux-loss-free balancing step size (DeepSeek-V3: 1e-3); 0 disables the bias update.
    bias_update_rate: float = 1e-3


class PretrainJob(StrictConfig):
    model: ModelSection = Field(default_factory=ModelSection)
    data: DataSection
    seq_len: int = 2048
    micro_batch: int = 1
    grad_accum: int = 1
    steps: int = 1000
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    optim: OptimSection = Field(default_factory=OptimSection)
    parallel: ParallelSection = Field(default_factory=ParallelSection)
    checkpoint_dir: str = "runs/pretrain"
    checkpoint_interval: int = 500
    log_interval: int = 10
    seed: int = 0
    #: ``auto``: bf16 autocast with fp32 master weights on GPU, fp32 on CPU.
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    #: Theoretical dense bf16 peak of one accelerator, for MFU (H100 SXM: 989 TFLOP/s).
    peak_tflops: float | None = None

    @model_validator(mode="after")
    def _check(self) -> PretrainJob:
        for name in ("seq_len", "micro_batch", "grad_accum", "steps", "checkpoint_interval", "log_interval"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        return self


def load_job(path: str | Path) -> PretrainJob:
    """Read a job YAML; relative data prefixes and checkpoint_dir stay relative to the working dir
    unless they start with ``./`` or ``../``, which resolve against the job file's folder."""
    path = Path(path)
    raw = yaml.safe_load(path.read_text()) or {}
    job = PretrainJob(**raw)
    base = path.resolve().parent

    def fix(p: str) -> str:
        return str((base / p).resolve()) if p.startswith(("./", "../")) else p

    data = job.data.model_copy(update={"prefixes": [fix(p) for p in job.data.prefixes]})
    return job.model_copy(update={"data": data, "checkpoint_dir": fix(job.checkpoint_dir)})
