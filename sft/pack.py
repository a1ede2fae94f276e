"""Tokenise examples with the chat template and pack whole conversations into SFT shards.

Each loss segment (``sft.render``) is encoded on its own with the folder's ``tokenizer.json``, so a
token never straddles the prompt/answer boundary and the prompt tokens are exactly those a model
sees at inference (the template's generation prompt, encoded alone). Conversations longer than a row
(``seq_len + 1`` tokens) are rejected as ``too_long``, never cut. Rows are filled best-fit among at
most ``max_open_rows`` open rows, in example order; a full or evicted row is written at once.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer
from tqdm import tqdm

from core.io import write_json_atomic
from core.sft_shards import FORMAT, MANIFEST, SFTShardWriter, token_dtype
from core.stats import StageStats
from sft.config import PackSection
from sft.render import ChatRenderer
from tokenizer.specials import PAD

log = logging.getLogger(__name__)


class ConversationEncoder:
    """Chat template + fast tokenizer: one example -> (token ids, loss mask)."""

    def __init__(self, tokenizer_dir: str | Path, renderer: ChatRenderer) -> None:
        self.dir = Path(tokenizer_dir)
        self.tok = Tokenizer.from_file(str(self.dir / "tokenizer.json"))
        self.renderer = renderer
        self.vocab_size = self.tok.get_vocab_size(with_added_tokens=True)
        pad = self.tok.token_to_id(PAD)
        if pad is None:
            raise ValueError(f"{self.dir}: tokenizer has no {PAD} token")
        self.pad_id = pad
        meta = self.dir / "axk1_tokenizer.json"
        self.fingerprint = json.loads(meta.read_text()).get("fingerprint") if meta.is_file() else None

    def encode(self, row: dict[str, Any], mode: str) -> tuple[np.ndarray, np.ndarray]:
        segments = self.renderer.segments(row, mode)  # type: ignore[arg-type]
        encs = self.tok.encode_batch([t for t, _ in segments], add_special_tokens=False)
        ids = np.concatenate([np.asarray(e.ids, np.int64) for e in encs])
        mask = np.concatenate([np.full(len(e.ids), int(trained), np.uint8)
                               for e, (_, trained) in zip(encs, segments)])
        return ids, mask


class _Packer:
    """Best-fit packing over a bounded set of open rows, flushing rows into numbered shards."""

    def __init__(self, out_dir: Path, cfg: PackSection, vocab_size: int) -> None:
        self.out_dir, self.cfg, self.vocab = out_dir, cfg, vocab_size
        self.capacity = cfg.seq_len + 1
        self.open: list[tuple[int, list[tuple[np.ndarray, np.ndarray]]]] = []  # (used, convs)
        self.shards: list[dict[str, Any]] = []
        self._writer: SFTShardWriter | None = None

    def add(self, ids: np.ndarray, mask: np.ndarray) -> None:
        fits = [i for i, (used, _) in enumerate(self.open) if used + ids.size <= self.capacity]
        if fits:
            i = max(fits, key=lambda j: (self.open[j][0], -j))
            used, convs = self.open[i]
            convs.append((ids, mask))
            self.open[i] = (used + ids.size, convs)
            if self.open[i][0] == self.capacity:
                self._emit(self.open.pop(i)[1])
            return
        self.open.append((ids.size, [(ids, mask)]))
        if len(self.open) > self.cfg.max_open_rows:
            self._emit(self.open.pop(0)[1])

    def _emit(self, convs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        if self._writer is None:
            prefix = self.out_dir / f"part-{len(self.shards):05d}"
            self._writer = SFTShardWriter(prefix, self.vocab)
        self._writer.add_row(convs)
        if self._writer.rows >= self.cfg.rows_per_shard:
            self._close()

    def _close(self) -> None:
        if self._writer is None:
            return
        w = self._writer
        w.close()
        self.shards.append({"prefix": w.prefix.name, "rows": w.rows, "conversations": w.conversations,
                            "tokens": w.tokens, "loss_tokens": w.loss_tokens})
        self._writer = None

    def finish(self) -> None:
        for _, convs in self.open:
            self._emit(convs)
        self.open = []
        self._close()


def pack_examples(examples: list[dict[str, Any]], encoder: ConversationEncoder, cfg: PackSection,
                  out_dir: Path) -> tuple[StageStats, list[tuple[dict, str, str]], dict[str, Any]]:
    """Write ``out_dir/part-*.{bin,idx,mask.bin}`` and ``manifest.json``; return stats, rejects, lengths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    st = StageStats("pack", docs_in=len(examples))
    packer = _Packer(out_dir, cfg, encoder.vocab_size)
    rejects: list[tuple[dict, str, str]] = []
    lengths: dict[str, list[int]] = {"think": [], "non_think": []}
    for ex in tqdm(examples, desc="sft pack", leave=False, disable=len(examples) < 5000):
        try:
            ids, mask = encoder.encode(ex, ex["mode"])
        except Exception as exc:  # a template or tokenizer failure on one example is an error, not a crash
            st.errors[type(exc).__name__] += 1
            rejects.append((ex, "pack", f"error:{type(exc).__name__}"))
            continue
        if ids.size > packer.capacity:
            st.rejected["too_long"] += 1
            rejects.append((ex, "pack", "too_long"))
            continue
        if not mask.any():
            st.rejected["no_trained_tokens"] += 1
            rejects.append((ex, "pack", "no_trained_tokens"))
            continue
        packer.add(ids, mask)
        st.kept += 1
        st.add("tokens", int(ids.size))
        st.add("loss_tokens", int(mask.sum()))
        lengths[ex["mode"]].append(int(ids.size))
    packer.finish()
    rows = sum(s["rows"] for s in packer.shards)
    manifest = {
        "format": FORMAT, "version": 1, "seq_len": cfg.seq_len, "row_tokens": packer.capacity,
        "pad_id": encoder.pad_id, "dtype": str(token_dtype(encoder.vocab_size)),
        "tokenizer": {"vocab_size": encoder.vocab_size,
                      "fingerprint": encoder.fingerprint},
        "rows": rows, "conversations": st.kept, "tokens": int(st.extra["tokens"]),
        "loss_tokens": int(st.extra["loss_tokens"]),
        "fill": round(st.extra["tokens"] / (rows * packer.capacity), 4) if rows else None,
        "shards": packer.shards,
    }
    write_json_atomic(manifest, out_dir / MANIFEST)
    return st, rejects, {"lengths": lengths, "manifest": manifest}
