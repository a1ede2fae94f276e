"""Cross-entropy of the LM head without materialising the full ``[tokens, vocab]`` fp32 logits.

``chunked_cross_entropy(h, W, labels)`` equals ``F.cross_entropy((h @ W^T).float(), labels,
ignore_index=-100)`` (mean over the labelled tokens). Forward walks the tokens in chunks, keeping only
each token's log-sum-exp; backward recomputes each chunk's logits and forms the gradients
``dh = (softmax - onehot) W`` and ``dW += (softmax - onehot)^T h`` chunk by chunk. Peak extra memory
is one chunk of fp32 logits (``chunk x vocab x 4`` bytes, 1.3 GiB for 2,048 tokens at 163,840) instead
of the whole batch's; the price is one more head matmul (the recomputation).
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


def _compute_dtype(h: torch.Tensor) -> torch.dtype:
    if torch.is_autocast_enabled(h.device.type):
        return torch.get_autocast_dtype(h.device.type)
    return h.dtype


class _ChunkedLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, weight, labels, chunk: int, dtype: torch.dtype):  # noqa: D102
        n = h.shape[0]
        w = weight.to(dtype)
        lse = torch.empty(n, dtype=torch.float32, device=h.device)
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        valid = labels != IGNORE_INDEX
        for s in range(0, n, chunk):
            logits = (h[s : s + chunk].to(dtype) @ w.T).float()
            lse[s : s + chunk] = torch.logsumexp(logits, dim=-1)
            target = logits.gather(1, labels[s : s + chunk].clamp_min(0).unsqueeze(1)).squeeze(1)
            total += ((lse[s : s + chunk] - target) * valid[s : s + chunk]).sum()
        count = valid.sum().clamp_min(1)
        ctx.save_for_backward(h, weight, labels, lse, count)
        ctx.chunk, ctx.dtype = chunk, dtype
        return total / count

    @staticmethod
    def backward(ctx, grad_out):  # noqa: D102
        h, weight, labels, lse, count = ctx.saved_tensors
        chunk, dtype = ctx.chunk, ctx.dtype
        w = weight.to(dtype)
        scale = (grad_out / count).float()
        dh = torch.empty_like(h)
        dw = torch.zeros_like(weight)
        for s in range(0, h.shape[0], chunk):
            hc = h[s : s + chunk].to(dtype)
            lab = labels[s : s + chunk]
            valid = (lab != IGNORE_INDEX).unsqueeze(1)
            probs = torch.exp((hc @ w.T).float() - lse[s : s + chunk].unsqueeze(1))
            probs.scatter_add_(1, lab.clamp_min(0).unsqueeze(1), torch.full_like(lse[s : s + chunk], -1.0).unsqueeze(1))
            g = (probs * (valid * scale)).to(dtype)
            dh[s : s + chunk] = (g @ w).to(h.dtype)
            dw.add_(g.T @ hc)
        return dh, dw, None, None, None


def chunked_cross_entropy(
    h: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int = 2048
) -> torch.Tensor:
    """Mean token cross-entropy of ``h`` ``[..., D]`` through the head ``weight`` ``[V, D]``.

    Matmuls run in the autocast dtype when autocast is on (as ``nn.Linear`` would), softmax and the
    loss in fp32; labels equal to -100 are ignored.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    dtype = _compute_dtype(h)
    d = h.shape[-1]
    with torch.autocast(h.device.type, enabled=False):
        return _ChunkedLinearCrossEntropy.apply(h.reshape(-1, d), weight, labels.reshape(-1), chunk, dtype)
