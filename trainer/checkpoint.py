"""Checkpoints that resume exactly: model (router biases included), optimizer, loader, RNG, step.

Model and optimizer go through ``torch.distributed.checkpoint`` (sharded under FSDP2, one file set
per rank, resharding on load); per-rank extras (loader position, RNG states, counters) go to
``extra_rank{r}.pt``. A step directory becomes visible only when ``latest`` is rewritten, after
every rank has finished writing, so a crash mid-save never leaves a half checkpoint as "latest".
"""

from __future__ import annotations

import logging
import os
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

log = logging.getLogger(__name__)


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def _rank() -> int:
    return dist.get_rank() if _distributed() else 0


def _barrier() -> None:
    if _distributed():
        dist.barrier()


def rng_state() -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    root: str | Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    extra: dict[str, Any],
) -> Path:
    """Write ``root/step_XXXXXXXX`` and point ``root/latest`` at it."""
    root = Path(root)
    path = root / f"step_{step:08d}"
    path.mkdir(parents=True, exist_ok=True)
    opts = StateDictOptions(full_state_dict=False)
    state = {
        "model": get_model_state_dict(model, options=opts),
        "optim": get_optimizer_state_dict(model, optimizer, options=opts),
    }
    with warnings.catch_warnings():  # single-process saves are intended, not a misconfiguration
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        dcp.save(state, checkpoint_id=str(path), no_dist=not _distributed())
    torch.save({**extra, "rng": rng_state(), "step": step}, path / f"extra_rank{_rank()}.pt")
    _barrier()
    if _rank() == 0:
        tmp = root / "latest.tmp"
        tmp.write_text(path.name + "\n")
        os.replace(tmp, root / "latest")
        log.info("checkpoint saved: %s", path)
    _barrier()
    return path


def latest_checkpoint(root: str | Path) -> Path | None:
    pointer = Path(root) / "latest"
    if not pointer.exists():
        return None
    path = Path(root) / pointer.read_text().strip()
    return path if path.is_dir() else None


def load_checkpoint(
    path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore model, optimizer and RNG in place; return this rank's extras (with ``step``)."""
    path = Path(path)
    opts = StateDictOptions(full_state_dict=False)
    state = {
        "model": get_model_state_dict(model, options=opts),
        "optim": get_optimizer_state_dict(model, optimizer, options=opts),
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        dcp.load(state, checkpoint_id=str(path), no_dist=not _distributed())
    set_model_state_dict(model, state["model"], options=opts)
    set_optimizer_state_dict(model, optimizer, state["optim"], options=opts)
    mine = path / f"extra_rank{_rank()}.pt"
    # More ranks than at save time: loader positions are global, rank 0's extras serve.
    extra = torch.load(mine if mine.exists() else path / "extra_rank0.pt", weights_only=False)
    set_rng_state(extra.pop("rng"))
    log.info("resumed from %s (step %d)", path, extra["step"])
    return extra
