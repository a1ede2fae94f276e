"""Trainer throughput: tokens/s, model TFLOP/s, MFU, memory, and the share of time in expert GEMMs.

Runs a full training step (forward, loss + balance loss, backward, clip, fused AdamW) of an A.X K1
proxy. Side by side in the same run: our expert kernels (grouped GEMM, padded bmm) and the peer,
Hugging Face transformers' ``axk1`` model with the same config and weights (its ``eager`` per-expert
loop and its ``grouped_mm`` experts). Peer rows use one document per row (the HF model has no
segment-id masking); ours are timed on the same single-document rows and on packed rows.

GPU (bf16 autocast, fp32 master weights): ``python benchmarks/trainer.py`` (preset axk1-2b, T=4096).
CPU (fp32): picks the small proxy automatically; ``--quick`` for a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, peak_rss_mb  # noqa: E402
from trainer.config import ModelConfig, get_config  # noqa: E402
from trainer.flops import attention_pairs, peak_flops, step_flops  # noqa: E402
from trainer.model import build_model, count_parameters  # noqa: E402
from trainer.synthetic import SyntheticLoader  # noqa: E402

log = logging.getLogger("benchmarks.trainer")


@dataclass
class Result:
    name: str
    tokens_per_s: float
    median_tokens_per_s: float
    tokens_per_cpu_s: float
    tflops: float
    mfu: float | None
    mem_gib: float
    expert_share: float | None
    note: str = ""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _batches(cfg: ModelConfig, seq: int, batch: int, n: int, packed: bool) -> list[dict[str, torch.Tensor]]:
    loader = SyntheticLoader(cfg.vocab_size, seq, batch, seed=1, mean_doc_len=max(16, seq // 4))
    out = [loader.next_batch() for _ in range(n)]
    if not packed:
        for b in out:
            b["segment_ids"] = torch.zeros_like(b["segment_ids"])
    return out


def _expert_share(step, device: torch.device, op: str) -> float:
    """Share of the step's operator time spent inside ``op`` (inclusive of the kernels or
    sub-calls it makes; device time on GPU, CPU time otherwise), forward and backward."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        step()
        _sync(device)
    events = prof.key_averages()
    if device.type == "cuda":
        total = sum(e.self_device_time_total for e in events)
        hit = sum(e.device_time_total for e in events if e.key == op)
    else:
        total = sum(e.self_cpu_time_total for e in events)
        hit = sum(e.cpu_time_total for e in events if e.key == op)
    return hit / total if total else 0.0


def _time_steps(step, batches, device, warmup: int) -> tuple[float, float, float]:
    """Per timed step: (fastest wall s, median wall s, CPU s of the fastest step). The fastest step
    is the least disturbed by other load on a shared machine."""
    for b in batches[:warmup]:
        step(b)
    _sync(device)
    walls, cpus = [], []
    for b in batches[warmup:]:
        t0, c0 = time.perf_counter(), time.process_time()
        step(b)
        _sync(device)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    best = min(range(len(walls)), key=walls.__getitem__)
    return walls[best], statistics.median(walls), cpus[best]


