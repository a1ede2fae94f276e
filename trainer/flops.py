"""Model FLOPs for MFU: matmul FLOPs of MLA, the active experts and the head, per the actual masks.

Counted per token, forward = 2 x multiply-adds; a training step is 3 x forward (activation
recomputation is *not* counted, as MFU convention requires). Attention score/value products use the
real number of keys each query sees under the document-causal mask, not ``T/2``.
"""

from __future__ import annotations

import torch

from trainer.config import ModelConfig

#: Dense bf16 tensor-core peaks (FLOP/s) by device-name fragment, most specific first.
PEAK_BF16 = (
    ("H100 PCIe", 756e12),
    ("H100", 989e12),
    ("H200", 989e12),
    ("GH200", 989e12),
    ("A100", 312e12),
    ("L40S", 362e12),
)


def linear_flops_per_token(cfg: ModelConfig) -> dict[str, float]:
    """Forward matmul FLOPs per token outside the attention core, split by component."""
    d, h = cfg.hidden_size, cfg.num_heads
    attn = 2 * (
        d * cfg.q_lora_rank
        + cfg.q_lora_rank * h * cfg.qk_head_dim
        + d * (cfg.kv_lora_rank + cfg.qk_rope_head_dim)
        + cfg.kv_lora_rank * h * (cfg.qk_nope_head_dim + cfg.v_head_dim)
        + h * cfg.v_head_dim * d
    )
    dense = 2 * 3 * d * cfg.intermediate_size
    experts = 2 * 3 * d * cfg.moe_intermediate_size * cfg.num_experts_per_tok
    shared = 2 * 3 * d * cfg.moe_intermediate_size * cfg.n_shared_experts
    router = 2 * d * cfg.n_routed_experts
    n_moe = cfg.num_moe_layers
    return {
        "attn_proj": float(attn * cfg.num_layers),
        "dense_mlp": float(dense * cfg.first_k_dense),
        "routed_experts": float(experts * n_moe),
        "shared_experts": float(shared * n_moe),
        "router": float(router * n_moe),
        "lm_head": float(2 * d * cfg.vocab_size),
    }


def attention_pairs(segment_ids: torch.Tensor) -> int:
    """Number of (query, key) pairs the document-causal mask allows, summed over the batch."""
    seg = segment_ids.to(torch.int64)
    change = torch.ones_like(seg, dtype=torch.bool)
    change[:, 1:] = seg[:, 1:] != seg[:, :-1]
    # Lengths of runs of equal ids: each run contributes L (L + 1) / 2 pairs.
    flat_change = change.flatten()
    starts = torch.nonzero(flat_change).flatten()
    ends = torch.cat((starts[1:], torch.tensor([seg.numel()], device=seg.device)))
    lengths = (ends - starts).to(torch.float64)
    return int((lengths * (lengths + 1) / 2).sum().item())


def step_flops(cfg: ModelConfig, tokens: int, pairs: int) -> float:
    """Training FLOPs of one step over ``tokens`` tokens with ``pairs`` attended (query, key) pairs."""
    fwd = tokens * sum(linear_flops_per_token(cfg).values())
    fwd += 2 * pairs * cfg.num_heads * (cfg.qk_head_dim + cfg.v_head_dim) * cfg.num_layers
    return 3.0 * fwd


def peak_flops(device: torch.device, override_tflops: float | None = None) -> float | None:
    """Peak dense bf16 FLOP/s of ``device`` (None when unknown, e.g. CPU)."""
    if override_tflops:
        return override_tflops * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for fragment, peak in PEAK_BF16:
        if fragment in name:
            return peak
    return None
