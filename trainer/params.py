"""``python -m trainer.params [PRESET ...]``: parameter counts of presets, built on the meta device.

``--plan N_GPUS`` prints the per-GPU memory plan of one preset (default ``axk1-full``) instead.
"""

from __future__ import annotations

import argparse

from trainer import memory_plan
from trainer.config import PRESETS, get_config
from trainer.flops import linear_flops_per_token
from trainer.model import build_model, count_parameters


def describe(preset: str) -> dict[str, float | int | str]:
    """Total and active parameters and forward matmul GFLOPs per token; allocates nothing."""
    cfg = get_config(preset)
    total, active = count_parameters(build_model(cfg, "meta"), cfg)
    return {
        "preset": preset,
        "total": total,
        "active": active,
        "fwd_gflops_per_token": sum(linear_flops_per_token(cfg).values()) / 1e9,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("presets", nargs="*", default=sorted(PRESETS))
    ap.add_argument("--plan", type=int, metavar="N_GPUS", help="per-GPU memory plan on N GPUs")
    memory_plan.add_arguments(ap)
    args = ap.parse_args(argv)
    if args.plan:
        return memory_plan.run(args.plan, args, args.presets[0] if args.presets != sorted(PRESETS) else "axk1-full")
    print(f"{'preset':<12} {'total':>18} {'active':>16} {'fwd GFLOP/token':>16}")
    for name in args.presets:
        d = describe(name)
        print(f"{d['preset']:<12} {d['total']:>18,} {d['active']:>16,} {d['fwd_gflops_per_token']:>16.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