def _memory(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return peak_rss_mb() / 1024  # process-wide peak RSS: an upper bound shared by all rows


def _autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()


def _update(loss: torch.Tensor, model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)


def _measure(name: str, cfg, step, batches, device: torch.device, warmup: int, expert_op: str | None) -> Result:
    """Time ``step`` over ``batches`` and derive tokens/s, model TFLOP/s, MFU, memory and expert share.

    TFLOP/s and MFU come from the median step (conservative); tokens/s also from the best step.
    """
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds, median, cpu_seconds = _time_steps(step, batches, device, warmup)
    timed = batches[warmup:]
    flops = sum(step_flops(cfg, b["segment_ids"].numel(), attention_pairs(b["segment_ids"])) for b in timed)
    flops /= len(timed)
    share = _expert_share(lambda: step(batches[-1]), device, expert_op) if expert_op else None
    peak = peak_flops(device)
    tokens = batches[0]["segment_ids"].numel()
    return Result(name, tokens / seconds, tokens / median, tokens / cpu_seconds, flops / median / 1e12,
                  flops / median / peak if peak else None, _memory(device), share)


def bench_ours(cfg, device, seq, batch, steps, warmup, *, expert_impl, attn_impl, compile_layers, packed,
               ckpt, state) -> Result:
    model = build_model(cfg, device, seed=0, attn_impl=attn_impl, expert_impl=expert_impl,
                        activation_checkpointing=ckpt)
    if state is not None:
        model.load_state_dict(state)
    if compile_layers:
        for layer in model.layers:
            layer.compile()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    batches = _batches(cfg, seq, batch, warmup + steps, packed)

    def step(b):
        tokens = b["tokens"].to(device)
        with _autocast(device):
            out = model(tokens[:, :-1], b["segment_ids"].to(device), labels=tokens[:, 1:])
        _update(out.loss + out.aux_loss, model, opt)

    impl = model.layers[-1].mlp.experts.resolved_impl(device)
    name = f"ours: {impl} experts, {model.attn_impl} attention" + (", compiled" if compile_layers else "")
    name += ", packed docs" if packed else ", 1 doc/row"
    return _measure(name, cfg, step, batches, device, warmup,
                    "aten::_grouped_mm" if impl == "grouped_mm" else "aten::bmm")


def bench_hf(cfg, device, seq, batch, steps, warmup, *, experts_impl, state) -> Result | None:
    try:
        import transformers
    except ImportError:
        return None
    if not hasattr(transformers, "AXK1ForCausalLM"):
        return None
    from trainer.hf_compat import hf_config_kwargs

    hf_cfg = transformers.AXK1Config(**hf_config_kwargs(cfg))
    hf_cfg._attn_implementation = "sdpa"
    hf_cfg._experts_implementation = experts_impl
    with torch.device(device):
        model = transformers.AXK1ForCausalLM(hf_cfg)
    if state is not None:
        model.load_state_dict(state, strict=False)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    batches = _batches(cfg, seq, batch, warmup + steps, packed=False)

    def step(b):
        tokens = b["tokens"][:, :-1].to(device)
        with _autocast(device):
            loss = model(input_ids=tokens, labels=tokens).loss
        _update(loss, model, opt)

    # The eager peer runs experts as ordinary linears, indistinguishable from attention's in a profile.
    return _measure(f"peer: transformers axk1, {experts_impl} experts, sdpa, 1 doc/row", cfg, step, batches,
                    device, warmup, "aten::_grouped_mm" if experts_impl == "grouped_mm" else None)


def _free() -> None:
    """Release the previous row's model and optimizer before the next one is built."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _guarded(fn, label: str, **kw) -> Result | None:
    """Run one configuration; an OOM or kernel/compile failure is reported, not fatal."""
    try:
        result = fn(**kw)
        _free()
        return result
    except Exception as exc:  # noqa: BLE001 - a benchmark row that cannot run is a result too
        log.warning("%s failed: %s: %s", label, type(exc).__name__, (str(exc).splitlines() or [""])[0][:200])
        _free()
        nan = float("nan")
        return Result(label, nan, nan, nan, nan, None, nan, None, f"failed: {type(exc).__name__}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, seconds (CPU smoke run)")
    ap.add_argument("--preset", default=None, help="model preset (default: axk1-2b on GPU, axk1-small on CPU)")
    ap.add_argument("--seq-len", type=int, default=None)
    ap.add_argument("--micro-batch", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--no-peer", action="store_true", help="skip the transformers rows")
    ap.add_argument("--attn", default="flex,sdpa", help="GPU: attention kernels to time side by side")
    ap.add_argument("--compile-layers", action="store_true", help="GPU: also torch.compile each decoder layer")
    ap.add_argument("--out", default=None, help="also write the table (.md) and rows (.json) into this folder")
    ap.add_argument("--dry-run", action="store_true", help="CPU, tiny model, no peer: checks the script runs")
    args = ap.parse_args(argv)
    if args.dry_run:
        args.quick, args.no_peer = True, True
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    gpu = torch.cuda.is_available() and not args.dry_run
    device = torch.device("cuda" if gpu else "cpu")
    if gpu:
        preset, seq, batch, steps, warmup = "axk1-2b", 4096, 2, 10, 3
    elif args.quick:
        preset, seq, batch, steps, warmup = "axk1-tiny", 128, 2, 2, 1
    else:
        preset, seq, batch, steps, warmup = "axk1-small", 256, 2, 3, 1
    preset = args.preset or preset
    seq = args.seq_len or seq
    batch = args.micro_batch or batch
    steps = args.steps or steps
    cfg = get_config(preset)
    total, active = count_parameters(build_model(cfg, "meta"), cfg)
    torch.manual_seed(0)
    ref = build_model(cfg, "cpu", seed=0)
    state = {k: v for k, v in ref.state_dict().items()}
    from trainer.hf_compat import to_hf_state_dict

    hf_state = to_hf_state_dict(ref)
    del ref
    common = dict(cfg=cfg, device=device, seq=seq, batch=batch, steps=steps, warmup=warmup)
    rows: list[Result | None] = []
    if gpu:
        for attn in args.attn.split(","):
            label = f"ours grouped_mm {attn} compile={args.compile_layers}"
            kw = dict(expert_impl="grouped_mm", attn_impl=attn, compile_layers=args.compile_layers, packed=True,
                      ckpt=False, state=state)
            r = _guarded(bench_ours, label, **common, **kw)
            if "OutOfMemory" in r.note and common["batch"] > 1:  # halve the micro-batch once and retry
                common["batch"] = batch = common["batch"] // 2
                r = _guarded(bench_ours, label, **common, **kw)
            rows.append(r)
        rows.append(_guarded(bench_ours, "ours grouped_mm 1 doc/row", **common, expert_impl="grouped_mm",
                             attn_impl="sdpa", compile_layers=False, packed=False, ckpt=False, state=state))
    else:
        for impl in ("grouped_mm", "bmm"):
            rows.append(_guarded(bench_ours, f"ours {impl}", **common, expert_impl=impl, attn_impl="sdpa",
                                 compile_layers=False, packed=False, ckpt=False, state=state))
        rows.append(_guarded(bench_ours, "ours grouped_mm packed", **common, expert_impl="grouped_mm",
                             attn_impl="sdpa", compile_layers=False, packed=True, ckpt=False, state=state))
    if not args.no_peer:
        for impl in ("eager", "grouped_mm"):
            rows.append(_guarded(bench_hf, f"peer transformers {impl}", **common, experts_impl=impl, state=hf_state))
    rows = [r for r in rows if r is not None]

    name = torch.cuda.get_device_name(device) if gpu else f"CPU x{torch.get_num_threads()} threads"
    title = (f"### Trainer step throughput: {preset} ({total / 1e9:.3f} B total, {active / 1e9:.3f} B active), "
          f"T={seq}, micro-batch {batch}, {steps} timed steps after {warmup} warm-up, {name}, "
          f"{'bf16 autocast' if gpu else 'fp32'}")
    table = markdown_table(
        ["configuration", "tokens/s (best step)", "tokens/s (median)", "tokens/CPU-s", "model TFLOP/s", "MFU", "peak mem GiB", "expert-GEMM share", "note"],
        [[r.name, r.tokens_per_s, r.median_tokens_per_s, r.tokens_per_cpu_s, f"{r.tflops:.4f}", f"{r.mfu:.1%}" if r.mfu is not None else "n/a",
          r.mem_gib, f"{r.expert_share:.0%}" if r.expert_share is not None else "n/a", r.note] for r in rows],
    )
    print(f"\n{title}\n\n{table}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"trainer_{preset}_T{seq}"
        (out / f"{stem}.md").write_text(f"{title}\n\n{table}\n")
        (out / f"{stem}.json").write_text(json.dumps(
            {"preset": preset, "seq_len": seq, "micro_batch": batch, "device": name,
             "total_params": total, "active_params": active, "rows": [asdict(r) for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
