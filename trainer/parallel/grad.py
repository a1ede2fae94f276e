"""Gradient-norm clipping over parameters sharded on several meshes (dense ``dp``, experts
``(efsdp, ep)``), where ``torch.nn.utils.clip_grad_norm_`` cannot stack the per-mesh norms."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.distributed as dist
from torch.distributed.tensor import DTensor


def _local_shard(g: torch.Tensor) -> torch.Tensor:
    if isinstance(g, DTensor):
        if any(p.is_replicate() or p.is_partial() for p in g.placements):
            raise ValueError(f"gradient placements {g.placements}: every element must live on one rank")
        return g.to_local()
    return g


@torch.no_grad()
def clip_grad_norm_sharded(params: Iterable[torch.nn.Parameter], max_norm: float) -> torch.Tensor:
    """Clip in place to a global L2 norm of ``max_norm``; return the norm before clipping (fp32).

    Each gradient element lives on exactly one rank (FSDP/EP ``Shard`` placements), so the squared
    norm is the sum over ranks of the local shards' squared norms: one all-reduce, no host sync.
    """
    grads = [_local_shard(p.grad) for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    norms = torch._foreach_norm([g for g in grads if g.numel()]) if any(g.numel() for g in grads) else []
    device = grads[0].device
    total = torch.stack([n.float() for n in norms]).pow(2).sum() if norms else torch.zeros((), device=device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    norm = total.sqrt()
    coef = (max_norm / (norm + 1e-6)).clamp(max=1.0)
    torch._foreach_mul_(grads, coef.to(grads[0].dtype))
    return norm
