"""Per-GPU memory plan: what one rank holds when training a model on N GPUs with FSDP2 + EP (+ PP).

Every number is computed from the meta-built model's parameters (grouped into the FSDP units that
``trainer.parallel.fsdp`` creates) and from the shapes of the activations; nothing is typed in.

Accounting (bytes per GPU, worst pipeline stage):

* sharded state: fp32 master parameters, fp32 gradients, AdamW ``m`` and ``v`` = 16 B per parameter
  of this rank's shard (dense units over ``dp``, experts over ``ep x efsdp``);
* FSDP transients: the unit being used plus the one prefetched, all-gathered in bf16; in backward
  the largest unit's unsharded bf16 gradient and its fp32 reduce-scatter input; the root (final norm
  + head) stays gathered from forward to backward; deferred gradient sync (no reduce-scatter until
  the last micro-batch) keeps every unit's unsharded fp32 gradient instead;
* activations with full per-layer activation checkpointing: each layer's bf16 input for every
  micro-batch in flight (1 without PP; ``pp`` on the first stage of a 1F1B schedule), plus one layer's
  recomputed forward and its backward (MLA tensors, router scores, dispatched rows on the receiving
  rank times ``imbalance``, expert hidden states, all-to-all send/receive buffers), plus the chunked
  cross-entropy (one chunk of fp32 logits and the head's gradient buffer);
* fixed: CUDA context + NCCL workspaces (an assumed constant) and allocator headroom.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass, field

from trainer.config import ModelConfig, get_config
from trainer.model import build_model

GIB = 2**30

#: Assumed, not computed: CUDA context, cuBLAS/NCCL workspaces and channel buffers per GPU.
FIXED_RUNTIME_BYTES = 3 * GIB


@dataclass
class Units:
    """Parameter counts per FSDP unit kind, per layer where it applies."""

    embed: int
    root: int  # final norm + head
    attn: list[int]
    router: list[int]
    experts: list[int]
    rest: list[int]  # norms + dense MLP or shared expert + post-MLP norm
    frozen: int = 0


def count_units(cfg: ModelConfig) -> Units:
    model = build_model(cfg, "meta")
    n = cfg.num_layers
    u = Units(0, 0, [0] * n, [0] * n, [0] * n, [0] * n)
    for name, p in model.named_parameters():
        if not p.requires_grad:
            u.frozen += p.numel()
            continue
        if name.startswith("embed_tokens."):
            u.embed += p.numel()
            continue
        m = re.match(r"layers\.(\d+)\.(self_attn|mlp\.gate|mlp\.experts)?", name)
        if m is None:
            u.root += p.numel()
            continue
        i, kind = int(m.group(1)), m.group(2)
        target = {"self_attn": u.attn, "mlp.gate": u.router, "mlp.experts": u.experts}.get(kind, u.rest)
        target[i] += p.numel()
    return u


@dataclass
class PlanInput:
    n_gpus: int
    ep: int
    pp: int = 1
    seq_len: int = 4096
    micro_batch: int = 1
    gpu_gib: float = 80.0
    loss_chunk_tokens: int = 2048
    defer_grad_sync: bool = False
    #: Tokens the busiest expert-parallel rank receives, relative to the mean (routing imbalance).
    imbalance: float = 1.5
    #: Fraction of the GPU kept free for allocator fragmentation.
    headroom: float = 0.1


@dataclass
class Plan:
    inp: PlanInput
    rows: list[tuple[str, float, str]] = field(default_factory=list)  # (item, bytes, how)

    @property
    def total(self) -> float:
        return sum(b for _, b, _ in self.rows)

    @property
    def budget(self) -> float:
        return self.inp.gpu_gib * GIB * (1 - self.inp.headroom)

    @property
    def fits(self) -> bool:
        return self.total <= self.budget


def _stage_layers(n_layers: int, pp: int) -> list[range]:
    per = math.ceil(n_layers / pp)
    return [range(s * per, min(n_layers, (s + 1) * per)) for s in range(pp)]


def _layer_working_set(cfg: ModelConfig, tokens: int, imbalance: float, moe: bool) -> float:
    """Bytes of one layer's recomputed forward (bf16, fp32 where the model computes in fp32) and
    its backward (gradients of the same tensors, hence x2)."""
    d, h = cfg.hidden_size, cfg.num_heads
    attn = (d + cfg.q_lora_rank + h * cfg.qk_head_dim  # norm out, q_a, q
            + cfg.kv_lora_rank + cfg.qk_rope_head_dim  # latent + rotary key
            + h * (cfg.qk_nope_head_dim + cfg.v_head_dim)  # kv_b out
            + h * cfg.qk_head_dim + h * cfg.v_head_dim  # k, v expanded
            + h * cfg.v_head_dim + d) * 2  # attention out, o_proj out
    attn += d * 4 * 2  # RMSNorm fp32 temporaries
    if moe:
        k, inter = cfg.num_experts_per_tok, cfg.moe_intermediate_size
        router = cfg.n_routed_experts * 4 * 3  # fp32 logits, sigmoid, biased scores
        send = k * d * 2 * 3  # permuted rows, returned rows, gated rows
        recv = k * imbalance * (d * 2 * 3 + 2 * inter * 2 + inter * 2)  # received, regrouped, out, h, act
        shared = 3 * inter * cfg.n_shared_experts * 2 + d * 4 * 2
        mlp = router + send + recv + shared
    else:
        mlp = 3 * cfg.intermediate_size * 2 + d * 2
    return 2.0 * tokens * (attn + mlp)


def plan(cfg: ModelConfig, inp: PlanInput) -> Plan:
    """The per-GPU table for ``inp`` (worst pipeline stage)."""
    if inp.n_gpus % inp.pp:
        raise ValueError(f"pp={inp.pp} must divide the GPU count {inp.n_gpus}")
    ranks = inp.n_gpus // inp.pp
    if ranks % inp.ep or cfg.n_routed_experts % inp.ep:
        raise ValueError(f"ep={inp.ep} must divide the ranks per stage ({ranks}) and the experts "
                         f"({cfg.n_routed_experts})")
    efsdp = ranks // inp.ep
    u = count_units(cfg)
    tokens = inp.seq_len * inp.micro_batch
    best: Plan | None = None
    stages = _stage_layers(cfg.num_layers, inp.pp)
    for s, layers in enumerate(stages):
        first, last = s == 0, s == len(stages) - 1
        dense = sum(u.attn[i] + u.router[i] + u.rest[i] for i in layers)
        dense += u.embed * first + u.root * last
        experts = sum(u.experts[i] for i in layers)
        shard = dense / ranks + experts / (inp.ep * efsdp)
        units = [u.attn[i] for i in layers] + [u.rest[i] for i in layers] + [u.router[i] for i in layers]
        units += [u.experts[i] / inp.ep for i in layers] + ([u.embed] if first else [])
        biggest = max(units)
        in_flight = inp.pp - s if inp.pp > 1 else 1  # 1F1B: stage s holds pp - s micro-batches
        moe_layers = [i for i in layers if cfg.is_moe_layer(i)]
        p = Plan(inp)
        p.rows += [
            ("fp32 master parameters (shard)", 4 * shard, f"{shard / 1e6:,.0f} M params: dense/{ranks}, experts/{inp.ep}x{efsdp}"),
            ("fp32 gradients (shard)", 4 * shard, "reduce-scattered, same sharding"),
            ("AdamW m + v (fp32)", 8 * shard, "same sharding"),
            ("all-gathered unit + prefetched next (bf16)", 2 * 2 * biggest, f"largest unit {biggest / 1e6:,.0f} M params"),
            ("unsharded grad (bf16) + reduce-scatter input (fp32)", (2 + 4) * biggest, "largest unit, in backward"),
        ]
        if last:
            p.rows.append(("root gathered through backward: head + final norm (bf16)", 2 * u.root, f"{u.root / 1e6:,.0f} M params"))
        if inp.defer_grad_sync:
            unsharded = dense + experts / inp.ep
            p.rows.append(("deferred grad sync: unsharded fp32 grads", 4 * unsharded, "every unit of the stage"))
        p.rows += [
            ("checkpointed layer inputs (bf16)", len(layers) * in_flight * tokens * cfg.hidden_size * 2,
             f"{len(layers)} layers x {in_flight} micro-batch(es) x {tokens} tokens"),
            ("one layer recomputed + its backward",
             _layer_working_set(cfg, tokens, inp.imbalance, bool(moe_layers)),
             f"MLA, router, all-to-all buffers at {inp.imbalance}x mean load"),
        ]
        if last:
            chunk = min(inp.loss_chunk_tokens or tokens, tokens)
            p.rows.append(("chunked cross-entropy", chunk * cfg.vocab_size * (4 + 4 + 2) + 2 * u.root,
                           f"{chunk}-token chunk of fp32 logits/probs, bf16 grad, head grad buffer"))
        p.rows.append(("CUDA context + NCCL workspaces (assumed)", float(FIXED_RUNTIME_BYTES), "constant"))
        if best is None or p.total > best.total:
            best = p
    return best


def default_ep(cfg: ModelConfig, n_gpus: int, cap: int = 64) -> int:
    """Largest divisor of both the GPU count and the expert count, at most ``cap``."""
    return max(e for e in range(1, min(cap, n_gpus) + 1) if n_gpus % e == 0 and cfg.n_routed_experts % e == 0)


def smallest_fitting_pp(cfg: ModelConfig, base: PlanInput) -> PlanInput | None:
    for pp in (1, 2, 4, 8, 16):
        if base.n_gpus % pp or (base.n_gpus // pp) % base.ep:
            continue
        inp = PlanInput(**{**base.__dict__, "pp": pp})
        if plan(cfg, inp).fits:
            return inp
    return None


def format_plan(p: Plan, preset: str) -> str:
    i = p.inp
    ranks = i.n_gpus // i.pp
    lines = [
        f"memory plan: {preset} on {i.n_gpus} GPUs of {i.gpu_gib:g} GiB: pp={i.pp}, dp={ranks} (dense FSDP), "
        f"ep={i.ep} x efsdp={ranks // i.ep} (experts), micro-batch {i.micro_batch} x {i.seq_len} tokens, "
        f"full activation checkpointing, deferred grad sync {'on' if i.defer_grad_sync else 'off'}",
        f"{'item':<58} {'GiB':>8}  how",
    ]
    for name, b, how in p.rows:
        lines.append(f"{name:<58} {b / GIB:>8.2f}  {how}")
    lines.append(f"{'total (worst stage)':<58} {p.total / GIB:>8.2f}  budget {p.budget / GIB:.1f} GiB "
                 f"({1 - i.headroom:.0%} of the GPU): {'FITS' if p.fits else 'DOES NOT FIT'}")
    return "\n".join(lines)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--ep", type=int, default=None, help="expert-parallel degree (default: largest divisor <= 64)")
    ap.add_argument("--pp", type=int, default=None, help="pipeline stages (default: the fewest that fit)")
    ap.add_argument("--seq-len", type=int, default=4096)
    ap.add_argument("--micro-batch", type=int, default=1)
    ap.add_argument("--gpu-gib", type=float, default=80.0)
    ap.add_argument("--defer-grad-sync", action="store_true", help="no reduce-scatter until the last micro-batch")


def run(n: int, args: argparse.Namespace, preset: str) -> int:
    """Print the plan for ``preset`` on ``n`` GPUs (flags from :func:`add_arguments`)."""
    cfg = get_config(preset)
    ep = args.ep or default_ep(cfg, n)
    base = PlanInput(n, ep, args.pp or 1, args.seq_len, args.micro_batch, args.gpu_gib,
                     defer_grad_sync=args.defer_grad_sync)
    fitting = None if args.pp else smallest_fitting_pp(cfg, base)
    chosen = fitting or base
    print(format_plan(plan(cfg, chosen), preset))
    if not args.pp and fitting is None:
        print(f"no pipeline depth in (1, 2, 4, 8, 16) fits with ep={ep}: more GPUs, a shorter micro-batch "
              "or another --ep")
    if chosen.pp > 1:
        print("pipeline: torch.distributed.pipelining ScheduleInterleaved1F1B (stage 0 holds at most pp "
              "micro-batches of checkpointed inputs; virtual stages shrink the bubble); not implemented here")
    return 0
