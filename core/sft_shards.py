"""Packed SFT shards: Megatron ``.bin``/``.idx`` tokens plus a parallel ``.mask.bin`` of loss bytes.

One shard ``<prefix>`` is three files:

* ``<prefix>.bin``: tokens (uint16 for vocabularies under 65,500 ids, else int32), conversations
  back to back;
* ``<prefix>.idx``: a Megatron index whose *sequences* are conversations and whose *documents* are
  packed rows (``document_indices[r]`` is the first conversation of row ``r``), so every row holds
  whole conversations and at most ``row_tokens`` tokens;
* ``<prefix>.mask.bin``: one uint8 per token, 1 where the token is a training target (assistant
  output), 0 for system/user/tool tokens and template markup.

The shard directory's ``manifest.json`` (``format: axk1-sft``) records the row size, pad id,
vocabulary and the shard list. Writers rename finished files into place; readers check every size.
This module has no tokenizer dependency: the trainer reads shards through it.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
_DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}
_CODE_DTYPES = {v: k for k, v in _DTYPE_CODES.items()}
_HEADER = len(MAGIC) + 8 + 1 + 8 + 8
FORMAT = "axk1-sft"
MANIFEST = "manifest.json"


class SFTShardError(ValueError):
    """A shard is missing, truncated or inconsistent; the message names the file."""


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 up to 65,500 ids, else int32 (Megatron dtype codes 8 and 4)."""
    return np.dtype(np.uint16) if vocab_size < 65_500 else np.dtype(np.int32)


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def _paths(prefix: Path) -> tuple[Path, Path, Path]:
    return (prefix.with_name(prefix.name + ".bin"), prefix.with_name(prefix.name + ".idx"),
            prefix.with_name(prefix.name + ".mask.bin"))


