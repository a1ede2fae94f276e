"""FSDP2 under torchrun (2 CPU ranks, gloo) computes the same training steps as one process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist
import yaml

REPO = Path(__file__).resolve().parents[2]


def _write_job(path: Path, ckpt: Path, micro_batch: int) -> Path:
    path.write_text(yaml.safe_dump({
        "data": {"synthetic": True}, "seq_len": 64, "micro_batch": micro_batch, "steps": 3,
        "checkpoint_dir": str(ckpt), "checkpoint_interval": 1, "log_interval": 1,
        "schedule": {"lr": 3e-3, "warmup_steps": 1},
    }))
    return path


def _losses(ckpt: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (ckpt / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in records}


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable")
def test_fsdp2_two_ranks_match_single_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    # One process, global batch 4: one step, checkpoint, copy the checkpoint.
    job1 = _write_job(tmp_path / "one.yaml", single, micro_batch=4)
    run = [sys.executable, "-m", "trainer.train", str(job1)]
    subprocess.run([*run, "--stop-after", "1"], check=True, cwd=REPO, env=env, capture_output=True)
    shutil.copytree(single, sharded)
    (sharded / "metrics.jsonl").unlink()
    subprocess.run(run, check=True, cwd=REPO, env=env, capture_output=True)
    # Two FSDP2 ranks x micro-batch 2 = the same global batch, resumed from the same checkpoint
    # (saved unsharded by one process, resharded on load).
    job2 = _write_job(tmp_path / "two.yaml", sharded, micro_batch=2)
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "trainer.train", str(job2)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = _losses(single), _losses(sharded)
    assert sorted(b) == [2, 3]
    assert a[2] != a[3]
    np.testing.assert_allclose([b[2], b[3]], [a[2], a[3]], rtol=1e-5)
