"""SFT mode of the trainer: masked labels from the SFT shards, and a short run of the tiny proxy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sft.build import build
from sft.config import load_sft_job
from tests.conftest import REPO
from trainer.job import PretrainJob
from trainer.model import build_model
from trainer.sft_data import IGNORE_INDEX, SFTLoader
from trainer.train import run_pretrain

SEQ = 512


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("sft_train")
    summary = build(load_sft_job(REPO / "jobs" / "sft_demo.yaml", {"output_dir": str(out)}))
    return out / "shards", summary["manifest"]


def _job(shards_dir, ckpt, steps=40) -> PretrainJob:
    return PretrainJob(**{
        "model": {"preset": "axk1-tiny", "overrides": {"vocab_size": 2048}},
        "data": {"kind": "sft", "prefixes": [str(shards_dir)]}, "seq_len": SEQ, "micro_batch": 4,
        "steps": steps, "schedule": {"kind": "constant", "lr": 3e-3, "warmup_steps": 2},
        "checkpoint_dir": str(ckpt), "checkpoint_interval": 1000, "log_interval": 10, "precision": "fp32"})


def test_loader_labels_follow_the_mask(shards):
    shard_dir, manifest = shards
    loader = SFTLoader([str(shard_dir)], SEQ, 4, seed=0, vocab_size=2048)
    assert len(loader) == manifest["rows"]
    seen_rows = set()
    for _ in range(len(loader) // 4 + 1):
        batch = loader.next_batch()
        tokens, labels, seg = batch["tokens"].numpy(), batch["labels"].numpy(), batch["segment_ids"].numpy()
        assert tokens.shape == (4, SEQ + 1) and labels.shape == seg.shape == (4, SEQ)
        trained = labels != IGNORE_INDEX
        assert np.array_equal(labels[trained], tokens[:, 1:][trained])
        assert 0 < trained.mean() < 1
        assert np.all(np.diff(seg, axis=1) >= 0)
        seen_rows.update(map(bytes, tokens))
    assert len(seen_rows) == len(loader)  # one epoch visits every row once
    assert loader.consumed_samples >= len(loader)
    total = sum(int((loader.sample(k)[1] != IGNORE_INDEX).sum()) for k in range(len(loader)))
    # every loss token of the shards is a label exactly once (a row's first token never is one)
    assert total == manifest["loss_tokens"]
    state = loader.state_dict()
    again = SFTLoader([str(shard_dir)], SEQ, 4, seed=0)
    again.load_state_dict(state)
    assert torch.equal(again.next_batch()["tokens"], loader.next_batch()["tokens"])


def test_loader_refuses_short_context_and_other_vocab(shards):
    shard_dir, _ = shards
    with pytest.raises(ValueError, match="seq_len"):
        SFTLoader([str(shard_dir)], 128, 1)
    with pytest.raises(ValueError, match="vocab size"):
        SFTLoader([str(shard_dir)], SEQ, 1, vocab_size=4096)


def test_training_step_uses_the_masked_loss(shards, tmp_path):
    shard_dir, _ = shards
    job = _job(shard_dir, tmp_path / "ckpt", steps=1)
    first = SFTLoader([str(shard_dir)], SEQ, 4, seed=0).next_batch()
    torch.manual_seed(0)
    model = build_model(job.model.build_config(), torch.device("cpu"), seed=0, attn_impl="auto", expert_impl="auto")
    with torch.no_grad():
        masked = model(first["tokens"][:, :-1], first["segment_ids"], labels=first["labels"]).loss.item()
        full = model(first["tokens"][:, :-1], first["segment_ids"], labels=first["tokens"][:, 1:]).loss.item()
    got = run_pretrain(job)["losses"][0]
    assert got == pytest.approx(masked, rel=1e-5)
    assert abs(masked - full) > 1e-3


def test_masked_loss_falls_on_the_demo(shards, tmp_path):
    shard_dir, _ = shards
    losses = run_pretrain(_job(shard_dir, tmp_path / "ckpt", steps=40))["losses"]
    assert all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