class SFTShardWriter:
    """Stream packed rows into one shard; ``close()`` writes the index and renames into place."""

    def __init__(self, prefix: str | Path, vocab_size: int) -> None:
        self.prefix = Path(prefix)
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        self.dtype = token_dtype(vocab_size)
        self.vocab_size = vocab_size
        self._bin_path, self._idx_path, self._mask_path = _paths(self.prefix)
        self._bin = open(_tmp(self._bin_path), "wb")  # noqa: SIM115 - closed in close()/abort()
        self._mask = open(_tmp(self._mask_path), "wb")  # noqa: SIM115
        self._lengths: list[int] = []
        self._row_starts: list[int] = [0]
        self.tokens = 0
        self.loss_tokens = 0

    def add_row(self, conversations: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Append one packed row: a list of (token ids, loss mask) per conversation."""
        if not conversations:
            raise ValueError("a packed row needs at least one conversation")
        for ids, mask in conversations:
            if ids.shape != mask.shape:
                raise ValueError("tokens and mask differ in length")
            if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
                raise ValueError(f"token id out of range for vocabulary {self.vocab_size}")
            self._bin.write(np.ascontiguousarray(ids, dtype=self.dtype.newbyteorder("<")).tobytes())
            self._mask.write(np.ascontiguousarray(mask, dtype=np.uint8).tobytes())
            self._lengths.append(int(ids.size))
            self.tokens += int(ids.size)
            self.loss_tokens += int(mask.sum())
        self._row_starts.append(len(self._lengths))

    @property
    def rows(self) -> int:
        return len(self._row_starts) - 1

    @property
    def conversations(self) -> int:
        return len(self._lengths)

    def close(self) -> None:
        self._bin.close()
        self._mask.close()
        lengths = np.asarray(self._lengths, np.int64)
        pointers = np.zeros(lengths.size, np.int64)
        if lengths.size:
            np.cumsum(lengths[:-1] * self.dtype.itemsize, out=pointers[1:])
        with open(_tmp(self._idx_path), "wb") as fh:
            fh.write(MAGIC)
            fh.write(struct.pack("<QBQQ", VERSION, _DTYPE_CODES[self.dtype], lengths.size,
                                 len(self._row_starts)))
            fh.write(lengths.astype("<i4").tobytes())
            fh.write(pointers.astype("<i8").tobytes())
            fh.write(np.asarray(self._row_starts, "<i8").tobytes())
        for p in (self._bin_path, self._mask_path, self._idx_path):
            os.replace(_tmp(p), p)

    def abort(self) -> None:
        self._bin.close()
        self._mask.close()
        for p in (self._bin_path, self._mask_path, self._idx_path):
            _tmp(p).unlink(missing_ok=True)


@dataclass
class SFTShard:
    """One opened shard: memory-mapped tokens and mask, conversation offsets, row boundaries."""

    prefix: Path
    tokens: np.ndarray
    mask: np.ndarray
    offsets: np.ndarray      # int64 [conversations + 1], token offsets of conversations
    row_starts: np.ndarray   # int64 [rows + 1], conversation index of each row's first conversation

    @property
    def rows(self) -> int:
        return self.row_starts.size - 1

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tokens, mask, conversation lengths) of packed row ``r``."""
        c0, c1 = int(self.row_starts[r]), int(self.row_starts[r + 1])
        t0, t1 = int(self.offsets[c0]), int(self.offsets[c1])
        return self.tokens[t0:t1], self.mask[t0:t1], np.diff(self.offsets[c0:c1 + 1])

    def conversation(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        t0, t1 = int(self.offsets[c]), int(self.offsets[c + 1])
        return self.tokens[t0:t1], self.mask[t0:t1]


def read_sft_shard(prefix: str | Path) -> SFTShard:
    """Open a shard read-only, validating the header and every file size."""
    prefix = Path(prefix)
    bin_path, idx_path, mask_path = _paths(prefix)
    for p in (bin_path, idx_path, mask_path):
        if not p.is_file():
            raise SFTShardError(f"missing shard file: {p}")
    size = idx_path.stat().st_size
    with open(idx_path, "rb") as fh:
        head = fh.read(_HEADER)
    if len(head) < _HEADER or head[:len(MAGIC)] != MAGIC:
        raise SFTShardError(f"not a Megatron index (bad header or truncated): {idx_path}")
    version, code, n_seq, n_doc = struct.unpack("<QBQQ", head[len(MAGIC):])
    if version != VERSION or code not in _CODE_DTYPES or n_doc < 1:
        raise SFTShardError(f"unsupported index (version {version}, dtype code {code}): {idx_path}")
    if size != _HEADER + n_seq * 12 + n_doc * 8:
        raise SFTShardError(f"truncated or corrupt index ({size} bytes): {idx_path}")
    idx = np.memmap(idx_path, mode="r", dtype=np.uint8)
    lengths = np.frombuffer(idx, "<i4", n_seq, _HEADER).astype(np.int64)
    row_starts = np.frombuffer(idx, "<i8", n_doc, _HEADER + 12 * n_seq).astype(np.int64)
    if n_seq and lengths.min() < 0:
        raise SFTShardError(f"negative conversation length: {idx_path}")
    if row_starts[0] != 0 or row_starts[-1] != n_seq or np.any(np.diff(row_starts) <= 0):
        raise SFTShardError(f"row boundaries are not increasing from 0 to {n_seq}: {idx_path}")
    offsets = np.zeros(n_seq + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    dtype = _CODE_DTYPES[code].newbyteorder("<")
    total = int(offsets[-1])
    if bin_path.stat().st_size != total * dtype.itemsize:
        raise SFTShardError(f"token file size does not match its index: {bin_path}")
    if mask_path.stat().st_size != total:
        raise SFTShardError(f"mask file size does not match its index: {mask_path}")
    tokens = np.memmap(bin_path, mode="r", dtype=dtype) if total else np.zeros(0, dtype)
    mask = np.memmap(mask_path, mode="r", dtype=np.uint8) if total else np.zeros(0, np.uint8)
    return SFTShard(prefix, tokens, mask, offsets, row_starts)
