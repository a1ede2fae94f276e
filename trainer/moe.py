"""Mixture of experts: group-limited sigmoid router, grouped-GEMM experts, shared expert, post-norm.

Routing (per token, fp32): ``s = sigmoid(x W_r^T)``; experts are *chosen* on ``s + b`` where ``b`` is
a per-expert bias nudged outside the gradient towards balanced load (aux-loss-free balancing).
Groups: experts split into ``n_group`` groups, a group scores the sum of its top-2 biased scores,
only the best ``topk_group`` groups stay eligible. Gates come from the *unbiased* scores of the
chosen experts, renormalised to sum 1, times ``routed_scaling_factor``.

Expert compute: the ``N*k`` (token, expert) pairs are sorted by expert (one stable argsort), each
expert's rows form one group of a grouped GEMM (``torch._grouped_mm`` with cumulative offsets), and
an inverse permutation brings results back. No Python loop runs over experts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.config import ExpertImpl, ModelConfig
from trainer.layers import RMSNorm, SwiGLU


class Router(nn.Module):
    """Sigmoid top-k router with group limiting and a selection-only bias."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_experts = cfg.n_routed_experts
        self.top_k = cfg.num_experts_per_tok
        self.n_group = cfg.n_group
        self.topk_group = cfg.topk_group
        self.scale = cfg.routed_scaling_factor
        self.weight = nn.Parameter(torch.empty(cfg.n_routed_experts, cfg.hidden_size, dtype=torch.float32))
        #: Aux-loss-free balancing bias: only picks experts, never weights them, never gets gradient.
        self.register_buffer("e_score_correction_bias", torch.zeros(cfg.n_routed_experts, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x`` ``[N, D]`` -> (gates fp32 ``[N, k]``, expert ids ``[N, k]``, scores fp32 ``[N, E]``)."""
        with torch.autocast(x.device.type, enabled=False):
            scores = F.linear(x.float(), self.weight.float()).sigmoid()
        n = scores.shape[0]
        biased = scores.detach() + self.e_score_correction_bias
        per_group = self.n_experts // self.n_group
        group_score = biased.view(n, self.n_group, per_group).topk(2, dim=-1).values.sum(-1)
        keep_groups = group_score.topk(self.topk_group, dim=-1).indices
        group_mask = torch.zeros_like(group_score, dtype=torch.bool).scatter_(1, keep_groups, True)
        expert_mask = group_mask.unsqueeze(-1).expand(n, self.n_group, per_group).reshape(n, self.n_experts)
        idx = biased.masked_fill(~expert_mask, float("-inf")).topk(self.top_k, dim=-1).indices
        gates = scores.gather(1, idx)
        gates = gates / (gates.sum(-1, keepdim=True) + 1e-20) * self.scale
        return gates, idx, scores


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the incoming gradient contiguous (the CPU grouped GEMM needs it)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return grad.contiguous()


def _grouped_mm_op():
    """The public ``F.grouped_mm`` (torch >= 2.10) or the private op it wraps."""
    return getattr(F, "grouped_mm", None) or getattr(torch, "_grouped_mm", None)


def grouped_mm(x: torch.Tensor, w: torch.Tensor, offs: torch.Tensor) -> torch.Tensor:
    """Rows ``offs[g-1]:offs[g]`` of ``x`` ``[M, K]`` times ``w[g]`` ``[K, N]`` -> ``[M, N]``."""
    return _ContiguousGrad.apply(_grouped_mm_op()(x, w, offs=offs))


#: First torch releases with the grouped GEMM used here: CUDA (sm80+) and the CPU kernel.
GROUPED_MM_MIN_TORCH = {"cuda": (2, 9), "cpu": (2, 10)}


def _torch_version() -> tuple[int, int]:
    major, minor = torch.__version__.split("+")[0].split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def grouped_mm_available(device: torch.device) -> bool:
    """CUTLASS grouped GEMM on sm80+ GPUs (torch >= 2.9), the CPU kernel from torch 2.10."""
    minimum = GROUPED_MM_MIN_TORCH.get(device.type)
    if minimum is None or _grouped_mm_op() is None or _torch_version() < minimum:
        return False
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    return True


class GroupedExperts(nn.Module):
    """``E`` SwiGLU experts stored as 3-D tensors (``[E, 2I, D]`` gate+up, ``[E, D, I]`` down)."""

    def __init__(self, cfg: ModelConfig, impl: ExpertImpl = "auto") -> None:
        super().__init__()
        self.n_experts = cfg.n_routed_experts
        self.inter = cfg.moe_intermediate_size
        self.impl = impl
        self.gate_up_proj = nn.Parameter(torch.empty(cfg.n_routed_experts, 2 * self.inter, cfg.hidden_size))
        self.down_proj = nn.Parameter(torch.empty(cfg.n_routed_experts, cfg.hidden_size, self.inter))

    def resolved_impl(self, device: torch.device) -> str:
        if self.impl != "auto":
            return self.impl
        return "grouped_mm" if grouped_mm_available(device) else "bmm"

    def forward(self, x: torch.Tensor, gates: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """``x`` ``[N, D]``, ``gates``/``idx`` ``[N, k]`` -> ``sum_j gates[:, j] * expert_idx[:, j](x)``.

        Token dispatch (sort the ``N*k`` pairs by expert), the experts' MLP on the sorted rows
        (:meth:`expert_mlp`, the step expert parallelism wraps with its all-to-all exchanges), then
        the combine (inverse permutation, gate-weighted sum over ``k``).
        """
        if self.resolved_impl(x.device) == "loop":
            return self.forward_loop(x, gates, idx)
        n, k = idx.shape
        flat = idx.reshape(-1)
        order = torch.argsort(flat, stable=True)
        counts = torch.zeros(self.n_experts, dtype=torch.int64, device=x.device)
        counts.scatter_add_(0, flat, torch.ones_like(flat))
        out = self.expert_mlp(x[order // k].to(_compute_dtype(x)), counts)
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(order.numel(), device=order.device)
        out = out[inverse].view(n, k, -1) * gates.to(out.dtype).unsqueeze(-1)
        return out.sum(1).to(x.dtype)

    def expert_mlp(self, rows: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """SwiGLU of every expert on ``rows`` sorted by expert (``counts[e]`` rows for expert ``e``)."""
        return expert_swiglu(rows, counts, self.gate_up_proj, self.down_proj, self.resolved_impl(rows.device))

    def forward_loop(self, x: torch.Tensor, gates: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Reference: one matmul pair per expert, in fp32 (for tests only)."""
        out = torch.zeros(x.shape, dtype=torch.float32, device=x.device)
        xf = x.float()
        for e in range(self.n_experts):
            tok, slot = torch.where(idx == e)
            if tok.numel() == 0:
                continue
            gate, up = (xf[tok] @ self.gate_up_proj[e].float().T).chunk(2, dim=-1)
            y = (F.silu(gate) * up) @ self.down_proj[e].float().T
            out.index_add_(0, tok, y * gates[tok, slot].unsqueeze(-1).float())
        return out.to(x.dtype)


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


def expert_swiglu(
    rows: torch.Tensor, counts: torch.Tensor, gate_up: torch.Tensor, down: torch.Tensor, impl: str,
    max_count: int | None = None,
) -> torch.Tensor:
    """``rows`` ``[M, D]`` sorted by expert, ``counts`` ``[E]`` rows per expert, weights ``[E, 2I, D]``
    and ``[E, D, I]`` -> ``down_e(silu(gate_e(r)) * up_e(r))`` per row, in ``rows``' dtype.

    ``max_count`` (the largest entry of ``counts``, when the caller already has it on the host) spares
    the padded ``bmm`` its device-to-host read of ``counts.max()``.
    """
    dtype = rows.dtype
    if impl == "grouped_mm" and dtype != torch.bfloat16 and torch.compiler.is_compiling():
        impl = "bmm"  # inductor lowers the grouped GEMM for bf16 only
    w_up = gate_up.to(dtype).transpose(-2, -1)
    w_down = down.to(dtype).transpose(-2, -1)
    if impl == "grouped_mm":
        offs = counts.cumsum(0).to(torch.int32)
        gate, up = grouped_mm(rows, w_up, offs).chunk(2, dim=-1)
        return grouped_mm(F.silu(gate) * up, w_down, offs)
    if impl == "bmm":
        return _padded_bmm(rows, counts, w_up, w_down, max_count)
    raise ValueError(f"unknown expert implementation {impl!r}")


def _padded_bmm(rows, counts, w_up, w_down, max_count: int | None) -> torch.Tensor:
    """Loop-free fallback: scatter rows into an ``[E, max_count, D]`` buffer and run two bmm's."""
    n_experts = counts.shape[0]
    expert_of_row = torch.repeat_interleave(
        torch.arange(n_experts, device=rows.device), counts, output_size=rows.shape[0]
    )
    starts = counts.cumsum(0) - counts
    slot = torch.arange(rows.shape[0], device=rows.device) - starts[expert_of_row]
    cap = int(counts.max()) if max_count is None else max_count
    buf = rows.new_zeros(n_experts, cap, rows.shape[-1]).index_put((expert_of_row, slot), rows)
    gate, up = torch.bmm(buf, w_up).chunk(2, dim=-1)
    act = (F.silu(gate) * up)[expert_of_row, slot]
    buf2 = act.new_zeros(n_experts, cap, act.shape[-1]).index_put((expert_of_row, slot), act)
    return torch.bmm(buf2, w_down)[expert_of_row, slot]


def sequence_aux_loss(scores: torch.Tensor, idx: torch.Tensor, batch: int, alpha: float) -> torch.Tensor:
    """DeepSeek-V3 sequence-wise balance loss, averaged over the rows of the batch.

    Per row: ``f_i = E / (k T) * #tokens routed to i``, ``P_i = mean_t s_ti / sum_j s_tj``;
    loss ``alpha * sum_i f_i P_i``. ``f`` carries no gradient.
    """
    n, n_exp = scores.shape
    k = idx.shape[1]
    t = n // batch
    with torch.no_grad():
        hits = torch.zeros(batch, n_exp, device=scores.device, dtype=torch.float32)
        hits.scatter_add_(1, idx.view(batch, t * k), torch.ones(batch, t * k, device=scores.device))
        f = hits * (n_exp / (k * t))
    p = (scores / scores.sum(-1, keepdim=True)).view(batch, t, n_exp).mean(1)
    return alpha * (f * p).sum(-1).mean()


class MoE(nn.Module):
    """Routed experts + shared expert, then A.X K1's post-MLP RMSNorm."""

    def __init__(self, cfg: ModelConfig, expert_impl: ExpertImpl = "auto") -> None:
        super().__init__()
        self.aux_alpha = cfg.aux_loss_alpha
        self.gate = Router(cfg)
        self.experts = GroupedExperts(cfg, expert_impl)
        self.shared_experts = SwiGLU(cfg.hidden_size, cfg.moe_intermediate_size * cfg.n_shared_experts)
        self.post_mlp_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x`` ``[B, T, D]`` -> (output, aux loss, tokens per expert ``[E]`` int64, no grad)."""
        b, t, d = x.shape
        flat = x.reshape(-1, d)
        gates, idx, scores = self.gate(flat)
        routed = self.experts(flat, gates, idx).view(b, t, d)
        aux = sequence_aux_loss(scores, idx, b, self.aux_alpha) if self.training and self.aux_alpha > 0 \
            else scores.new_zeros(())
        counts = torch.zeros(self.gate.n_experts, dtype=torch.int64, device=x.device)
        counts.scatter_add_(0, idx.reshape(-1), torch.ones_like(idx.reshape(-1)))
        return self.post_mlp_layernorm(routed + self.shared_experts(x)), aux, counts.detach()


@torch.no_grad()
def update_router_bias(router: Router, counts: torch.Tensor, rate: float) -> None:
    """Aux-loss-free balancing: raise the bias of under-loaded experts, lower over-loaded ones."""
    load = counts.float()
    router.e_score_correction_bias.add_(rate * torch.sign(load.mean() - load))
