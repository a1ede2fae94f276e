"""Router and expert-load statistics for logging."""

from __future__ import annotations

import torch

from trainer.moe import Router


def expert_load_stats(counts: torch.Tensor, routers: list[Router]) -> dict[str, float | list]:
    """Summaries of tokens-per-expert ``counts`` ``[layers, E]`` and of the balancing biases.

    ``max_violation`` is DeepSeek's MaxVio: ``(max load - mean load) / mean load``, per layer.
    """
    if counts.numel() == 0:
        return {}
    load = counts.double().cpu()
    mean = load.mean(1, keepdim=True).clamp_min(1e-12)
    maxvio = ((load.max(1, keepdim=True).values - mean) / mean).squeeze(1)
    cv = load.std(1) / mean.squeeze(1)
    biases = torch.stack([r.e_score_correction_bias.detach().float().cpu() for r in routers])
    return {
        "maxvio_mean": float(maxvio.mean()),
        "maxvio_max": float(maxvio.max()),
        "load_cv_mean": float(cv.mean()),
        "dead_experts": int((load == 0).sum()),
        "bias_abs_mean": float(biases.abs().mean()),
        "bias_range": float(biases.max() - biases.min()),
        "load_per_layer": load.to(torch.int64).tolist(),
    }
