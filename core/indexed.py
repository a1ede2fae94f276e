"""Packed token shard formats: Megatron IndexedDataset (``.bin``/``.idx``) and datatrove ``.ds``.

Megatron ``.idx`` (little-endian): magic ``MMIDIDX\\x00\\x00``, version u64 = 1, dtype code u8,
sequence count u64 ``S``, document count u64 ``S + 1``, int32 lengths[S], int64 byte pointers[S],
int64 document indices[S + 1] (one sequence per document, so ``0..S``). ``.bin`` holds the raw tokens.

datatrove/nanotron ``.ds``: raw uint32 tokens (uint16 for vocabularies up to 65,536), ``.ds.index``:
uint64 cumulative document ends, ``.ds.metadata``: ``<tokenizer>|<token size>``, token count, short count.

Writers stream token batches to temp files and rename on close, so a reader never sees a partial
shard. Readers validate sizes and name the offending file on any inconsistency.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEGATRON_MAGIC = b"MMIDIDX\x00\x00"
MEGATRON_VERSION = 1
#: Megatron dtype codes (megatron.core.datasets.indexed_dataset.DType).
DTYPE_CODES: dict[type[np.number], int] = {
    np.uint8: 1, np.int8: 2, np.int16: 3, np.int32: 4, np.int64: 5,
    np.float64: 6, np.float32: 7, np.uint16: 8,
}
CODE_DTYPES = {v: k for k, v in DTYPE_CODES.items()}
_HEADER_BYTES = len(MEGATRON_MAGIC) + 8 + 1 + 8 + 8


class ShardError(ValueError):
    """A shard file is missing, truncated or malformed; the message names the file."""


def token_dtype(vocab_size: int) -> type[np.number]:
    """Smallest Megatron token dtype for a vocabulary: uint16 up to 65,500 ids, else int32."""
    return np.uint16 if vocab_size < 65_500 else np.int32


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


class _StreamWriter:
    """Append raw token bytes to ``path`` via a temp file; track per-document lengths."""

    def __init__(self, path: Path, dtype: type[np.number]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dtype = np.dtype(dtype)
        self._fh = open(_tmp(self.path), "wb")  # noqa: SIM115 - closed in close()/abort()
        self._lengths: list[np.ndarray] = []
        self.tokens = 0

    def add(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        """Append documents: ``tokens`` is their concatenation, ``lengths`` their sizes."""
        if int(lengths.sum()) != tokens.size:
            raise ValueError("document lengths do not add up to the token count")
        self._fh.write(np.ascontiguousarray(tokens, dtype=self.dtype).tobytes())
        self._lengths.append(np.asarray(lengths, dtype=np.int64))
        self.tokens += tokens.size

    def lengths(self) -> np.ndarray:
        return np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)

    def finish(self) -> None:
        self._fh.close()
        os.replace(_tmp(self.path), self.path)

    def abort(self) -> None:
        self._fh.close()
        _tmp(self.path).unlink(missing_ok=True)


class MegatronWriter:
    """Write one Megatron IndexedDataset (``<prefix>.bin`` + ``<prefix>.idx``), one sequence per document."""

    def __init__(self, prefix: str | Path, dtype: type[np.number] = np.int32) -> None:
        if dtype not in DTYPE_CODES:
            raise ValueError(f"unsupported token dtype {dtype}")
        self.prefix = Path(prefix)
        self._bin = _StreamWriter(self.prefix.with_name(self.prefix.name + ".bin"), dtype)

    @property
    def tokens(self) -> int:
        return self._bin.tokens

    def add(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        self._bin.add(tokens, lengths)

    def close(self) -> np.ndarray:
        """Finish both files; return the document lengths."""
        lengths = self._bin.lengths()
        if lengths.size and lengths.max() > np.iinfo(np.int32).max:
            raise ValueError("a document exceeds 2^31 tokens; Megatron stores int32 lengths")
        itemsize = self._bin.dtype.itemsize
        pointers = np.zeros(lengths.size, np.int64)
        np.cumsum(lengths[:-1] * itemsize, out=pointers[1:])
        idx_path = self.prefix.with_name(self.prefix.name + ".idx")
        with open(_tmp(idx_path), "wb") as fh:
            fh.write(MEGATRON_MAGIC)
            fh.write(struct.pack("<Q", MEGATRON_VERSION))
            fh.write(struct.pack("<B", DTYPE_CODES[self._bin.dtype.type]))
            fh.write(struct.pack("<Q", lengths.size))
            fh.write(struct.pack("<Q", lengths.size + 1))
            fh.write(lengths.astype("<i4").tobytes())
            fh.write(pointers.astype("<i8").tobytes())
            fh.write(np.arange(lengths.size + 1, dtype="<i8").tobytes())
        self._bin.finish()
        os.replace(_tmp(idx_path), idx_path)
        return lengths

    def abort(self) -> None:
        self._bin.abort()


class DsWriter:
    """Write one datatrove/nanotron token file (``.ds``, ``.ds.index``, ``.ds.metadata``)."""

    def __init__(self, path: str | Path, token_size: int = 4, tokenizer_name: str = "") -> None:
        if token_size not in (2, 4):
            raise ValueError("token_size must be 2 or 4")
        self.path = Path(path)
        self.tokenizer_name = tokenizer_name
        self._ds = _StreamWriter(self.path, np.uint16 if token_size == 2 else np.uint32)
        self.token_size = token_size

    def add(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        if tokens.size and (tokens.min() < 0 or tokens.max() >= 1 << (8 * self.token_size)):
            raise ValueError(f"token ids do not fit {8 * self.token_size}-bit unsigned .ds tokens")
        self._ds.add(tokens, lengths)

    def close(self) -> np.ndarray:
        lengths = self._ds.lengths()
        index = self.path.with_name(self.path.name + ".index")
        meta = self.path.with_name(self.path.name + ".metadata")
        np.cumsum(lengths, dtype=np.uint64).astype("<u8").tofile(_tmp(index))
        total = int(lengths.sum())
        _tmp(meta).write_text(f"{self.tokenizer_name}|{self.token_size}\n{total}\n{_short_count(total)}")
        self._ds.finish()
        os.replace(_tmp(index), index)
        os.replace(_tmp(meta), meta)
        return lengths

    def abort(self) -> None:
        self._ds.abort()


def _short_count(n: int) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)


@dataclass
class TokenDocs:
    """Documents of one shard: a token memmap plus int64 document offsets (``offsets[-1] == tokens.size``)."""

    path: Path
    tokens: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return self.offsets.size - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i]:self.offsets[i + 1]]


def _require(path: Path) -> None:
    if not path.is_file():
        raise ShardError(f"missing shard file: {path}")


def _megatron_header(idx_path: Path) -> tuple[int, int, int]:
    """(dtype code, sequence count, document count) of a ``.idx`` whose size matches its header."""
    size = idx_path.stat().st_size
    with open(idx_path, "rb") as fh:
        head = fh.read(_HEADER_BYTES)
    if len(head) < _HEADER_BYTES or head[:9] != MEGATRON_MAGIC:
        raise ShardError(f"not a Megatron index (bad header or truncated): {idx_path}")
    version, code, n_seq, n_doc = struct.unpack("<QBQQ", head[9:])
    if version != MEGATRON_VERSION or code not in CODE_DTYPES:
        raise ShardError(f"unsupported Megatron index version {version} / dtype code {code}: {idx_path}")
    expected = _HEADER_BYTES + n_seq * 4 + n_seq * 8 + n_doc * 8
    if size != expected:
        raise ShardError(f"truncated or corrupt index ({size} bytes, expected {expected}): {idx_path}")
    return code, n_seq, n_doc


def read_megatron(prefix: str | Path) -> TokenDocs:
    """Open ``<prefix>.bin``/``.idx`` read-only with full size validation."""
    prefix = Path(prefix)
    idx_path = prefix.with_name(prefix.name + ".idx")
    bin_path = prefix.with_name(prefix.name + ".bin")
    _require(idx_path)
    _require(bin_path)
    code, n_seq, _ = _megatron_header(idx_path)
    idx = np.memmap(idx_path, mode="r", dtype=np.uint8)
    lengths = np.frombuffer(idx, dtype="<i4", count=n_seq, offset=_HEADER_BYTES)
    pointers = np.frombuffer(idx, dtype="<i8", count=n_seq, offset=_HEADER_BYTES + 4 * n_seq)
    dtype = np.dtype(CODE_DTYPES[code]).newbyteorder("<")
    total = int(lengths.sum(dtype=np.int64))
    bin_size = bin_path.stat().st_size
    if bin_size != total * dtype.itemsize:
        raise ShardError(f"truncated or corrupt token file ({bin_size} bytes, index expects "
                         f"{total * dtype.itemsize}): {bin_path}")
    if n_seq and int(lengths.min()) < 0:
        raise ShardError(f"negative document length in index: {idx_path}")
    offsets = np.zeros(n_seq + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if n_seq and not np.array_equal(pointers, offsets[:-1] * dtype.itemsize):
        raise ShardError(f"sequence pointers are not contiguous: {idx_path}")
    tokens = (np.memmap(bin_path, mode="r", dtype=dtype) if total else np.zeros(0, dtype))
    return TokenDocs(bin_path, tokens, offsets)


def read_ds(path: str | Path, token_size: int = 4) -> TokenDocs:
    """Open a datatrove ``.ds`` file and its ``.ds.index`` with size validation."""
    path = Path(path)
    index = path.with_name(path.name + ".index")
    _require(path)
    _require(index)
    if index.stat().st_size % 8:
        raise ShardError(f"truncated document index: {index}")
    ends = np.fromfile(index, dtype="<u8").astype(np.int64)
    dtype = np.dtype("<u2" if token_size == 2 else "<u4")
    total = int(ends[-1]) if ends.size else 0
    if path.stat().st_size != total * token_size or (ends.size and (ends[0] < 0 or np.any(np.diff(ends) < 0))):
        raise ShardError(f"truncated or corrupt token file (index expects {total} tokens): {path}")
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    tokens = np.memmap(path, mode="r", dtype=dtype) if total else np.zeros(0, dtype)
    return TokenDocs(path, tokens, offsets)


@dataclass(frozen=True)
class ShardExtent:
    """Document and token counts of one shard, read without loading its index."""

    path: Path  # Megatron prefix or ``.ds`` file
    n_docs: int
    n_tokens: int
    token_size: int


def shard_extent(path: str | Path, token_size: int = 4) -> ShardExtent:
    """Counts of a shard from a constant number of bytes (header, last index entry, file sizes).

    Catches missing files and truncation at either end without reading the index; ``read_megatron``
    / ``read_ds`` still validate every entry when the shard is opened.
    """
    p = Path(path)
    if p.suffix == ".ds":
        index = p.with_name(p.name + ".index")
        _require(p)
        _require(index)
        size = index.stat().st_size
        if size % 8:
            raise ShardError(f"truncated document index: {index}")
        n_docs = size // 8
        total = 0
        if n_docs:
            with open(index, "rb") as fh:
                fh.seek(size - 8)
                total = struct.unpack("<Q", fh.read(8))[0]
        if p.stat().st_size != total * token_size:
            raise ShardError(f"truncated or corrupt token file (index expects {total} tokens): {p}")
        return ShardExtent(p, n_docs, total, token_size)
    if p.suffix in (".bin", ".idx"):
        p = p.with_suffix("")
    idx_path, bin_path = p.with_name(p.name + ".idx"), p.with_name(p.name + ".bin")
    _require(idx_path)
    _require(bin_path)
    code, n_seq, _ = _megatron_header(idx_path)
    itemsize = np.dtype(CODE_DTYPES[code]).itemsize
    total_bytes = 0
    with open(idx_path, "rb") as fh:
        if n_seq:
            fh.seek(_HEADER_BYTES + 4 * (n_seq - 1))
            last_len = struct.unpack("<i", fh.read(4))[0]
            fh.seek(_HEADER_BYTES + 4 * n_seq + 8 * (n_seq - 1))
            last_ptr = struct.unpack("<q", fh.read(8))[0]
            total_bytes = last_ptr + last_len * itemsize
    if bin_path.stat().st_size != total_bytes:
        raise ShardError(f"truncated or corrupt token file ({bin_path.stat().st_size} bytes, index expects "
                         f"{total_bytes}): {bin_path}")
    return ShardExtent(p, int(n_seq), total_bytes // itemsize, itemsize)


def open_shard(path: str | Path) -> TokenDocs:
    """Open a shard given a Megatron prefix (``.../part-00000``) or a ``.ds`` path."""
    p = Path(path)
    if p.suffix == ".ds":
        return read_ds(p)
    if p.suffix in (".bin", ".idx"):
        p = p.with_suffix("")
    return read_megatron(p)
