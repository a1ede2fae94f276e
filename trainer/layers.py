"""Small building blocks: RMSNorm, SwiGLU MLP, rotary embeddings and per-document positions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    """Root-mean-square norm computed in fp32; the weight multiplies the result in the input dtype."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(dim))

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(dtype)


class SwiGLU(nn.Module):
    """``down(silu(gate(x)) * up(x))`` without biases."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def positions_from_segments(segment_ids: torch.Tensor) -> torch.Tensor:
    """Position of each token inside its document: restarts at 0 wherever ``segment_ids`` changes.

    ``segment_ids`` is ``[B, T]``; returns int64 ``[B, T]``.
    """
    b, t = segment_ids.shape
    idx = torch.arange(t, device=segment_ids.device).expand(b, t)
    starts = torch.zeros_like(idx)
    starts[:, 1:] = torch.where(segment_ids[:, 1:] != segment_ids[:, :-1], idx[:, 1:], 0)
    return idx - torch.cummax(starts, dim=1).values


def rope_inv_freq(dim: int, theta: float, device: torch.device | None = None) -> torch.Tensor:
    return 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32, device=device) / dim))


def rope_cos_sin(positions: torch.Tensor, inv_freq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Angles for each (position, frequency) pair: ``[B, T, dim/2]`` cos and sin in fp32."""
    angles = positions.unsqueeze(-1).float() * inv_freq
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate adjacent pairs ``(x[2i], x[2i+1])`` by angle ``i`` (DeepSeek's interleaved layout).

    ``x`` is ``[B, H, T, dim]`` and ``cos``/``sin`` are ``[B, T, dim/2]``. The result lists the rotated
    even members then the rotated odd members; queries and keys share that order, so their dot
    products equal those of the pairwise rotation.
    """
    c = cos.unsqueeze(1).to(x.dtype)
    s = sin.unsqueeze(1).to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.cat((even * c - odd * s, odd * c + even * s), dim=-1)
