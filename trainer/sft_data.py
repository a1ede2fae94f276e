"""SFT loader: packed rows of whole conversations with a loss mask (``core.sft_shards`` format).

Every row of every shard is one sample: its conversations are laid out from position 0, the rest
of the ``L + 1`` tokens is padding. Epoch ``e`` visits all rows in a seeded permutation; global step
``s`` holds samples ``[s*B*W, (s+1)*B*W)`` and data-parallel rank ``r`` takes its contiguous ``B``.
Batches carry ``labels`` (``tokens[:, 1:]`` with -100 wherever the target token is not assistant
output, and on padding), which the training loop hands to the loss. ``segment_ids`` number the
conversations of a row (padding is one more segment), so attention never crosses conversations.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.io import read_json
from core.sft_shards import FORMAT, MANIFEST, SFTShard, SFTShardError, read_sft_shard

IGNORE_INDEX = -100


def open_sft_dir(directory: str | Path) -> tuple[dict[str, Any], list[SFTShard]]:
    """The manifest and shards of an SFT shard directory (refused, by name, when not one)."""
    d = Path(directory)
    if not (d / MANIFEST).is_file():
        raise SFTShardError(f"no {MANIFEST} in {d} (not an SFT shard directory)")
    manifest = read_json(d / MANIFEST)
    if manifest.get("format") != FORMAT:
        raise SFTShardError(f"{d / MANIFEST}: format is {manifest.get('format')!r}, not {FORMAT!r}")
    shards = [read_sft_shard(d / s["prefix"]) for s in manifest["shards"]]
    return manifest, shards


class SFTLoader:
    """Endless iterator of SFT micro-batches for one data-parallel rank; resumes exactly."""

    def __init__(self, directories: list[str], seq_len: int, micro_batch: int, dp_rank: int = 0,
                 dp_world: int = 1, seed: int = 0, vocab_size: int | None = None) -> None:
        if not directories:
            raise ValueError("data.prefixes must name at least one SFT shard directory")
        self.directories = [str(d) for d in directories]
        self.seq_len, self.micro_batch = int(seq_len), int(micro_batch)
        self.dp_rank, self.dp_world, self.seed = int(dp_rank), int(dp_world), int(seed)
        self._rows: list[tuple[SFTShard, int]] = []
        self._source: list[int] = []
        self.pad_id = 0
        for k, d in enumerate(self.directories):
            manifest, shards = open_sft_dir(d)
            if manifest["row_tokens"] > self.seq_len + 1:
                raise ValueError(f"{d}: rows hold up to {manifest['row_tokens']} tokens, more than "
                                 f"seq_len + 1 = {self.seq_len + 1}; rebuild with pack.seq_len <= {self.seq_len}")
            vocab = manifest["tokenizer"]["vocab_size"]
            if vocab_size is not None and vocab != vocab_size:
                raise ValueError(f"{d}: shards have vocab size {vocab}, model has {vocab_size} (tokenizer mismatch)")
            self.pad_id = int(manifest["pad_id"])
            for s in shards:
                self._rows += [(s, r) for r in range(s.rows)]
                self._source += [k] * s.rows
        if not self._rows:
            raise ValueError(f"no packed rows in {self.directories}")
        self.consumed_samples = 0
        self._perm: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def _row_of(self, k: int) -> int:
        e, i = divmod(k, len(self._rows))
        if self._perm is None or self._perm[0] != e:
            self._perm = (e, np.random.default_rng([self.seed, e, 5]).permutation(len(self._rows)))
        return int(self._perm[1][i])

    def sample(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(tokens [L+1], labels [L], segment ids [L], source index) of global sample ``k``."""
        L = self.seq_len
        shard, r = self._rows[self._row_of(k)]
        toks, mask, lens = shard.row(r)
        n = toks.size
        tokens = np.full(L + 1, self.pad_id, np.int64)
        tokens[:n] = toks
        target = np.zeros(L + 1, bool)
        target[:n] = mask.astype(bool)
        labels = np.where(target[1:], tokens[1:], IGNORE_INDEX)
        seg = np.repeat(np.arange(lens.size + 1, dtype=np.int32), np.append(lens, L + 1 - n))[:L]
        return tokens, labels, seg, self._source[self._row_of(k)]

    def next_batch(self) -> dict[str, torch.Tensor]:
        B, L = self.micro_batch, self.seq_len
        start = self.consumed_samples + self.dp_rank * B
        tokens = np.empty((B, L + 1), np.int64)
        labels = np.empty((B, L), np.int64)
        seg = np.empty((B, L), np.int32)
        src = np.empty(B, np.int64)
        for b in range(B):
            tokens[b], labels[b], seg[b], src[b] = self.sample(start + b)
        self.consumed_samples += B * self.dp_world
        return {"tokens": torch.from_numpy(tokens), "labels": torch.from_numpy(labels),
                "segment_ids": torch.from_numpy(seg), "source_ids": torch.from_numpy(src)}

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "sft", "consumed_samples": self.consumed_samples, "seed": self.seed,
                "seq_len": self.seq_len, "directories": self.directories, "rows": len(self._rows)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("kind", "seed", "seq_len", "directories", "rows"):
            mine = self.state_dict()[key]
            if state.get(key) != mine:
                raise ValueError(f"loader state has {key}={state.get(key)!r}, loader has {mine!r}")
        self.consumed_samples = int(state["consumed_samples"])

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        while True:
            yield self.next_batch()
