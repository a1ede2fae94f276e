"""Multi-head Latent Attention with document masking.

Queries go through a low-rank bottleneck (``q_a`` -> RMSNorm -> ``q_b``); keys and values share a
compressed latent (``kv_a`` -> RMSNorm -> ``kv_b``) plus one rotary key shared by all heads. Training
expands the latent to per-head keys and values and calls a fused attention kernel:

* ``sdpa``: ``scaled_dot_product_attention`` with a boolean block-diagonal causal mask (or plain
  ``is_causal`` when every row holds one document);
* ``flex``: ``flex_attention`` with a ``BlockMask`` built from the segment ids, compiled on GPU so
  fully masked blocks are skipped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from trainer.config import AttnImpl, ModelConfig
from trainer.layers import RMSNorm, apply_rope, positions_from_segments, rope_cos_sin, rope_inv_freq

log = logging.getLogger(__name__)


@dataclass
class AttentionContext:
    """Per-batch attention inputs shared by every layer."""

    cos: torch.Tensor
    sin: torch.Tensor
    impl: str
    #: Boolean ``[B, 1, T, T]`` mask for ``sdpa``; None means plain causal.
    dense_mask: torch.Tensor | None = None
    #: ``BlockMask`` for ``flex``.
    block_mask: object | None = None


def resolve_attn_impl(impl: AttnImpl, device: torch.device, qk_dim: int = 192, v_dim: int = 128) -> str:
    """``auto``: compiled flex attention on GPU when a one-time probe with these head dims runs
    (forward and backward), SDPA with a dense mask otherwise."""
    if impl == "auto":
        if device.type == "cuda" and _flex_probe(device.index or 0, qk_dim, v_dim):
            return "flex"
        return "sdpa"
    return impl


@cache
def _flex_probe(device_index: int, qk_dim: int, v_dim: int) -> bool:
    from torch.nn.attention.flex_attention import create_block_mask

    device = torch.device("cuda", device_index)
    try:
        q, k = (torch.randn(1, 2, 256, qk_dim, device=device, dtype=torch.bfloat16, requires_grad=True)
                for _ in range(2))
        v = torch.randn(1, 2, 256, v_dim, device=device, dtype=torch.bfloat16, requires_grad=True)
        seg = (torch.arange(256, device=device) // 100).unsqueeze(0)

        def doc_causal(b, h, qi, ki):
            return (qi >= ki) & (seg[b, qi] == seg[b, ki])

        mask = create_block_mask(doc_causal, 1, None, 256, 256, device=device)
        _compiled_flex()(q, k, v, block_mask=mask).sum().backward()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means: use SDPA
        log.warning("flex attention unavailable (%s: %s); using SDPA with a dense document mask",
                    type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
        return False


@cache
def _compiled_flex():
    from torch.nn.attention.flex_attention import flex_attention

    # torchtitan's setting: autotuned Triton block sizes for these head dims, no CUDA graphs.
    # AXK1_FLEX_COMPILE_MODE=default skips the autotuning (faster start, e.g. short benchmarks).
    mode = os.environ.get("AXK1_FLEX_COMPILE_MODE", "max-autotune-no-cudagraphs")
    return torch.compile(flex_attention, dynamic=False, mode=None if mode == "default" else mode)


def build_attention_context(
    segment_ids: torch.Tensor, inv_freq: torch.Tensor, impl: AttnImpl, head_dims: tuple[int, int] = (192, 128)
) -> AttentionContext:
    """Positions restart per document; attention never crosses a document boundary."""
    device = segment_ids.device
    impl = resolve_attn_impl(impl, device, *head_dims)
    cos, sin = rope_cos_sin(positions_from_segments(segment_ids), inv_freq.to(device))
    b, t = segment_ids.shape
    if impl == "flex":
        from torch.nn.attention.flex_attention import create_block_mask

        seg = segment_ids

        def doc_causal(bi, hi, qi, ki):
            return (qi >= ki) & (seg[bi, qi] == seg[bi, ki])

        block_mask = create_block_mask(
            doc_causal, b, None, t, t, device=device, _compile=device.type == "cuda"
        )
        return AttentionContext(cos, sin, impl, block_mask=block_mask)
    if impl != "sdpa":
        raise ValueError(f"unknown attention implementation {impl!r}")
    # The one-document shortcut (plain causal) is decided only for ids on the CPU: on a GPU the
    # check would be a device-to-host sync every step, so the dense mask is used unconditionally.
    if segment_ids.device.type == "cpu" and bool((segment_ids == segment_ids[:, :1]).all()):
        return AttentionContext(cos, sin, impl)
    causal = torch.ones(t, t, dtype=torch.bool, device=device).tril()
    same_doc = segment_ids[:, :, None] == segment_ids[:, None, :]
    return AttentionContext(cos, sin, impl, dense_mask=(same_doc & causal).unsqueeze(1))


class MLAttention(nn.Module):
    """Multi-head Latent Attention (training form: latents expanded to per-head K/V)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.num_heads = cfg.num_heads
        self.nope = cfg.qk_nope_head_dim
        self.rope = cfg.qk_rope_head_dim
        self.v_dim = cfg.v_head_dim
        self.kv_rank = cfg.kv_lora_rank
        self.scale = cfg.qk_head_dim**-0.5
        h = cfg.num_heads
        self.q_a_proj = nn.Linear(cfg.hidden_size, cfg.q_lora_rank, bias=False)
        self.q_a_layernorm = RMSNorm(cfg.q_lora_rank, cfg.rms_norm_eps)
        self.q_b_proj = nn.Linear(cfg.q_lora_rank, h * cfg.qk_head_dim, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(cfg.hidden_size, cfg.kv_lora_rank + cfg.qk_rope_head_dim, bias=False)
        self.kv_a_layernorm = RMSNorm(cfg.kv_lora_rank, cfg.rms_norm_eps)
        self.kv_b_proj = nn.Linear(cfg.kv_lora_rank, h * (cfg.qk_nope_head_dim + cfg.v_head_dim), bias=False)
        self.o_proj = nn.Linear(h * cfg.v_head_dim, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor, ctx: AttentionContext) -> torch.Tensor:
        b, t, _ = x.shape
        h = self.num_heads
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))).view(b, t, h, -1).transpose(1, 2)
        q_nope, q_rot = q.split([self.nope, self.rope], dim=-1)
        latent, k_rot = self.kv_a_proj_with_mqa(x).split([self.kv_rank, self.rope], dim=-1)
        kv = self.kv_b_proj(self.kv_a_layernorm(latent)).view(b, t, h, -1).transpose(1, 2)
        k_nope, v = kv.split([self.nope, self.v_dim], dim=-1)
        q_rot = apply_rope(q_rot, ctx.cos, ctx.sin)
        k_rot = apply_rope(k_rot.unsqueeze(1), ctx.cos, ctx.sin).expand(b, h, t, self.rope)
        q = torch.cat((q_nope, q_rot), dim=-1)
        k = torch.cat((k_nope, k_rot), dim=-1)
        if ctx.impl == "flex":
            attn = _compiled_flex() if x.is_cuda else _eager_flex()
            out = attn(q, k, v, block_mask=ctx.block_mask, scale=self.scale)
        elif ctx.dense_mask is None:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=ctx.dense_mask, scale=self.scale)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, h * self.v_dim))


def _eager_flex():
    from torch.nn.attention.flex_attention import flex_attention

    return flex_attention


def default_inv_freq(cfg: ModelConfig, device: torch.device | None = None) -> torch.Tensor:
    return rope_inv_freq(cfg.qk_rope_head_dim, cfg.rope_theta, device)
