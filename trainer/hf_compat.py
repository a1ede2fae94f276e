"""Export to the Hugging Face ``axk1`` layout (config and state dict) for evaluation and serving."""

from __future__ import annotations

from typing import Any

import torch

from trainer.config import ModelConfig
from trainer.model import AXK1ForCausalLM


def hf_config_kwargs(cfg: ModelConfig) -> dict[str, Any]:
    """Keyword arguments for ``transformers.AXK1Config`` describing the same network."""
    return dict(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        moe_intermediate_size=cfg.moe_intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        n_shared_experts=cfg.n_shared_experts,
        n_routed_experts=cfg.n_routed_experts,
        routed_scaling_factor=cfg.routed_scaling_factor,
        kv_lora_rank=cfg.kv_lora_rank,
        q_lora_rank=cfg.q_lora_rank,
        qk_rope_head_dim=cfg.qk_rope_head_dim,
        v_head_dim=cfg.v_head_dim,
        qk_nope_head_dim=cfg.qk_nope_head_dim,
        n_group=cfg.n_group,
        topk_group=cfg.topk_group,
        num_experts_per_tok=cfg.num_experts_per_tok,
        norm_topk_prob=True,
        rms_norm_eps=cfg.rms_norm_eps,
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_theta},
        rope_interleave=True,
        max_position_embeddings=cfg.max_seq_len,
        mlp_layer_types=["sparse" if cfg.is_moe_layer(i) else "dense" for i in range(cfg.num_layers)],
        bos_token_id=cfg.bos_token_id if cfg.bos_token_id < cfg.vocab_size else None,
        eos_token_id=cfg.eos_token_id if cfg.eos_token_id < cfg.vocab_size else None,
        tie_word_embeddings=False,
    )


def to_hf_state_dict(model: AXK1ForCausalLM) -> dict[str, torch.Tensor]:
    """Our state dict renamed to the ``axk1`` checkpoint names (``model.`` prefix, untied ``lm_head``).

    The stored-but-unused post-MLP norm of dense layers is written as ``mlp.post_mlp_layernorm``, as
    the released checkpoints do (the reference implementation ignores it on load).
    """
    out: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        if name.startswith("lm_head."):
            out[name] = tensor
        else:
            out["model." + name.replace("unused_post_mlp_layernorm", "mlp.post_mlp_layernorm")] = tensor
    return out
