"""A seeded stand-in for ``PackedLoader`` with the same batch contract, for smoke runs and benchmarks.

Rows are packed documents of random length; each document follows a fixed random first-order
Markov chain over the vocabulary (a few likely successors per token), so a model can learn it and
the loss falls. Row ``i`` of the global batch stream depends only on (seed, i): resuming is exact and
any (ranks x micro-batch) split of the same global batch sees the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


class SyntheticLoader:
    """Yields ``{"tokens": int64 [B, T+1], "segment_ids": int32 [B, T]}`` forever."""

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        micro_batch: int,
        dp_rank: int = 0,
        dp_world: int = 1,
        seed: int = 0,
        mean_doc_len: int = 96,
        successors: int = 4,
    ) -> None:
        self.vocab_size = vocab_size
        self.seq_len = seq_len
        self.micro_batch = micro_batch
        self.dp_rank = dp_rank
        self.dp_world = dp_world
        self.seed = seed
        self.mean_doc_len = mean_doc_len
        table_rng = np.random.default_rng(seed)
        self._next = table_rng.integers(0, vocab_size, size=(vocab_size, successors))
        self._batches = 0

    def _row(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n = self.seq_len + 1
        tokens = np.empty(n, dtype=np.int64)
        seg = np.empty(n, dtype=np.int32)
        pos, doc = 0, 0
        while pos < n:
            length = min(n - pos, int(rng.integers(8, 2 * self.mean_doc_len)))
            choice = rng.integers(0, self._next.shape[1], size=length)
            tok = int(rng.integers(0, self.vocab_size))
            for i in range(length):
                tokens[pos + i] = tok
                tok = int(self._next[tok, choice[i]])
            seg[pos : pos + length] = doc
            pos += length
            doc += 1
        return tokens, seg[:-1]

    def next_batch(self) -> dict[str, torch.Tensor]:
        # Row i of global step s is the same whatever the split into ranks x micro-batch.
        first = (self._batches * self.dp_world + self.dp_rank) * self.micro_batch
        rows = [self._row(np.random.default_rng([self.seed, first + i])) for i in range(self.micro_batch)]
        self._batches += 1
        return {
            "tokens": torch.from_numpy(np.stack([r[0] for r in rows])),
            "segment_ids": torch.from_numpy(np.stack([r[1] for r in rows])),
        }

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        while True:
            yield self.next_batch()

    def state_dict(self) -> dict[str, int]:
        return {"batches": self._batches, "seed": self.seed, "dp_rank": self.dp_rank}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state["seed"] != self.seed:
            raise ValueError("loader state was saved with another seed")
        self._batches = int(state["batches"])
