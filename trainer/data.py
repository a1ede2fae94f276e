"""Training data loader over packed token shards (Megatron ``.bin``/``.idx`` or datatrove ``.ds``).

Each source (a shard prefix, or a directory of ``part-*`` shards with its ``manifest.json``) is an
endless token stream: epoch ``e`` is the source's documents in a seeded permutation, concatenated.
Sample ``k`` of a source is stream tokens ``[k*L, k*L + L + 1)`` (Megatron's one-token overlap, so
every token is a label exactly once), after a seeded shuffle of samples within windows. Sources are
blended per global sample with Megatron's error-minimising schedule (pick the source whose achieved
share lags its weight most). Global step ``s`` holds samples ``[s*B*W, (s+1)*B*W)``; data-parallel
rank ``r`` takes its contiguous ``B`` of them. The state is (consumed samples, blend counts), so a
resumed run yields exactly the batches an uninterrupted one would.

Documents longer than ``L`` simply continue in the source's next sample. ``segment_ids`` number
the documents inside each row (0 for whatever the row starts with), so attention can be
restricted to each document. All token work is numpy slicing over memory maps.
"""

from __future__ import annotations

import bisect
import logging
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipeline.io import read_json
from tokenizer.indexed import ShardError, TokenDocs, open_shard, read_ds

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_STATE_VERSION = 1


@dataclass
class _Shards:
    """All documents of one source as one virtual token array over its shard memmaps.

    ``starts`` holds every document's first token in that array plus the end (int64, 8 bytes per
    document: lengths are its differences and documents never cross shards).
    """

    name: str
    tokens: list[np.ndarray]  # one memmap per shard
    shard_starts: list[int]  # first virtual token of each shard
    starts: np.ndarray
    manifest: dict[str, Any] | None

    @property
    def total(self) -> int:
        return int(self.starts[-1])

    @property
    def n_docs(self) -> int:
        return self.starts.size - 1

    def lengths(self, docs: np.ndarray) -> np.ndarray:
        return self.starts[docs + 1] - self.starts[docs]

    def copy_piece(self, start: int, n: int, out: np.ndarray) -> None:
        k = bisect.bisect_right(self.shard_starts, start) - 1
        s = start - self.shard_starts[k]
        out[:] = self.tokens[k][s:s + n]


def _open_source(prefix: str) -> _Shards:
    """Resolve a prefix: a shard (``.../part-00000`` or ``x.ds``) or a directory of shards."""
    p = Path(prefix)
    manifest_path = (p if p.is_dir() else p.parent) / MANIFEST
    manifest = read_json(manifest_path) if manifest_path.is_file() else None
    if p.is_dir():
        paths = _dir_shards(p, manifest)
    elif p.suffix == ".ds" or p.with_name(p.name + ".idx").exists() or p.with_name(p.name + ".bin").exists():
        paths = [p]
    else:
        raise ShardError(f"missing shard file: {p}.idx (no such shard, .ds file or directory)")
    shards = [_open_one(q, manifest) for q in paths]
    if not shards or sum(int(s.offsets[-1]) for s in shards) == 0:
        raise ShardError(f"no tokens in {p}")
    shard_starts = np.concatenate([[0], np.cumsum([int(s.offsets[-1]) for s in shards])]).astype(np.int64)
    starts = np.concatenate([s.offsets[:-1] + base for s, base in zip(shards, shard_starts[:-1])]
                            + [shard_starts[-1:]])
    return _Shards(name=str(p), tokens=[s.tokens for s in shards], shard_starts=shard_starts[:-1].tolist(),
                   starts=starts, manifest=manifest)


def _dir_shards(d: Path, manifest: dict[str, Any] | None) -> list[Path]:
    if manifest is not None:
        use_ds = "megatron" not in manifest.get("formats", ["megatron"])
        rels = [f["prefix"] for s in manifest["sources"].values() for f in s["files"]]
        return [d / (r + ".ds") if use_ds else d / r for r in rels]
    idx = sorted(q.with_suffix("") for q in d.glob("*.idx"))
    return idx or sorted(d.glob("*.ds"))


def _open_one(path: Path, manifest: dict[str, Any] | None) -> TokenDocs:
    if path.suffix == ".ds":
        size = 2 if manifest is not None and manifest.get("dtype") == "uint16" else 4
        meta = path.with_name(path.name + ".metadata")
        if manifest is None and meta.is_file():
            size = int(meta.read_text().splitlines()[0].rsplit("|", 1)[-1])
        return read_ds(path, size)
    return open_shard(path)


