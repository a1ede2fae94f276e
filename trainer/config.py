"""Model configuration for the A.X K1 architecture and its scaled-down proxies.

The full model is DeepSeek-V3's layout (MLA attention, one dense layer, then fine-grained MoE with a
shared expert and aux-loss-free routing) plus one change: an RMSNorm on the MLP output of every MoE
layer before it joins the residual stream. Proxies keep every mechanism and shrink the widths.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from core.config import StrictConfig


class ModelConfig(StrictConfig):
    """Every size and constant of the network; defaults are the released A.X K1 values."""

    vocab_size: int = 163_840
    hidden_size: int = 7168
    num_layers: int = 61
    #: Leading layers with a dense SwiGLU MLP instead of MoE.
    first_k_dense: int = 1
    intermediate_size: int = 18_432
    # Multi-head Latent Attention.
    num_heads: int = 64
    q_lora_rank: int = 1536
    kv_lora_rank: int = 512
    qk_nope_head_dim: int = 128
    qk_rope_head_dim: int = 64
    v_head_dim: int = 128
    rope_theta: float = 10_000.0
    max_seq_len: int = 32_768
    # Mixture of experts.
    n_routed_experts: int = 192
    n_shared_experts: int = 1
    moe_intermediate_size: int = 2048
    num_experts_per_tok: int = 8
    n_group: int = 8
    topk_group: int = 4
    routed_scaling_factor: float = 2.5
    #: Sequence-wise balance loss weight (DeepSeek-V3 alpha).
    aux_loss_alpha: float = 1e-4
    rms_norm_eps: float = 1e-6
    initializer_range: float = 0.02
    #: The released checkpoints store a post-MLP norm weight on dense layers too; the forward pass
    #: never applies it there. Keeping it makes parameter counts and state-dict layouts match.
    dense_post_mlp_norm_weight: bool = True
    bos_token_id: int = 163_691
    eos_token_id: int = 163_691

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        if self.n_routed_experts % self.n_group:
            raise ValueError("n_routed_experts must divide into n_group groups")
        per_group = self.n_routed_experts // self.n_group
        if per_group < 2:
            raise ValueError("group scores take each group's top 2 experts: need >= 2 experts per group")
        if not 1 <= self.topk_group <= self.n_group:
            raise ValueError("topk_group must be in [1, n_group]")
        if self.num_experts_per_tok > self.topk_group * per_group:
            raise ValueError("num_experts_per_tok exceeds the experts available in topk_group groups")
        if self.qk_rope_head_dim % 2:
            raise ValueError("qk_rope_head_dim must be even")
        if not 0 <= self.first_k_dense <= self.num_layers:
            raise ValueError("first_k_dense must be in [0, num_layers]")
        return self

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    def is_moe_layer(self, layer_idx: int) -> bool:
        return layer_idx >= self.first_k_dense

    @property
    def num_moe_layers(self) -> int:
        return self.num_layers - self.first_k_dense


_FULL: dict[str, Any] = {}

#: Named configurations. ``axk1-full`` is the released model; the others are proxies that keep every
#: mechanism (MLA, dense layer 0, grouped routing, shared expert, post-MLP norm) at a smaller width.
PRESETS: dict[str, dict[str, Any]] = {
    "axk1-full": _FULL,
    # CPU tests: a few layers, 8 experts in 2 groups, top-2.
    "axk1-tiny": dict(
        vocab_size=512, hidden_size=64, num_layers=3, intermediate_size=128, num_heads=4,
        q_lora_rank=32, kv_lora_rank=16, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
        n_routed_experts=8, moe_intermediate_size=32, num_experts_per_tok=2, n_group=2, topk_group=1,
        max_seq_len=1024,
    ),
    # CPU benchmark proxy: bigger than tiny, still seconds per step on two cores.
    "axk1-small": dict(
        vocab_size=8192, hidden_size=256, num_layers=4, intermediate_size=768, num_heads=4,
        q_lora_rank=96, kv_lora_rank=64, qk_nope_head_dim=32, qk_rope_head_dim=16, v_head_dim=32,
        n_routed_experts=32, moe_intermediate_size=128, num_experts_per_tok=4, n_group=4, topk_group=2,
        max_seq_len=4096,
    ),
    # One-H100 proxy, ~2.3 B total / ~0.8 B active: full vocab and head dims, narrower and shallower.
    "axk1-2b": dict(
        hidden_size=1536, num_layers=12, intermediate_size=4096, num_heads=12,
        q_lora_rank=512, kv_lora_rank=256, n_routed_experts=64, moe_intermediate_size=512,
        num_experts_per_tok=8, n_group=8, topk_group=4, max_seq_len=8192,
    ),
    # One-H100 proxy, ~3.9 B total / ~1.1 B active.
    "axk1-4b": dict(
        hidden_size=2048, num_layers=12, intermediate_size=5632, num_heads=16,
        q_lora_rank=768, kv_lora_rank=384, n_routed_experts=88, moe_intermediate_size=512,
        num_experts_per_tok=8, n_group=8, topk_group=4, max_seq_len=8192,
    ),
}


def get_config(preset: str, overrides: dict[str, Any] | None = None) -> ModelConfig:
    """Return the named preset with ``overrides`` applied (validated)."""
    if preset not in PRESETS:
        raise KeyError(f"unknown model preset {preset!r}; known: {sorted(PRESETS)}")
    return ModelConfig(**{**PRESETS[preset], **(overrides or {})})


AttnImpl = Literal["auto", "sdpa", "flex"]
ExpertImpl = Literal["auto", "grouped_mm", "bmm", "loop"]
