"""The A.X K1 model: parameter counts, parity with Hugging Face ``axk1``, document masking."""

from __future__ import annotations

import pytest
import torch

from trainer.config import PRESETS, get_config
from trainer.layers import positions_from_segments
from trainer.model import build_model, count_parameters

# fp32 forward on CPU: the two implementations differ only in the order of float operations.
HF_ATOL = 1e-5


def test_full_model_counts_on_meta_device():
    cfg = get_config("axk1-full")
    model = build_model(cfg, "meta")
    total, active = count_parameters(model, cfg)
    assert total == 518_983_059_456
    assert round(active / 1e9, 1) == 32.8
    assert all(p.is_meta for p in model.parameters())
    assert sum(1 for layer in model.layers if layer.is_moe) == 60
    assert model.layers[1].mlp.experts.gate_up_proj.shape == (192, 4096, 7168)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_build_on_meta(preset):
    cfg = get_config(preset)
    total, active = count_parameters(build_model(cfg, "meta"), cfg)
    assert 0 < active < total
    if preset in ("axk1-2b", "axk1-4b"):
        assert 1e9 <= total <= 4.5e9


def test_config_rejects_bad_routing():
    with pytest.raises(ValueError):
        get_config("axk1-tiny", {"n_group": 3})
    with pytest.raises(ValueError):
        get_config("axk1-tiny", {"num_experts_per_tok": 5, "topk_group": 1})
    with pytest.raises(ValueError):
        get_config("axk1-tiny", {"not_a_field": 1})


def test_positions_restart_per_document():
    seg = torch.tensor([[0, 0, 0, 1, 1, 2], [0, 0, 0, 0, 0, 0]])
    assert positions_from_segments(seg).tolist() == [[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 5]]


@pytest.fixture(scope="module")
def tiny_pair():
    """Our tiny model (non-zero balancing biases) and HF's ``axk1`` loaded with the same weights."""
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "AXK1ForCausalLM"):
        pytest.skip("installed transformers has no axk1 model")
    from trainer.hf_compat import hf_config_kwargs, to_hf_state_dict

    cfg = get_config("axk1-tiny", {"initializer_range": 0.1})
    ours = build_model(cfg, seed=3).eval()
    with torch.no_grad():
        for router in ours.routers():
            router.e_score_correction_bias.normal_(0, 0.05)
    hf_cfg = transformers.AXK1Config(**hf_config_kwargs(cfg))
    hf_cfg._attn_implementation = "eager"
    hf = transformers.AXK1ForCausalLM(hf_cfg).eval()
    missing, unexpected = hf.load_state_dict(to_hf_state_dict(ours), strict=False)
    assert missing == []
    assert unexpected == ["model.layers.0.mlp.post_mlp_layernorm.weight"]  # stored, unused on dense layers
    return cfg, ours, hf


def test_logits_match_huggingface(tiny_pair):
    cfg, ours, hf = tiny_pair
    ids = torch.randint(0, cfg.vocab_size, (2, 40), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = ours(ids).logits
        b = hf(input_ids=ids).logits
    assert a.abs().max() > 0.1  # non-trivial logits
    torch.testing.assert_close(a, b, atol=HF_ATOL, rtol=0)


def test_packed_documents_match_separate_huggingface_runs(tiny_pair):
    """A packed row with segment ids == each document run alone (mask and positions restart)."""
    cfg, ours, hf = tiny_pair
    ids = torch.randint(0, cfg.vocab_size, (1, 48), generator=torch.Generator().manual_seed(1))
    bounds = [0, 13, 14, 40, 48]
    seg = torch.zeros(1, 48, dtype=torch.int32)
    for d, (s, e) in enumerate(zip(bounds[:-1], bounds[1:])):
        seg[:, s:e] = d
    with torch.no_grad():
        packed = ours(ids, seg).logits
        alone = torch.cat([hf(input_ids=ids[:, s:e]).logits for s, e in zip(bounds[:-1], bounds[1:])], dim=1)
    torch.testing.assert_close(packed, alone, atol=HF_ATOL, rtol=0)


@pytest.mark.parametrize("attn_impl", ["sdpa", "flex"])
def test_attention_kernels_agree_and_respect_boundaries(attn_impl):
    cfg = get_config("axk1-tiny")
    model = build_model(cfg, seed=0, attn_impl=attn_impl).eval()
    ids = torch.randint(0, cfg.vocab_size, (2, 32), generator=torch.Generator().manual_seed(2))
    seg = torch.tensor([[0] * 20 + [1] * 12, [0] * 5 + [1] * 5 + [2] * 22], dtype=torch.int32)
    with torch.no_grad():
        base = model(ids, seg).logits
        changed = ids.clone()
        changed[0, :20] = (changed[0, :20] + 1) % cfg.vocab_size  # edit document 0 of row 0
        after = model(changed, seg).logits
    # Document 1 of row 0 cannot see document 0; row 1 is untouched.
    torch.testing.assert_close(after[0, 20:], base[0, 20:], atol=1e-5, rtol=0)
    assert not torch.allclose(after[0, :20], base[0, :20])
    ref = build_model(cfg, seed=0, attn_impl="sdpa").eval()
    with torch.no_grad():
        torch.testing.assert_close(ref(ids, seg).logits, base, atol=1e-5, rtol=0)


def test_bf16_autocast_step_keeps_fp32_master_and_router():
    """The single-GPU precision recipe, run on CPU: bf16 matmuls, fp32 params, router and loss."""
    cfg = get_config("axk1-tiny", {"initializer_range": 0.1})
    model = build_model(cfg, seed=0, expert_impl="grouped_mm")
    ids = torch.randint(0, cfg.vocab_size, (2, 33), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ref = model(ids[:, :-1], labels=ids[:, 1:]).loss
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(ids[:, :-1], labels=ids[:, 1:])
    (out.loss + out.aux_loss).backward()
    assert out.loss.dtype == torch.float32
    assert abs(out.loss.item() - ref.item()) < 0.05 * ref.item()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    router = model.routers()[0]
    assert router.weight.grad is not None and router.weight.grad.dtype == torch.float32
    assert model.layers[1].mlp.experts.gate_up_proj.grad.abs().sum() > 0


def test_params_report():
    from trainer.params import describe

    d = describe("axk1-full")
    assert d["total"] == 518_983_059_456
    assert 60 < d["fwd_gflops_per_token"] < 70  # ~2 x 32.8 B active minus the embedding lookup
