"""FSDP2 units: small enough that one all-gathered unit (plus the prefetched next one) fits a GPU.

Per decoder layer: attention, router (fp32 policy), routed experts, and the rest of the layer
(norms, dense or shared-expert MLP, post-MLP norm) are separate units; the embedding is its own
unit; the root keeps the final norm and the head, gathered through backward. Dense units shard over
the ``dp`` mesh (all ranks); with expert parallelism the experts shard over ``efsdp`` on their second
dimension (their first is already split over ``ep``), and their gradients are divided by the world
size, not by ``efsdp``, because each ep rank's expert gradients already sum over its ep group's
tokens (torchtitan does the same).
"""

from __future__ import annotations

import torch
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import Shard

from trainer.model import AXK1ForCausalLM
from trainer.parallel.mesh import Meshes


def apply_fsdp(model: AXK1ForCausalLM, meshes: Meshes, bf16: bool = True) -> None:
    """Shard ``model`` in place (meta-built; then ``to_empty`` + ``init_weights``). ``bf16=False``
    keeps fp32 compute (CPU runs). Parameters gather in bf16, gradients reduce in fp32."""
    fp32 = MixedPrecisionPolicy(param_dtype=torch.float32, reduce_dtype=torch.float32)
    compute = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 else fp32
    dense = meshes.dense
    world = dense.size()
    for layer in model.layers:
        fully_shard(layer.self_attn, mesh=dense, mp_policy=compute)
        if layer.is_moe:
            fully_shard(layer.mlp.gate, mesh=dense, mp_policy=fp32)
            if meshes.experts is not None:
                fully_shard(layer.mlp.experts, mesh=meshes.experts["efsdp"], mp_policy=compute,
                            shard_placement_fn=lambda _: Shard(1))
                layer.mlp.experts.set_gradient_divide_factor(float(world))
                if dense.device_type == "cpu" and meshes.experts["efsdp"].size() > 1:
                    # gloo has no pre-multiplied sum: scale, then SUM. (Not on a 1-rank efsdp mesh:
                    # there FSDP already divides while copying and would divide twice.)
                    layer.mlp.experts.set_force_sum_reduction_for_comms(True)
            else:
                fully_shard(layer.mlp.experts, mesh=dense, mp_policy=compute)
        fully_shard(layer, mesh=dense, mp_policy=compute)
    fully_shard(model.embed_tokens, mesh=dense, mp_policy=compute)
    # The head is used right after the last layer and first in backward: keep it gathered.
    fully_shard(model, mesh=dense, mp_policy=compute, reshard_after_forward=False)


def set_gradient_sync(model: torch.nn.Module, enabled: bool) -> None:
    """Skip (or restore) the reduce-scatter of every FSDP unit for the coming backward."""
    if isinstance(model, FSDPModule):
        model.set_requires_gradient_sync(enabled, recurse=True)
