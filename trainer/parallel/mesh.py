"""Device meshes: a 1-D ``dp`` mesh over all ranks for dense parameters and, with expert
parallelism, a 2-D ``(efsdp, ep)`` mesh for the experts (torchtitan's separate expert-FSDP mesh).

Rank ``r`` sits at ``efsdp = r // ep``, ``ep = r % ep``: an ep group is ``ep`` consecutive ranks (one
node's GPUs first), and the ``efsdp`` ranks that hold the same experts are ``ep`` apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch.distributed.device_mesh import DeviceMesh, init_device_mesh


@dataclass(frozen=True)
class ParallelDims:
    world: int
    ep: int = 1

    def __post_init__(self) -> None:
        if self.ep < 1 or self.world % self.ep:
            raise ValueError(f"ep={self.ep} must divide the world size {self.world}")

    @property
    def efsdp(self) -> int:
        """Ranks that FSDP-shard one ep rank's experts among themselves."""
        return self.world // self.ep

    @property
    def expert_parallel(self) -> bool:
        return self.ep > 1


@dataclass
class Meshes:
    dense: DeviceMesh
    #: ``(efsdp, ep)``; None without expert parallelism (experts then shard over ``dense``).
    experts: DeviceMesh | None = None


def build_meshes(dims: ParallelDims, device_type: str) -> Meshes:
    """Create the meshes (collective: every rank calls it in the same order)."""
    dense = init_device_mesh(device_type, (dims.world,), mesh_dim_names=("dp",))
    experts = None
    if dims.expert_parallel:
        experts = init_device_mesh(device_type, (dims.efsdp, dims.ep), mesh_dim_names=("efsdp", "ep"))
    return Meshes(dense, experts)
