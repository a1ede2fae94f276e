"""Expert parallelism: routed experts sharded over the ``ep`` mesh dimension, tokens exchanged by
all-to-all around the experts' MLP.

``apply_expert_parallel`` turns each MoE layer's ``GroupedExperts`` (on the meta device, before FSDP)
into an ``ExpertParallelExperts``: its ``[E, ...]`` weights become DTensors ``Shard(0)`` on the ep
mesh (ep rank ``j`` holds experts ``[j*E/ep, (j+1)*E/ep)``), and only the step between token
dispatch and combine changes (:meth:`ExpertParallelExperts.expert_mlp`):

1. the rows arrive sorted by global expert, hence grouped by the ep rank owning the expert;
2. per-expert counts are exchanged first (``all_to_all_single``, fixed splits), then one host read
   gives the variable split sizes, and the rows go out with ``all_to_all_single_autograd``;
3. the received rows (source-major) are regrouped by local expert with one stable argsort and run
   through the same grouped GEMM as on one device, with the local weight shards;
4. the inverse permutation and the reverse all-to-all bring the outputs back; the gate-weighted
   combine happens on the source rank, as on one device.

Autograd of the functional all-to-all runs the reverse exchanges in backward. Counts for the
balancing bias are still the per-source counts, summed over all ranks by the trainer.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributed._functional_collectives import all_to_all_single, all_to_all_single_autograd
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.tensor import DTensor, Shard, distribute_tensor

from trainer.model import AXK1ForCausalLM
from trainer.moe import GroupedExperts, expert_swiglu

EXPERT_WEIGHTS = ("gate_up_proj", "down_proj")


class ExpertParallelExperts(GroupedExperts):
    """``GroupedExperts`` holding ``E / ep`` experts per rank; dispatch and combine by all-to-all."""

    ep_mesh: DeviceMesh

    def expert_mlp(self, rows: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        ep = self.ep_mesh.size()
        group = self.ep_mesh.get_group()
        local = self.n_experts // ep
        # recv[s * local + j]: rows source rank s sends to this rank's local expert j.
        recv = all_to_all_single(counts, None, None, group)
        recv = torch.ops._c10d_functional.wait_tensor(recv)
        # The only host read: the split sizes (and the largest local group, for the bmm fallback).
        host = torch.cat((counts.view(ep, local).sum(1), recv)).tolist()
        send_splits = host[:ep]
        recv_blocks = torch.tensor(host[ep:]).view(ep, local)
        recv_splits = recv_blocks.sum(1).tolist()
        max_count = int(recv_blocks.sum(0).max())
        received = all_to_all_single_autograd(rows, recv_splits, send_splits, group)
        # Source-major -> expert-major.
        expert_of_row = torch.repeat_interleave(
            torch.arange(local, device=rows.device).repeat(ep), recv, output_size=sum(recv_splits)
        )
        order = torch.argsort(expert_of_row, stable=True)
        out = expert_swiglu(
            received[order], recv.view(ep, local).sum(0), _local(self.gate_up_proj), _local(self.down_proj),
            self.resolved_impl(rows.device), max_count,
        )
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(order.numel(), device=order.device)
        return all_to_all_single_autograd(out[inverse], send_splits, recv_splits, group)


def _local(w: torch.Tensor) -> torch.Tensor:
    return w.to_local() if isinstance(w, DTensor) else w


def apply_expert_parallel(model: AXK1ForCausalLM, ep_mesh: DeviceMesh) -> None:
    """Shard every MoE layer's experts over ``ep_mesh`` (1-D) in place; call before ``fully_shard``."""
    for layer in model.layers:
        if not layer.is_moe:
            continue
        experts = layer.mlp.experts
        if experts.impl == "loop":
            raise ValueError("expert_impl 'loop' is a single-device reference; use grouped_mm or bmm with ep > 1")
        if experts.n_experts % ep_mesh.size():
            raise ValueError(f"{experts.n_experts} experts do not split over ep={ep_mesh.size()} ranks")
        for name in EXPERT_WEIGHTS:
            weight = getattr(experts, name)
            experts.register_parameter(name, nn.Parameter(distribute_tensor(weight.data, ep_mesh, [Shard(0)])))
        experts.__class__ = ExpertParallelExperts
        experts.ep_mesh = ep_mesh
