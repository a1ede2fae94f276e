"""Expert parallelism on CPU (gloo): 2 and 4 ranks compute the loss and gradients of one process,
and training resumes across a different (dp, ep) shape through DCP resharding."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import yaml
from pydantic import ValidationError

from trainer.config import get_config
from trainer.job import PretrainJob
from trainer.model import build_model
from trainer.parallel.config import ParallelSection
from trainer.synthetic import SyntheticLoader

REPO = Path(__file__).resolve().parents[2]
CFG = get_config("axk1-tiny")  # 8 experts, top-2
pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable")


def test_parallel_section_refuses_bad_shapes():
    ParallelSection(ep=4).check(8, CFG)
    with pytest.raises(ValueError, match="must divide the world size 6"):
        ParallelSection(ep=4).check(6, CFG)
    with pytest.raises(ValueError, match="must divide the number of routed experts 8"):
        ParallelSection(ep=3).check(6, CFG)
    with pytest.raises(ValueError, match="dp must equal the world size"):
        ParallelSection(dp=2, ep=2).check(4, CFG)
    with pytest.raises(ValidationError, match="ep must be >= 1"):
        PretrainJob(data={"synthetic": True}, parallel={"ep": 0})
    with pytest.raises(ValidationError):
        PretrainJob(data={"synthetic": True}, parallel={"ep": 2, "pp": 2})  # unknown key


def _worker(rank: int, world: int, ep: int, workdir: str) -> None:
    """One rank: shard the reference weights (EP + FSDP), run its slice of the batch, save results."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    from trainer.parallel.expert_parallel import apply_expert_parallel
    from trainer.parallel.fsdp import apply_fsdp
    from trainer.parallel.grad import clip_grad_norm_sharded
    from trainer.parallel.mesh import ParallelDims, build_meshes

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{workdir}/store", rank=rank, world_size=world)
    try:
        ref = torch.load(f"{workdir}/ref.pt")
        meshes = build_meshes(ParallelDims(world, ep), "cpu")
        model = build_model(CFG, "meta")
        apply_expert_parallel(model, meshes.experts["ep"])
        apply_fsdp(model, meshes, bf16=False)
        model.to_empty(device="cpu")
        model.init_weights(0)
        set_model_state_dict(model, ref["state"], options=StateDictOptions(full_state_dict=True))
        local = model.layers[1].mlp.experts.gate_up_proj.to_local()
        assert local.shape[0] == CFG.n_routed_experts // ep  # experts split over ep
        mb = ref["tokens"].shape[0] // world
        tokens, seg = ref["tokens"][rank * mb:(rank + 1) * mb], ref["seg"][rank * mb:(rank + 1) * mb]
        model.train()
        out = model(tokens[:, :-1], seg, labels=tokens[:, 1:])
        (out.loss + out.aux_loss).backward()
        loss = (out.loss + out.aux_loss).detach().clone()
        dist.all_reduce(loss)
        counts = out.expert_counts.clone()
        dist.all_reduce(counts)
        grads = {n: p.grad.full_tensor() for n, p in model.named_parameters() if p.grad is not None}
        norm = clip_grad_norm_sharded(model.parameters(), 1e-3)
        if rank == 0:
            torch.save({"loss": loss / world, "counts": counts, "grads": grads, "norm": norm},
                       f"{workdir}/out.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("world,ep", [(2, 2), (4, 2)])
def test_expert_parallel_matches_one_process(tmp_path, world, ep):
    torch.manual_seed(0)
    model = build_model(CFG, "cpu", seed=0)
    model.train()
    batch = SyntheticLoader(CFG.vocab_size, 32, 4, seed=3, mean_doc_len=10).next_batch()
    torch.save({"state": model.state_dict(), "tokens": batch["tokens"], "seg": batch["segment_ids"]},
               tmp_path / "ref.pt")
    out = model(batch["tokens"][:, :-1], batch["segment_ids"], labels=batch["tokens"][:, 1:])
    (out.loss + out.aux_loss).backward()
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        mp.spawn(_worker, args=(world, ep, str(tmp_path)), nprocs=world)
    finally:
        if old is None:
            os.environ.pop("OMP_NUM_THREADS")
        else:
            os.environ["OMP_NUM_THREADS"] = old
    got = torch.load(tmp_path / "out.pt")
    # Same routing everywhere, so the same tokens per expert; sums in another order: fp32 rounding.
    assert torch.equal(got["counts"], out.expert_counts)
    torch.testing.assert_close(got["loss"], (out.loss + out.aux_loss).detach(), rtol=1e-6, atol=1e-6)
    named = {n: p for n, p in model.named_parameters() if p.grad is not None}
    assert sorted(got["grads"]) == sorted(named)
    for name, p in named.items():
        # Tolerance: 1e-5 of the tensor's largest entry (fp32 sums in another order).
        err = float((got["grads"][name] - p.grad).abs().max() / p.grad.abs().max().clamp_min(1e-12))
        assert err < 1e-5, (name, err)
    ref_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)
    torch.testing.assert_close(got["norm"], ref_norm, rtol=1e-5, atol=0)


def _job(path: Path, ckpt: Path, micro_batch: int, ep: int) -> Path:
    path.write_text(yaml.safe_dump({
        "data": {"synthetic": True}, "seq_len": 32, "micro_batch": micro_batch, "grad_accum": 2, "steps": 3,
        "checkpoint_dir": str(ckpt), "checkpoint_interval": 1, "log_interval": 1,
        "schedule": {"lr": 3e-3, "warmup_steps": 1}, "parallel": {"ep": ep},
    }))
    return path


def _losses(ckpt: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in map(json.loads, (ckpt / "metrics.jsonl").read_text().splitlines())}


def test_resume_across_expert_parallel_shapes(tmp_path):
    """1 process -> 4 ranks (efsdp 2 x ep 2) -> 2 ranks (efsdp 1 x ep 2): the same losses as one
    uninterrupted process (global batch 8 rows as 4 x 1 x 2, 2 x 2 x 2 and 1 x 4 x 2)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    run = [sys.executable, "-m", "trainer.train"]
    one = _job(tmp_path / "one.yaml", single, 4, 1)
    subprocess.run([*run, str(one)], check=True, cwd=REPO, env=env, capture_output=True)
    # Start the sharded runs from the single process's step-1 checkpoint.
    sharded.mkdir()
    shutil.copytree(single / "step_00000001", sharded / "step_00000001")
    (sharded / "latest").write_text("step_00000001\n")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    for ranks, micro, stop in ((4, 1, 2), (2, 2, 3)):
        job = _job(tmp_path / f"ep{ranks}.yaml", sharded, micro, 2)
        proc = subprocess.run(
            [*torchrun, "--nproc-per-node", str(ranks), "-m", "trainer.train", str(job), "--stop-after", str(stop)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = _losses(single), _losses(sharded)
    assert sorted(b) == [2, 3] and a[2] != a[3]
    np.testing.assert_allclose([b[2], b[3]], [a[2], a[3]], rtol=1e-5)
