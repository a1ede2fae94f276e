"""Learning-rate schedules: linear warmup then cosine, warmup-stable-decay (WSD), or constant."""

from __future__ import annotations

import math

from trainer.job import ScheduleSection


def lr_at(step: int, total_steps: int, s: ScheduleSection) -> float:
    """Learning rate for optimizer step ``step`` (0-based) of ``total_steps``."""
    if s.warmup_steps > 0 and step < s.warmup_steps:
        return s.lr * (step + 1) / s.warmup_steps
    min_lr = s.lr * s.min_lr_ratio
    if s.kind == "constant":
        return s.lr
    if s.kind == "cosine":
        span = max(1, total_steps - s.warmup_steps)
        progress = min(1.0, (step - s.warmup_steps) / span)
        return min_lr + 0.5 * (s.lr - min_lr) * (1 + math.cos(math.pi * progress))
    # WSD: hold the peak, then decay linearly over the last ``decay_fraction`` of the run.
    decay_steps = max(1, int(round(total_steps * s.decay_fraction)))
    decay_start = total_steps - decay_steps
    if step < decay_start:
        return s.lr
    progress = min(1.0, (step - decay_start) / decay_steps)
    return s.lr + (min_lr - s.lr) * progress
