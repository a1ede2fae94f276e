"""Process-group setup under torchrun and FSDP2 sharding of the model.

Sharding itself lives in ``trainer.parallel`` (meshes, expert parallelism, FSDP2 units): parameters
are all-gathered in bf16 and gradients reduce-scattered in fp32, while the sharded fp32 parameters
stay the optimizer's master weights. All communication is torch.distributed's.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from trainer.model import AXK1ForCausalLM

log = logging.getLogger(__name__)


@dataclass
class DistInfo:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1; otherwise run as a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        log.info("process group ready: rank %d of %d on %s", rank, world, device)
    return DistInfo(rank, world, local_rank, device)


def apply_fsdp(model: AXK1ForCausalLM, world: int, device: torch.device, bf16: bool = True) -> None:
    """Shard ``model`` in place with FSDP2 over all ranks, without expert parallelism (call on a
    meta-built model, then ``to_empty`` + ``init_weights``); see ``trainer.parallel.fsdp``."""
    from trainer.parallel.fsdp import apply_fsdp as shard
    from trainer.parallel.mesh import ParallelDims, build_meshes

    shard(model, build_meshes(ParallelDims(world), device.type), bf16=bf16)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
