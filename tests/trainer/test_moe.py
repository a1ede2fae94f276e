"""MoE: grouped-GEMM experts vs a per-expert loop, router semantics, balancing bias, aux loss."""

from __future__ import annotations

import pytest
import torch

from trainer.config import get_config
from trainer.moe import MoE, Router, sequence_aux_loss, update_router_bias

CFG = get_config("axk1-tiny", {"n_routed_experts": 16, "n_group": 4, "topk_group": 2, "num_experts_per_tok": 4})


def _moe(seed: int = 0) -> MoE:
    torch.manual_seed(seed)
    moe = MoE(CFG)
    with torch.no_grad():
        for p in moe.parameters():
            p.normal_(0, 0.2)
        moe.post_mlp_layernorm.weight.fill_(1.0)
    return moe


def _routing(n: int, skew: bool, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, CFG.hidden_size, generator=g)
    if skew:  # most tokens to expert 3, several experts empty
        idx = torch.stack([torch.full((n,), 3), torch.randint(0, 6, (n,), generator=g) + 10,
                           torch.full((n,), 7), torch.full((n,), 9)], 1)
    else:
        idx = torch.stack([torch.randperm(CFG.n_routed_experts, generator=g)[:4] for _ in range(n)])
    gates = torch.rand(n, 4, generator=g)
    return x, gates, idx


@pytest.mark.parametrize("impl", ["grouped_mm", "bmm"])
@pytest.mark.parametrize("skew", [False, True])
def test_experts_match_loop_reference_fp32(impl, skew):
    if impl == "grouped_mm" and not hasattr(torch, "_grouped_mm"):
        pytest.skip("torch._grouped_mm not in this torch")
    experts = _moe().experts
    x, gates, idx = _routing(37, skew)
    xs = [x.clone().requires_grad_(), x.clone().requires_grad_()]
    gs = [gates.clone().requires_grad_(), gates.clone().requires_grad_()]
    experts.impl = impl
    fast = experts(xs[0], gs[0], idx)
    ref = experts.forward_loop(xs[1], gs[1], idx)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)
    probe = torch.randn_like(ref)
    (grad_fast,) = torch.autograd.grad((fast * probe).sum(), [experts.gate_up_proj], retain_graph=True)
    (grad_ref,) = torch.autograd.grad((ref * probe).sum(), [experts.gate_up_proj], retain_graph=True)
    torch.testing.assert_close(grad_fast, grad_ref, atol=1e-4, rtol=1e-4)
    # A non-contiguous incoming gradient (sum() expands) must also work.
    fast.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(xs[0].grad, xs[1].grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(gs[0].grad, gs[1].grad, atol=1e-4, rtol=1e-4)


def test_grouped_mm_bf16_autocast_close_to_fp32_loop():
    if not hasattr(torch, "_grouped_mm"):
        pytest.skip("torch._grouped_mm not in this torch")
    experts = _moe().experts
    experts.impl = "grouped_mm"
    x, gates, idx = _routing(64, False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast = experts(x, gates, idx)
    ref = experts.forward_loop(x, gates, idx)
    assert fast.dtype == torch.float32
    # bf16 inputs and weights: ~3 significant digits.
    assert ((fast - ref).norm() / ref.norm()) < 2e-2


def _router_reference(router: Router, x: torch.Tensor):
    """Plain per-token loops over groups and experts, written from the routing description."""
    e, k = router.n_experts, router.top_k
    per = e // router.n_group
    scores = torch.sigmoid(x.double() @ router.weight.double().T)
    bias = router.e_score_correction_bias.double()
    out_idx, out_gate = [], []
    for s in scores:
        biased = s + bias
        group_scores = [sorted(biased[g * per:(g + 1) * per].tolist())[-2:] for g in range(router.n_group)]
        group_scores = [sum(v) for v in group_scores]
        groups = sorted(range(router.n_group), key=lambda g: -group_scores[g])[: router.topk_group]
        allowed = [i for g in groups for i in range(g * per, (g + 1) * per)]
        chosen = sorted(allowed, key=lambda i: -biased[i].item())[:k]
        gate = s[chosen] / s[chosen].sum() * router.scale
        order = sorted(range(k), key=lambda j: chosen[j])
        out_idx.append([chosen[j] for j in order])
        out_gate.append([gate[j].item() for j in order])
    return torch.tensor(out_idx), torch.tensor(out_gate, dtype=torch.float64)


def test_router_matches_plain_reference_with_bias():
    moe = _moe(1)
    router = moe.gate
    with torch.no_grad():
        router.e_score_correction_bias.normal_(0, 0.3)
    x = torch.randn(50, CFG.hidden_size)
    gates, idx, _ = router(x)
    order = idx.argsort(1)
    ref_idx, ref_gate = _router_reference(router, x)
    assert torch.equal(idx.gather(1, order), ref_idx)
    torch.testing.assert_close(gates.gather(1, order).double(), ref_gate.double(), atol=1e-6, rtol=1e-6)
    assert gates.dtype == torch.float32
    torch.testing.assert_close(gates.sum(1), torch.full((50,), CFG.routed_scaling_factor))


def test_bias_only_selects_and_update_balances():
    router = _moe(2).gate
    x = torch.randn(200, CFG.hidden_size)
    gates0, idx0, scores = router(x)
    with torch.no_grad():
        router.e_score_correction_bias[5] = 10.0  # force expert 5 whenever its group survives
    gates1, idx1, _ = router(x)
    assert (idx1 == 5).any(1).all()
    # Gates still come from unbiased scores, renormalised over the chosen experts.
    picked = scores.gather(1, idx1)
    torch.testing.assert_close(gates1, picked / picked.sum(1, keepdim=True) * CFG.routed_scaling_factor)
    counts = torch.bincount(idx1.flatten(), minlength=CFG.n_routed_experts)
    before = router.e_score_correction_bias.clone()
    update_router_bias(router, counts, 1e-3)
    delta = router.e_score_correction_bias - before
    assert delta[5] < 0 and (delta[counts < counts.float().mean()] > 0).all()
    assert router.e_score_correction_bias.grad is None


def test_sequence_aux_loss_value_and_gradient():
    scores = torch.rand(2 * 6, 8, requires_grad=True)
    idx = torch.stack([torch.randperm(8)[:2] for _ in range(12)])
    loss = sequence_aux_loss(scores, idx, batch=2, alpha=0.5)
    expect = 0.0
    for b in range(2):
        rows = slice(b * 6, (b + 1) * 6)
        f = torch.bincount(idx[rows].flatten(), minlength=8).float() * 8 / (2 * 6)
        p = (scores[rows] / scores[rows].sum(1, keepdim=True)).mean(0)
        expect = expect + (f * p).sum() / 2
    torch.testing.assert_close(loss, 0.5 * expect)
    loss.backward()
    assert scores.grad.abs().sum() > 0


def test_moe_block_applies_shared_expert_and_post_norm():
    moe = _moe(3)
    moe.train()
    x = torch.randn(2, 5, CFG.hidden_size)
    out, aux, counts = moe(x)
    assert out.shape == x.shape and aux > 0
    assert int(counts.sum()) == 2 * 5 * CFG.num_experts_per_tok
    gates, idx, _ = moe.gate(x.view(-1, CFG.hidden_size))
    manual = moe.experts.forward_loop(x.view(-1, CFG.hidden_size), gates, idx).view_as(x) + moe.shared_experts(x)
    manual = manual * torch.rsqrt(manual.pow(2).mean(-1, keepdim=True) + CFG.rms_norm_eps)
    torch.testing.assert_close(out, manual, atol=1e-5, rtol=1e-5)
