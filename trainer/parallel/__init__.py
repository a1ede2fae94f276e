"""Parallelism applied to the model from outside: device meshes, expert parallelism, FSDP2 units.

The model code (``trainer/model.py``, ``trainer/moe.py``) stays single-device and readable top to
bottom; this package turns it into a sharded one with torch.distributed alone (DeviceMesh, DTensor,
``fully_shard``, functional all-to-all).
"""

from trainer.parallel.config import ParallelSection
from trainer.parallel.mesh import Meshes, ParallelDims

__all__ = ["Meshes", "ParallelDims", "ParallelSection"]