def _check_tokenizer(src: _Shards, vocab_size: int | None, fingerprint: str | None) -> None:
    """Refuse shards written by another tokenizer (manifest) or holding out-of-vocabulary ids."""
    if vocab_size is None and fingerprint is None:
        return
    m = src.manifest
    if m is None:
        if fingerprint is not None:
            raise ValueError(f"{src.name}: no {MANIFEST} to verify the tokenizer fingerprint against")
        top = max((int(t.max()) for t in src.tokens if t.size), default=0)
        if top >= vocab_size:
            raise ValueError(f"{src.name}: token id {top} >= vocab size {vocab_size} (tokenizer mismatch)")
        return
    info = m.get("tokenizer", {})
    if fingerprint is not None and info.get("fingerprint") != fingerprint:
        raise ValueError(f"{src.name}: shards were tokenized with fingerprint {info.get('fingerprint')}, "
                         f"not {fingerprint} (tokenizer mismatch)")
    if vocab_size is not None:
        if info.get("vocab_size") != vocab_size:
            raise ValueError(f"{src.name}: shards have vocab size {info.get('vocab_size')}, model has "
                             f"{vocab_size} (tokenizer mismatch)")
        top = max((f.get("max_token_id", 0) for s in m["sources"].values() for f in s["files"]), default=0)
        if top >= vocab_size:
            raise ValueError(f"{src.name}: token id {top} >= vocab size {vocab_size}")


