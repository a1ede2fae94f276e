"""``axk1 pretrain JOB.yaml``: pretrain A.X K1 (or a proxy) on packed token shards.

Single process on CPU or one GPU, or many GPUs with ``torchrun`` (FSDP2). One optimizer step =
``grad_accum`` micro-batches; after each step the router biases move towards balanced load (outside
the gradient, from token counts summed over all ranks).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from trainer.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from trainer.config import ModelConfig
from trainer.distributed import DistInfo, all_reduce_sum, init_distributed, shutdown
from trainer.flops import attention_pairs, peak_flops, step_flops
from trainer.job import PretrainJob, load_job
from trainer.metrics import expert_load_stats
from trainer.model import AXK1ForCausalLM, build_model, count_parameters
from trainer.moe import update_router_bias
from trainer.parallel.expert_parallel import apply_expert_parallel
from trainer.parallel.fsdp import apply_fsdp, set_gradient_sync
from trainer.parallel.grad import clip_grad_norm_sharded
from trainer.parallel.mesh import ParallelDims, build_meshes
from trainer.prefetch import PrefetchLoader
from trainer.schedule import lr_at
from trainer.synthetic import SyntheticLoader

log = logging.getLogger(__name__)


def make_loader(job: PretrainJob, cfg: ModelConfig, dist_info: DistInfo) -> Any:
    """The packed-shard loader (or the synthetic stream) for this data-parallel rank."""
    if job.data.synthetic:
        return SyntheticLoader(
            cfg.vocab_size, job.seq_len, job.micro_batch, dist_info.rank, dist_info.world, job.seed
        )
    if job.data.kind == "sft":
        from trainer.sft_data import SFTLoader

        return SFTLoader(list(job.data.prefixes), job.seq_len, job.micro_batch, dist_info.rank,
                         dist_info.world, job.seed, vocab_size=cfg.vocab_size)
    from trainer.data import PackedLoader

    weights = job.data.weights or [1.0] * len(job.data.prefixes)
    return PackedLoader(
        list(job.data.prefixes), list(weights), job.seq_len, job.micro_batch,
        dp_rank=dist_info.rank, dp_world=dist_info.world, seed=job.seed, vocab_size=cfg.vocab_size,
    )


def build_optimizer(model: torch.nn.Module, job: PretrainJob, device: torch.device) -> torch.optim.AdamW:
    """Fused AdamW; no weight decay on norms (1-D) and embeddings. Routed experts get a group of their
    own: under expert parallelism they live on another device mesh than the dense parameters, and a
    fused kernel runs per group. The groups are the same on any number of ranks, so optimizer
    checkpoints load across (dp, ep) shapes."""
    groups: dict[str, list[torch.nn.Parameter]] = {"decay": [], "experts": [], "no_decay": []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if ".mlp.experts." in name:
            groups["experts"].append(p)
        else:
            groups["no_decay" if p.ndim < 2 or "embed_tokens" in name else "decay"].append(p)
    o = job.optim
    fused = device.type in ("cuda", "cpu")
    return torch.optim.AdamW(
        [{"params": groups["decay"], "weight_decay": o.weight_decay},
         {"params": groups["experts"], "weight_decay": o.weight_decay},
         {"params": groups["no_decay"], "weight_decay": 0.0}],
        lr=job.schedule.lr, betas=(o.beta1, o.beta2), eps=o.eps, fused=fused,
    )


def _setup_model(job: PretrainJob, cfg: ModelConfig, info: DistInfo) -> AXK1ForCausalLM:
    kwargs = dict(
        attn_impl=job.model.attn_impl,
        expert_impl=job.model.expert_impl,
        activation_checkpointing=job.model.activation_checkpointing,
        loss_chunk_tokens=job.model.loss_chunk_tokens,
    )
    job.parallel.check(info.world, cfg)
    if info.world > 1:
        model = build_model(cfg, "meta", **kwargs)
        _compile(model, job)  # before sharding, as torchtitan does: FSDP hooks stay outside the graphs
        dims = ParallelDims(info.world, job.parallel.ep)
        meshes = build_meshes(dims, info.device.type)
        if dims.expert_parallel:
            apply_expert_parallel(model, meshes.experts["ep"])
        apply_fsdp(model, meshes, bf16=_use_bf16(job, info))
        model.to_empty(device=info.device)
        model.init_weights(job.seed)
    else:
        model = build_model(cfg, info.device, seed=job.seed, **kwargs)
        _compile(model, job)
    return model


def _compile(model: AXK1ForCausalLM, job: PretrainJob) -> None:
    if job.model.compile:
        for layer in model.layers:
            layer.compile()


def _use_bf16(job: PretrainJob, info: DistInfo) -> bool:
    return job.precision == "bf16" or (job.precision == "auto" and info.device.type == "cuda")


def _autocast(job: PretrainJob, info: DistInfo):
    if _use_bf16(job, info) and info.world == 1:
        # Single device: fp32 parameters are the master weights, matmuls run in bf16.
        return torch.autocast(info.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()  # FSDP2 casts parameters itself; fp32 runs need nothing.


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_pretrain(
    job: PretrainJob | str | Path, loader: Any | None = None, stop_after: int | None = None
) -> dict[str, Any]:
    """Train per ``job``; resume from ``checkpoint_dir/latest`` when present.

    ``stop_after`` ends the run after that many optimizer steps in total (as if pre-empted) without
    changing the schedule. Returns a summary with the per-step LM losses of this run.
    """
    if not isinstance(job, PretrainJob):
        job = load_job(job)
    info = init_distributed()
    cfg = job.model.build_config()
    torch.manual_seed(job.seed)
    model = _setup_model(job, cfg, info)
    model.train()
    optimizer = build_optimizer(model, job, info.device)
    if loader is None:
        loader = make_loader(job, cfg, info)
        if job.data.prefetch:
            loader = PrefetchLoader(loader, job.data.prefetch, pin_memory=info.device.type == "cuda")
    total, active = count_parameters(model, cfg)  # DTensor numel() is the global size
    if info.is_main:
        log.info("model %s: %s total / %s active parameters", job.model.preset, total, active)

    start = 0
    ckpt_dir = Path(job.checkpoint_dir)
    if (latest := latest_checkpoint(ckpt_dir)) is not None:
        extra = load_checkpoint(latest, model, optimizer)
        loader.load_state_dict(extra["loader"])
        start = int(extra["step"])
    batches: Iterator[dict[str, torch.Tensor]] = iter(loader)

    peak = peak_flops(info.device, job.peak_tflops)
    routers = model.routers()
    metrics_path = ckpt_dir / "metrics.jsonl"
    if info.is_main:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
    end = job.steps if stop_after is None else min(job.steps, stop_after)
    losses: list[float] = []
    pending: list[torch.Tensor] = []  # per-step losses still on the device: read on log steps only
    defer_sync = info.world > 1 and job.parallel.defer_grad_sync and job.grad_accum > 1
    window = {"tokens": 0, "flops": 0.0, "t0": time.perf_counter()}
    try:
        for step in range(start, end):
            lr = lr_at(step, job.steps, job.schedule)
            for group in optimizer.param_groups:
                group["lr"] = lr
            lm_sum = torch.zeros((), device=info.device)
            aux_sum = torch.zeros((), device=info.device)
            counts = None
            for micro in range(job.grad_accum):
                if defer_sync:  # reduce-scatter once, on the last micro-batch
                    set_gradient_sync(model, micro == job.grad_accum - 1)
                batch = next(batches)
                seg = batch["segment_ids"]
                window["flops"] += step_flops(cfg, seg.numel(), attention_pairs(seg))
                window["tokens"] += seg.numel()
                tokens = batch["tokens"].to(info.device, non_blocking=True)
                seg = seg.to(info.device, non_blocking=True)
                # SFT batches carry labels with -100 on tokens that get no loss; pretraining trains on all
                labels = batch["labels"].to(info.device, non_blocking=True) if "labels" in batch else tokens[:, 1:]
                with _autocast(job, info):
                    out = model(tokens[:, :-1], seg, labels=labels)
                ((out.loss + out.aux_loss) / job.grad_accum).backward()
                lm_sum += out.loss.detach()
                aux_sum += out.aux_loss.detach()
                counts = out.expert_counts if counts is None else counts + out.expert_counts
            if info.world > 1:
                grad_norm = clip_grad_norm_sharded(model.parameters(), job.optim.grad_clip)
            else:
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), job.optim.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if counts is not None and counts.numel():
                all_reduce_sum(counts)
                if job.optim.bias_update_rate > 0:
                    for router, c in zip(routers, counts):
                        update_router_bias(router, c, job.optim.bias_update_rate)
            pending.append(all_reduce_sum(lm_sum / job.grad_accum) / info.world)
            done = step + 1
            if done % job.log_interval == 0 or done == end:
                _sync(info.device)
                first = done - len(pending) + 1
                for i, value in enumerate(torch.stack(pending).tolist()):
                    if not math.isfinite(value):
                        raise FloatingPointError(f"loss became {value} at step {first + i}")
                    losses.append(value)
                pending.clear()
                loss_value = losses[-1]
                elapsed = time.perf_counter() - window["t0"]
                tps = window["tokens"] * info.world / elapsed
                record = {
                    "step": done, "loss": loss_value, "aux_loss": float(aux_sum / job.grad_accum), "lr": lr,
                    "grad_norm": float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm),
                    "tokens_per_s": tps,
                    "tflops_per_device": window["flops"] / elapsed / 1e12,
                    "mfu": (window["flops"] / elapsed / peak) if peak else None,
                    **expert_load_stats(counts if counts is not None else torch.zeros(0), routers),
                }
                if info.is_main:
                    log.info(
                        "step %d loss %.4f aux %.2e lr %.2e gnorm %.3f tok/s %.0f mfu %s maxvio %.3f",
                        done, loss_value, record["aux_loss"], lr, record["grad_norm"], tps,
                        f"{record['mfu']:.1%}" if record["mfu"] is not None else "n/a",
                        record.get("maxvio_mean", 0.0),
                    )
                    with metrics_path.open("a") as f:
                        f.write(json.dumps(record) + "\n")
                window = {"tokens": 0, "flops": 0.0, "t0": time.perf_counter()}
            if done % job.checkpoint_interval == 0 or done == end:
                save_checkpoint(ckpt_dir, done, model, optimizer, {"loader": loader.state_dict()})
    finally:
        if isinstance(loader, PrefetchLoader):
            loader.close()
    return {"start_step": start, "end_step": end, "losses": losses, "total_params": total, "active_params": active}


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``axk1 pretrain JOB.yaml``."""
    parser = argparse.ArgumentParser(prog="axk1 pretrain", description=__doc__)
    parser.add_argument("job", help="pretraining job YAML")
    parser.add_argument("--stop-after", type=int, default=None, help="stop after this many total steps")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_pretrain(args.job, stop_after=args.stop_after)
    finally:
        shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
