"""The ``parallel:`` section of a pretraining job: data- and expert-parallel shape, checked early."""

from __future__ import annotations

from pydantic import model_validator

from core.stage import StageConfig
from trainer.config import ModelConfig


class ParallelSection(StageConfig):
    """How ranks split the work. Every rank is a data-parallel rank (``dp`` = world size): dense
    parameters are FSDP-sharded over all of them. ``ep`` further splits the routed experts: rank
    ``r`` holds experts of ep-group position ``r % ep`` and the ``world / ep`` ranks holding the same
    experts ("efsdp") FSDP-shard them among themselves."""

    #: Data-parallel degree; ``None`` takes the world size (the only shape without TP/PP/CP).
    dp: int | None = None
    #: Expert-parallel degree: must divide the world size and the number of routed experts.
    ep: int = 1
    #: Gradient accumulation without a reduce-scatter on every micro-batch: gradients stay unsharded
    #: (fp32) and are reduce-scattered once, on the last micro-batch. Costs the unsharded gradient
    #: memory of every FSDP unit (see ``axk1 model-info --plan``); off for the full model.
    defer_grad_sync: bool = True

    @model_validator(mode="after")
    def _check(self) -> ParallelSection:
        if self.ep < 1:
            raise ValueError(f"parallel.ep must be >= 1, got {self.ep}")
        if self.dp is not None and self.dp < 1:
            raise ValueError(f"parallel.dp must be >= 1, got {self.dp}")
        return self

    def check(self, world: int, cfg: ModelConfig) -> None:
        """Refuse shapes that do not fit ``world`` ranks or the model, naming the numbers."""
        if self.dp is not None and self.dp != world:
            raise ValueError(
                f"parallel.dp={self.dp} but the job runs on {world} ranks: every rank is a data-parallel "
                "rank (there is no tensor, pipeline or context parallelism), so dp must equal the world "
                "size (or be left out)"
            )
        if world % self.ep:
            raise ValueError(f"parallel.ep={self.ep} must divide the world size {world}")
        if cfg.n_routed_experts % self.ep:
            raise ValueError(
                f"parallel.ep={self.ep} must divide the number of routed experts {cfg.n_routed_experts}"
            )
        if self.ep > 1 and cfg.num_moe_layers == 0:
            raise ValueError("parallel.ep > 1 needs a model with MoE layers")
