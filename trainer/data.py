"""Training data loader over packed token shards (Megatron ``.bin``/``.idx`` or datatrove ``.ds``).

Each source (a shard prefix, or a directory of ``part-*`` shards with its ``manifest.json``) is an
endless token stream: epoch ``e`` visits its shards in a seeded order and each shard's documents in
a seeded order, concatenated (memory stays bounded by the shards being read, not the corpus).
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

import logging
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.indexed import ShardError, ShardExtent, TokenDocs, read_ds, read_megatron, shard_extent
from core.io import read_json

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_STATE_VERSION = 2  # 2: shard-then-document epoch order


class _Source:
    """One source's shards, opened lazily: memory is O(shards) plus a bounded cache of opened shards.

    At construction each shard costs a constant number of bytes read (``shard_extent``); a shard's
    document offsets (8 bytes per document) are read only while its documents are being served.
    """

    def __init__(self, name: str, extents: list[ShardExtent], manifest: dict[str, Any] | None,
                 max_open: int = 256, max_open_docs: int = 4_000_000) -> None:
        self.name, self.extents, self.manifest = name, extents, manifest
        self.shard_tokens = np.array([e.n_tokens for e in extents], np.int64)
        self.total = int(self.shard_tokens.sum())
        self.vocab_limit: int | None = None  # checked per shard on open when there is no manifest
        # open shards hold two memory maps (two descriptors) and 8 bytes per document: bounded
        # both ways; a shuffle window over small shards touches many of them at once
        self._open: OrderedDict[int, TokenDocs] = OrderedDict()
        self._max_open, self._max_open_docs, self._open_docs = max_open, max_open_docs, 0

    def shard(self, k: int) -> TokenDocs:
        docs = self._open.get(k)
        if docs is None:
            ext = self.extents[k]
            docs = read_ds(ext.path, ext.token_size) if ext.path.suffix == ".ds" else read_megatron(ext.path)
            if len(docs) != ext.n_docs or int(docs.offsets[-1]) != ext.n_tokens:
                raise ShardError(f"shard changed since the loader opened it: {docs.path}")
            if self.vocab_limit is not None and docs.tokens.size and int(docs.tokens.max()) >= self.vocab_limit:
                raise ValueError(f"{docs.path}: token id {int(docs.tokens.max())} >= vocab size "
                                 f"{self.vocab_limit} (tokenizer mismatch)")
            self._open[k] = docs
            self._open_docs += len(docs)
            while len(self._open) > 1 and (len(self._open) > self._max_open
                                           or self._open_docs > self._max_open_docs):
                self._open_docs -= len(self._open.popitem(last=False)[1])
        else:
            self._open.move_to_end(k)
        return docs


def _open_source(prefix: str) -> _Source:
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
    extents = [shard_extent(q, _ds_token_size(q, manifest)) for q in paths]
    src = _Source(str(p), extents, manifest)
    if not extents or src.total == 0:
        raise ShardError(f"no tokens in {p}")
    return src


def _dir_shards(d: Path, manifest: dict[str, Any] | None) -> list[Path]:
    if manifest is not None:
        use_ds = "megatron" not in manifest.get("formats", ["megatron"])
        rels = [f["prefix"] for s in manifest["sources"].values() for f in s["files"]]
        return [d / (r + ".ds") if use_ds else d / r for r in rels]
    idx = sorted(q.with_suffix("") for q in d.glob("*.idx"))
    return idx or sorted(d.glob("*.ds"))


def _ds_token_size(path: Path, manifest: dict[str, Any] | None) -> int:
    if path.suffix != ".ds":
        return 4  # Megatron shards carry their dtype in the index header
    if manifest is not None:
        return 2 if manifest.get("dtype") == "uint16" else 4
    meta = path.with_name(path.name + ".metadata")
    return int(meta.read_text().splitlines()[0].rsplit("|", 1)[-1]) if meta.is_file() else 4


def _check_tokenizer(src: _Source, vocab_size: int | None, fingerprint: str | None) -> None:
    """Refuse shards written by another tokenizer (manifest), or holding out-of-vocabulary ids
    (without a manifest: checked as each shard is opened)."""
    if vocab_size is None and fingerprint is None:
        return
    m = src.manifest
    if m is None:
        if fingerprint is not None:
            raise ValueError(f"{src.name}: no {MANIFEST} to verify the tokenizer fingerprint against")
        src.vocab_limit = vocab_size
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
    """One source as an endless, epoch-shuffled token stream cut into (L+1)-token samples.

    Epoch ``e`` visits the shards in a seeded order and each shard's documents in a seeded order of
    their own, so only the shards being read need a document order in memory (a bounded cache of
    shard orders, by document count). With one shard this is a plain permutation of its documents.
    """

    def __init__(self, src: _Source, seq_len: int, seed: int, index: int, window: int,
                 cache_docs: int = 4_000_000) -> None:
        self.src, self.L, self.seed, self.index = src, seq_len, seed, index
        self.total = src.total
        # windows no larger than an epoch, so one window touches at most two epochs
        self.window = max(1, min(window, self.total // seq_len))
        self._epochs: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._orders: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached_docs, self._cache_docs = 0, cache_docs
        self._windows: OrderedDict[int, np.ndarray] = OrderedDict()

    def _epoch(self, e: int) -> tuple[np.ndarray, np.ndarray]:
        """(shard order, cumulative token starts of the shards in that order) of epoch ``e``."""
        if e not in self._epochs:
            n = self.src.shard_tokens.size
            order = np.random.default_rng([self.seed, self.index, e, 3]).permutation(n)
            cum = np.zeros(n + 1, np.int64)
            np.cumsum(self.src.shard_tokens[order], out=cum[1:])
            self._epochs[e] = (order, cum)
            while len(self._epochs) > 2:
                self._epochs.popitem(last=False)
        return self._epochs[e]

    def _shard_order(self, e: int, k: int, docs: TokenDocs) -> tuple[np.ndarray, np.ndarray]:
        """(document order, cumulative token starts) of shard ``k`` in epoch ``e``."""
        key = (e, k)
        got = self._orders.get(key)
        if got is not None:
            self._orders.move_to_end(key)
            return got
        rng = np.random.default_rng([self.seed, self.index, e, k, 4])
        n = len(docs)
        order = rng.permutation(n).astype(np.int32 if n < 2**31 else np.int64)
        cum = np.zeros(n + 1, np.int64)
        np.cumsum(docs.offsets[order + 1] - docs.offsets[order], out=cum[1:])
        self._orders[key] = (order, cum)
        self._cached_docs += n
        while self._cached_docs > self._cache_docs and len(self._orders) > 1:
            _, (old, _) = self._orders.popitem(last=False)
            self._cached_docs -= old.size
        return order, cum

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
        while need > 0:
            e, off = divmod(pos, self.total)
            shard_order, shard_cum = self._epoch(e)
            slot = int(np.searchsorted(shard_cum, off, side="right")) - 1  # skips empty shards
            k_shard = int(shard_order[slot])
            off -= int(shard_cum[slot])
            docs = self.src.shard(k_shard)
            order, cum = self._shard_order(e, k_shard, docs)
            end = min(off + need, int(cum[-1]))
            j0 = int(np.searchsorted(cum, off, side="right")) - 1
            j1 = int(np.searchsorted(cum, end, side="left"))
            picked = order[j0:j1]
            starts = docs.offsets[picked]
            plen = docs.offsets[picked + 1] - starts
            skip = off - cum[j0]
            starts[0] += skip
            plen[0] -= skip
            plen[-1] -= int(cum[j1]) - end
            for st, n in zip(starts.tolist(), plen.tolist()):
                if n:
                    out[filled:filled + n] = docs.tokens[st:st + n]
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
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"loader state version {state.get('version')} is not {_STATE_VERSION}: it was "
                             "saved by a loader with another sample order and cannot resume exactly")
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