class _Stream:
    """One source as an endless, epoch-shuffled token stream cut into (L+1)-token samples."""

    def __init__(self, src: _Shards, seq_len: int, seed: int, index: int, window: int) -> None:
        self.src, self.L, self.seed, self.index = src, seq_len, seed, index
        self.total = src.total
        # windows no larger than an epoch, so one window touches at most two cached epochs
        self.window = max(1, min(window, self.total // seq_len))
        self._epochs: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._windows: OrderedDict[int, np.ndarray] = OrderedDict()

    def _epoch(self, e: int) -> tuple[np.ndarray, np.ndarray]:
        """(document order, cumulative token starts) of epoch ``e``; cached for the last two."""
        if e not in self._epochs:
            rng = np.random.default_rng([self.seed, self.index, e, 1])
            n = self.src.n_docs
            order = rng.permutation(n).astype(np.int32 if n < 2**31 else np.int64)
            cum = np.zeros(n + 1, np.int64)
            np.cumsum(self.src.lengths(order), out=cum[1:])
            self._epochs[e] = (order, cum)
            while len(self._epochs) > 2:
                self._epochs.popitem(last=False)
        return self._epochs[e]

    def _shuffled(self, k: int) -> int:
        """Shuffle sample ids within windows so a long document's pieces do not land side by side."""
        w, i = divmod(k, self.window)
        if w not in self._windows:
            self._windows[w] = np.random.default_rng([self.seed, self.index, w, 2]).permutation(self.window)
            while len(self._windows) > 2:
                self._windows.popitem(last=False)
        return w * self.window + int(self._windows[w][i])

    def sample(self, k: int, out: np.ndarray, seg: np.ndarray) -> None:
        """Fill ``out`` (L+1 tokens) and ``seg`` (L segment ids) with sample ``k``."""
        pos, need, filled = self._shuffled(k) * self.L, self.L + 1, 0
        lens: list[np.ndarray] = []
        src = self.src
        while need > 0:
            e, off = divmod(pos, self.total)
            order, cum = self._epoch(e)
            j0 = int(np.searchsorted(cum, off, side="right")) - 1
            end = min(off + need, self.total)
            j1 = int(np.searchsorted(cum, end, side="left"))
            docs = order[j0:j1]
            starts = src.starts[docs]
            plen = src.starts[docs + 1] - starts
            skip = off - cum[j0]
            starts[0] += skip
            plen[0] -= skip
            plen[-1] -= int(cum[j1]) - end
            for st, n in zip(starts.tolist(), plen.tolist()):
                if n:
                    src.copy_piece(st, n, out[filled:filled + n])
                    filled += n
            lens.append(plen[plen > 0])
            got = int(plen.sum())
            pos += got
            need -= got
        piece = np.concatenate(lens)
        seg[:] = np.repeat(np.arange(piece.size, dtype=np.int32), piece)[: self.L]


def blend_schedule(weights: np.ndarray, counts: np.ndarray, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sources and per-source sample ids for global samples ``[start, start+n)``; updates ``counts``.

    Megatron's BlendedDataset rule: sample ``i`` goes to ``argmax_d(w_d * (i+1) - counts_d)``
    (first on ties), which keeps every prefix of the schedule as close to the weights as possible.
    """
    src = np.empty(n, np.int64)
    idx = np.empty(n, np.int64)
    if weights.size == 1:
        src[:] = 0
        idx[:] = counts[0] + np.arange(n)
        counts[0] += n
        return src, idx
    w = weights.tolist()
    c = counts.tolist()
    rng = range(len(w))
    for t in range(n):
        i1 = start + t + 1
        d = max(rng, key=lambda j: (w[j] * i1 - c[j], -j))
        src[t], idx[t] = d, c[d]
        c[d] += 1
    counts[:] = c
    return src, idx


class PackedLoader:
    """Endless iterator of fixed-length packed batches for one data-parallel rank.

    Yields ``{"tokens": int64 [B, L+1], "segment_ids": int32 [B, L], "source_ids": int64 [B]}``:
    inputs are ``tokens[:, :-1]``, labels ``tokens[:, 1:]``; ``segment_ids`` restart at 0 on every
    row and increase at each document start. ``state_dict()`` after any batch resumes exactly.
    """

    def __init__(self, prefixes: list[str], weights: list[float], seq_len: int, micro_batch: int,
                 dp_rank: int = 0, dp_world: int = 1, seed: int = 0, vocab_size: int | None = None,
                 tokenizer_fingerprint: str | None = None, shuffle_window: int = 4096) -> None:
        if len(prefixes) != len(weights) or not prefixes:
            raise ValueError("need one weight per prefix and at least one prefix")
        w = np.asarray(weights, np.float64)
        if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError(f"mixture weights must be non-negative with a positive sum: {weights}")
        if seq_len < 1 or micro_batch < 1 or not 0 <= dp_rank < dp_world:
            raise ValueError("bad seq_len / micro_batch / dp_rank / dp_world")
        self.prefixes, self.weights = [str(p) for p in prefixes], w / w.sum()
        self.seq_len, self.micro_batch = int(seq_len), int(micro_batch)
        self.dp_rank, self.dp_world, self.seed = int(dp_rank), int(dp_world), int(seed)
        self.shuffle_window = int(shuffle_window)
        sources = [_open_source(p) for p in self.prefixes]
        for s in sources:
            _check_tokenizer(s, vocab_size, tokenizer_fingerprint)
        self._streams = [_Stream(s, self.seq_len, self.seed, i, self.shuffle_window)
                         for i, s in enumerate(sources)]
        self.consumed_samples = 0
        self._counts = np.zeros(len(sources), np.int64)

    @property
    def tokens_per_source(self) -> list[int]:
        return [s.total for s in self._streams]

    def state_dict(self) -> dict[str, Any]:
        return {"version": _STATE_VERSION, "consumed_samples": self.consumed_samples,
                "blend_counts": self._counts.tolist(), "seed": self.seed, "seq_len": self.seq_len,
                "micro_batch": self.micro_batch, "dp_world": self.dp_world, "prefixes": self.prefixes,
                "weights": self.weights.tolist(), "shuffle_window": self.shuffle_window}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("seed", "seq_len", "prefixes", "shuffle_window"):
            if state[key] != getattr(self, key):
                raise ValueError(f"loader state has {key}={state[key]!r}, loader has {getattr(self, key)!r}")
        if not np.allclose(state["weights"], self.weights, rtol=0, atol=1e-12):
            raise ValueError("loader state was saved with other mixture weights")
        if (state["micro_batch"], state["dp_world"]) != (self.micro_batch, self.dp_world):
            log.warning("resuming with a different global batch (%d x %d -> %d x %d); sample order "
                        "continues from consumed_samples", state["micro_batch"], state["dp_world"],
                        self.micro_batch, self.dp_world)
        self.consumed_samples = int(state["consumed_samples"])
        self._counts = np.asarray(state["blend_counts"], np.int64).copy()

    def next_batch(self) -> dict[str, torch.Tensor]:
        """Build this rank's micro-batch of the next global step and advance the state."""
        B, L = self.micro_batch, self.seq_len
        g = B * self.dp_world
        src, idx = blend_schedule(self.weights, self._counts, self.consumed_samples, g)
        lo = self.dp_rank * B
        tokens = np.empty((B, L + 1), np.int64)
        seg = np.empty((B, L), np.int32)
        for row, (d, k) in enumerate(zip(src[lo:lo + B].tolist(), idx[lo:lo + B].tolist())):
            self._streams[d].sample(k, tokens[row], seg[row])
        self.consumed_samples += g
        return {"tokens": torch.from_numpy(tokens), "segment_ids": torch.from_numpy(seg),
                "source_ids": torch.from_numpy(src[lo:lo + B].copy())}

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        while True:
            yield self.next_batch()
