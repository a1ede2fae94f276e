"""Vectorised 64-bit hashing primitives (numpy uint64, wrapping arithmetic).

Everything here works on whole arrays: no Python loop runs per token or per shingle.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

U64 = np.uint64
_M1 = U64(0xBF58476D1CE4E5B9)
_M2 = U64(0x94D049BB133111EB)
_GOLDEN = U64(0x9E3779B97F4A7C15)
#: Odd base of the polynomial byte hash.
_BASE = U64(0x100000001B3)

#: Bits of a document key that hold the row index; the shard index sits above them.
ROW_BITS = 32
ROW_MASK = U64((1 << ROW_BITS) - 1)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijective avalanche mix of uint64 values."""
    with np.errstate(over="ignore"):
        z = (np.asarray(x, dtype=U64) + _GOLDEN).astype(U64, copy=False)
        z = (z ^ (z >> U64(30))) * _M1
        z = (z ^ (z >> U64(27))) * _M2
        return z ^ (z >> U64(31))


def doc_keys(shard: int, n_rows: int) -> np.ndarray:
    """Global document keys ``shard << 32 | row``: unique, ordered by (shard, row)."""
    return (U64(shard) << U64(ROW_BITS)) | np.arange(n_rows, dtype=U64)


def key_shard(keys: np.ndarray) -> np.ndarray:
    return (np.asarray(keys, dtype=U64) >> U64(ROW_BITS)).astype(np.int64)


def key_row(keys: np.ndarray) -> np.ndarray:
    return (np.asarray(keys, dtype=U64) & ROW_MASK).astype(np.int64)


def partition_of(keys: np.ndarray, n_parts: int) -> np.ndarray:
    """Partition index in ``[0, n_parts)`` of each uint64 key (mixed, so any key layout spreads)."""
    return (mix64(keys) % U64(n_parts)).astype(np.int64)


_POW_CACHE: dict[int, np.ndarray] = {}


def _powers(n: int) -> np.ndarray:
    """``_BASE ** i`` for ``i < n`` (mod 2**64), cached and grown geometrically."""
    cached = _POW_CACHE.get(0)
    if cached is None or len(cached) < n:
        size = max(n, 1024, 0 if cached is None else 2 * len(cached))
        arr = np.full(size, _BASE, dtype=U64)
        arr[0] = 1
        with np.errstate(over="ignore"):
            cached = np.cumprod(arr, dtype=U64)
        _POW_CACHE[0] = cached
    return cached[:n]


def hash_segments(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Hash each segment ``values[offsets[i]:offsets[i+1]]`` to a uint64.

    A polynomial hash of the segment (positions relative to its start, values + 1 so zeros count)
    followed by a mix with the length; equal segments always give equal hashes. Empty segments hash
    to ``mix64(0)``.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n = len(offsets) - 1
    lens = np.diff(offsets)
    total = int(offsets[-1] - offsets[0])
    if n <= 0:
        return np.zeros(0, dtype=U64)
    if total == 0:
        return mix64(np.zeros(n, dtype=U64))
    vals = np.asarray(values[offsets[0]:offsets[-1]]).astype(U64) + U64(1)
    starts = offsets[:-1] - offsets[0]
    pos = np.arange(total, dtype=np.int64) - np.repeat(starts, lens)
    with np.errstate(over="ignore"):
        terms = vals * _powers(int(lens.max()))[pos]
        nonempty = lens > 0
        sums = np.zeros(n, dtype=U64)
        sums[nonempty] = np.add.reduceat(terms, starts[nonempty])
        return mix64(sums ^ (lens.astype(U64) * _GOLDEN))


def string_array_parts(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(utf-8 bytes, int64 offsets) of a string array without copying the text per element.

    Nulls are treated as empty strings.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if arr.type == pa.string():
        off_dtype = np.int32
    elif arr.type == pa.large_string():
        off_dtype = np.int64
    else:
        raise TypeError(f"expected a string array, got {arr.type}")
    if arr.null_count:
        arr = arr.fill_null("")
    bufs = arr.buffers()
    n = len(arr)
    offsets = np.frombuffer(bufs[1], dtype=off_dtype, count=n + 1, offset=arr.offset * np.dtype(off_dtype).itemsize)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return data, offsets.astype(np.int64)


def hash_strings(arr: pa.Array) -> np.ndarray:
    """uint64 hash of every string of an Arrow string array (vectorised over its byte buffer)."""
    data, offsets = string_array_parts(arr)
    return hash_segments(data, offsets)
