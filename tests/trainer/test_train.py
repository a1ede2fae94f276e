"""Training loop: loss falls, exact resume, job validation, schedules, CLI entry, real packed shards."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from pydantic import ValidationError

from trainer.flops import attention_pairs, step_flops
from trainer.job import PretrainJob, ScheduleSection, load_job
from trainer.schedule import lr_at
from trainer.synthetic import SyntheticLoader
from trainer.train import main, run_pretrain

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _job(tmp_path: Path, name: str, **kw) -> PretrainJob:
    base = dict(
        data={"synthetic": True}, seq_len=64, micro_batch=2, steps=6, checkpoint_dir=str(tmp_path / name),
        checkpoint_interval=100, log_interval=3, schedule={"lr": 3e-3, "warmup_steps": 2},
    )
    return PretrainJob(**{**base, **kw})


def test_loss_falls_on_synthetic_corpus(tmp_path):
    job = _job(tmp_path, "fall", seq_len=64, micro_batch=4, steps=20, log_interval=10,
               schedule={"lr": 1e-2, "warmup_steps": 5}, peak_tflops=1.0)
    losses = run_pretrain(job)["losses"]
    assert losses[0] > 6.0  # ~ln(512) at init
    assert np.mean(losses[-5:]) < losses[0] - 0.4
    records = [json.loads(line) for line in (tmp_path / "fall" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20]
    last = records[-1]
    assert last["tokens_per_s"] > 0 and last["tflops_per_device"] > 0
    assert last["mfu"] == pytest.approx(last["tflops_per_device"] / 1.0)
    assert len(last["load_per_layer"]) == 2 and len(last["load_per_layer"][0]) == 8
    assert sum(last["load_per_layer"][0]) == 4 * 64 * 2  # tokens x top-k, this step
    assert last["bias_abs_mean"] > 0  # balancing biases moved


def test_resume_is_bit_identical(tmp_path):
    kw = dict(grad_accum=2, steps=4, model={"preset": "axk1-tiny", "activation_checkpointing": True})
    straight = run_pretrain(_job(tmp_path, "a", **kw))["losses"]
    first = run_pretrain(_job(tmp_path, "b", **kw), stop_after=2)
    second = run_pretrain(_job(tmp_path, "b", **kw))
    assert first["losses"] == straight[:2]
    assert second["start_step"] == 2
    assert second["losses"] == straight[2:]  # exact float equality, not approximate


def test_activation_checkpointing_matches_plain(tmp_path):
    plain = run_pretrain(_job(tmp_path, "p", steps=2))["losses"]
    ckpt = run_pretrain(_job(tmp_path, "c", steps=2, model={"activation_checkpointing": True}))["losses"]
    np.testing.assert_allclose(plain, ckpt, rtol=1e-5)


def test_job_validation_and_yaml(tmp_path):
    job = load_job(REPO / "jobs" / "pretrain_tiny.yaml")
    assert job.model.build_config().n_routed_experts == 8
    with pytest.raises(ValidationError):
        PretrainJob(data={"synthetic": True}, sequence_length=4)
    with pytest.raises(ValidationError):
        PretrainJob(data={"prefixes": []})
    with pytest.raises(ValidationError):
        PretrainJob(data={"prefixes": ["a", "b"], "weights": [1.0]})
    with pytest.raises(KeyError):
        PretrainJob(data={"synthetic": True}, model={"preset": "nope"}).model.build_config()


def test_schedules():
    cos = ScheduleSection(kind="cosine", lr=1.0, min_lr_ratio=0.1, warmup_steps=10)
    assert lr_at(0, 100, cos) == pytest.approx(0.1)
    assert lr_at(9, 100, cos) == pytest.approx(1.0)
    assert lr_at(55, 100, cos) == pytest.approx(0.55)
    assert lr_at(99, 100, cos) == pytest.approx(0.1, abs=1e-3)
    wsd = ScheduleSection(kind="wsd", lr=1.0, min_lr_ratio=0.0, warmup_steps=10, decay_fraction=0.2)
    assert lr_at(50, 100, wsd) == 1.0 and lr_at(79, 100, wsd) == 1.0
    assert lr_at(90, 100, wsd) == pytest.approx(0.5)


def test_flop_count_uses_document_mask():
    seg = torch.tensor([[0, 0, 0, 0], [0, 0, 1, 1]])
    assert attention_pairs(seg) == 10 + 3 + 3
    from trainer.config import get_config

    cfg = get_config("axk1-full")
    per_token = step_flops(cfg, 1, 0) / 3
    assert per_token == pytest.approx(2 * 32.78e9 - 2 * 163_840 * 7168, rel=0.01)  # 2 x active, minus embedding


def test_synthetic_loader_contract_and_state():
    a = SyntheticLoader(100, 32, 3, seed=5)
    b = a.next_batch()
    assert b["tokens"].dtype == torch.int64 and b["tokens"].shape == (3, 33)
    assert b["segment_ids"].dtype == torch.int32 and b["segment_ids"].shape == (3, 32)
    assert (b["segment_ids"][:, 1:] >= b["segment_ids"][:, :-1]).all()
    state = a.state_dict()
    nxt = a.next_batch()
    c = SyntheticLoader(100, 32, 3, seed=5)
    c.load_state_dict(state)
    assert torch.equal(c.next_batch()["tokens"], nxt["tokens"])


def test_cli_entry_writes_checkpoint(tmp_path):
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump({
        "data": {"synthetic": True}, "seq_len": 32, "micro_batch": 2, "steps": 2,
        "checkpoint_dir": "./ck", "log_interval": 1, "schedule": {"warmup_steps": 1},
    }))
    assert main([str(job_file)]) == 0
    assert (tmp_path / "ck" / "latest").read_text().strip() == "step_00000002"


def test_real_korean_text_through_packed_loader(tmp_path):
    """Korean chat text -> UTF-8 byte tokens -> Megatron shard (megatron-core's writer) ->
    PackedLoader -> training; the loss must fall."""
    src = DATA / "D4_songys_chatbot_data" / "ChatbotData.csv"
    if not src.exists():
        pytest.skip("shared data not available")
    data_mod = pytest.importorskip("trainer.data")
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    eos = 256
    prefix = tmp_path / "chat"
    builder = indexed.IndexedDatasetBuilder(str(prefix) + ".bin", dtype=np.int32)
    with src.open(encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i >= 3000:
                break
            ids = list((row["Q"] + "\n" + row["A"]).encode("utf-8")) + [eos]
            builder.add_item(torch.tensor(ids, dtype=torch.int32))
            builder.end_document()
    builder.finalize(str(prefix) + ".idx")
    assert data_mod.PackedLoader  # the loader under test is the real one
    job = _job(tmp_path, "real", data={"prefixes": [str(prefix)], "weights": [1.0]}, seq_len=64,
               micro_batch=4, steps=20, log_interval=10, schedule={"lr": 1e-2, "warmup_steps": 5})
    losses = run_pretrain(job)["losses"]
    assert np.mean(losses[-5:]) < losses[0] - 1.0
