"""Throughput pieces: chunked cross-entropy equals the plain one, the prefetching loader resumes at
the batches consumed, the grouped GEMM is refused on a torch without it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from trainer import moe
from trainer.config import get_config
from trainer.losses import chunked_cross_entropy
from trainer.model import build_model
from trainer.prefetch import PrefetchLoader
from trainer.synthetic import SyntheticLoader


def _head_inputs(n=37, d=24, v=101, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, d, generator=g, requires_grad=True)
    w = (torch.randn(v, d, generator=g) * 0.3).requires_grad_()
    labels = torch.randint(0, v, (n,), generator=g)
    labels[::5] = -100
    return h, w, labels


@pytest.mark.parametrize("chunk", [1, 8, 37, 1000])
def test_chunked_cross_entropy_equals_plain(chunk):
    h, w, labels = _head_inputs()
    plain = F.cross_entropy((h @ w.T).float(), labels, ignore_index=-100)
    gh, gw = torch.autograd.grad(plain * 3.0, [h, w])
    got = chunked_cross_entropy(h, w, labels, chunk)
    ch, cw = torch.autograd.grad(got * 3.0, [h, w])
    torch.testing.assert_close(got, plain, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ch, gh, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(cw, gw, rtol=1e-5, atol=1e-7)


def test_chunked_cross_entropy_bf16_autocast_matches_linear():
    h, w, labels = _head_inputs(n=64, d=32, v=128)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        plain = F.cross_entropy(F.linear(h, w).float(), labels, ignore_index=-100)
        got = chunked_cross_entropy(h, w, labels, 16)
    gh, gw = torch.autograd.grad(plain, [h, w])
    ch, cw = torch.autograd.grad(got, [h, w])
    assert cw.dtype == w.dtype and ch.dtype == h.dtype
    torch.testing.assert_close(got, plain, rtol=1e-3, atol=1e-3)
    assert (ch - gh).norm() / gh.norm() < 2e-2 and (cw - gw).norm() / gw.norm() < 2e-2


def test_model_loss_and_grads_same_with_and_without_chunks():
    cfg = get_config("axk1-tiny")
    batch = SyntheticLoader(cfg.vocab_size, 48, 2, seed=5).next_batch()
    results = []
    for chunk in (0, 20):
        model = build_model(cfg, "cpu", seed=0, loss_chunk_tokens=chunk)
        out = model(batch["tokens"][:, :-1], batch["segment_ids"], labels=batch["tokens"][:, 1:])
        out.loss.backward()
        results.append((out.loss.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}))
    (l0, g0), (l1, g1) = results
    torch.testing.assert_close(l1, l0, rtol=1e-6, atol=1e-6)
    assert g0.keys() == g1.keys()
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], rtol=1e-4, atol=1e-7, msg=name)


def test_prefetch_state_is_the_consumed_batches():
    base = SyntheticLoader(512, 16, 2, seed=1)
    loader = PrefetchLoader(base, depth=3)
    it = iter(loader)
    first = [next(it) for _ in range(4)]
    state = loader.state_dict()
    assert state["batches"] == 4  # not 4 + what the thread read ahead
    assert base.state_dict()["batches"] >= 4
    rest = [next(it) for _ in range(3)]
    loader.close()
    # A fresh loader resumed from the saved state yields exactly the batches that followed.
    again = PrefetchLoader(SyntheticLoader(512, 16, 2, seed=1), depth=2)
    again.load_state_dict(state)
    resumed = [next(again) for _ in range(3)]
    again.close()
    for a, b in zip(rest, resumed):
        assert torch.equal(a["tokens"], b["tokens"]) and torch.equal(a["segment_ids"], b["segment_ids"])
    reference = SyntheticLoader(512, 16, 2, seed=1)
    for got in first + rest:
        assert torch.equal(got["tokens"], reference.next_batch()["tokens"])
    # close() rewinds the wrapped loader to the consumed position.
    assert loader.loader.state_dict()["batches"] == 7


def test_prefetch_raises_loader_errors():
    class Broken:
        def __iter__(self):
            yield {"tokens": torch.zeros(1)}
            raise OSError("shard vanished")

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    it = iter(PrefetchLoader(Broken()))
    next(it)
    with pytest.raises(OSError, match="shard vanished"):
        next(it)


def test_grouped_mm_needs_a_recent_torch(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(torch, "__version__", "2.8.0+cpu")
    assert not moe.grouped_mm_available(cpu)
    monkeypatch.setattr(torch, "__version__", "2.13.0+cpu")
    assert moe.grouped_mm_available(cpu) == (moe._grouped_mm_op() is not None)
    assert not moe.grouped_mm_available(torch.device("meta"))


def test_padded_bmm_with_host_max_count_matches_grouped():
    g = torch.Generator().manual_seed(0)
    counts = torch.tensor([3, 0, 5, 1])
    rows = torch.randn(int(counts.sum()), 8, generator=g)
    gate_up, down = torch.randn(4, 16, 8, generator=g), torch.randn(4, 8, 8, generator=g)
    ref = moe.expert_swiglu(rows, counts, gate_up, down, "bmm")
    torch.testing.assert_close(moe.expert_swiglu(rows, counts, gate_up, down, "bmm", max_count=5), ref)
    if moe._grouped_mm_op() is not None:
        torch.testing.assert_close(moe.expert_swiglu(rows, counts, gate_up, down, "grouped_mm"), ref,
                                   rtol=1e-5, atol=1e-5)


def test_benchmark_dry_run_writes_results(tmp_path):
    import json

    from benchmarks.trainer import main as bench_main

    assert bench_main(["--dry-run", "--steps", "1", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "trainer_axk1-tiny_T128.json").read_text())["rows"]
    assert len(rows) == 3 and all(r["tokens_per_s"] > 0 for r in rows)
    assert (tmp_path / "trainer_axk1-tiny_T128.md").read_text().startswith("### Trainer step throughput")
