"""Compiled BPE merge loop for words the packer has not seen yet.

``tokenizers``' Rust BPE spends most of its time per word outside the merges: a ``Word`` and heap
allocation, one ``String`` per output token, offsets and an ``Encoding``. The packer needs only
ids, so this module re-implements HF's ``BPE::merge_word`` + ``Word::merge_all`` (lowest merge
rank first, leftmost first among equal ranks, byte fallback) over flat numpy arrays, compiled with
numba: thousands of words per call, no allocation per word.

Words it cannot reproduce exactly (a character with neither a vocabulary entry nor a complete
byte fallback, i.e. the ``unk`` path; or a word longer than ``MAX_SYMBOLS``, where the quadratic
merge scan is slower than HF's heap) are flagged, and the caller encodes them with the real tokenizer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np

#: Longest word (in initial symbols) merged here; longer ones are flagged for the real tokenizer.
#: The merge scan is quadratic in the word's length: it beats HF's heap up to ~300 symbols
#: (Korean, 64 syllables: 11 us vs 31 us; 1,024 syllables: 680 us vs 300 us).
MAX_SYMBOLS = 256
log = logging.getLogger(__name__)
_EMPTY = np.int64(-1)


@dataclass(frozen=True)
class MergeTables:
    """A BPE model as arrays: initial-symbol lookups and an open-addressing merge hash table."""

    char_ids: np.ndarray  # int32 per code point (0..0x10FFFF): vocabulary id of that character, or -1
    byte_ids: np.ndarray  # int32 per byte: id of the byte-level character / ``<0xXX>`` token, or -1
    #: int64 pairs per slot: key ``left << 32 | right`` (-1 where empty), then ``rank << 32 | new id``;
    #: one slot is one cache line, so a look-up costs one memory access.
    merges: np.ndarray
    byte_level: bool  # initial symbols are bytes (GPT-2 style) rather than characters
    byte_fallback: bool  # characters missing from the vocabulary become their UTF-8 byte tokens


def _byte_level_alphabet() -> list[str]:
    """GPT-2's byte -> printable character map (the one ``ByteLevel`` pre-tokenizers use)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    extra = 0
    out = []
    for b in range(256):
        if b in keep:
            out.append(chr(b))
        else:
            out.append(chr(256 + extra))
            extra += 1
    return out


def build_tables(model_state: dict[str, Any], byte_level: bool) -> MergeTables | None:
    """Tables for an HF BPE model's JSON state, or None when it uses options not reproduced here."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if (model_state.get("type") != "BPE" or model_state.get("dropout") or model_state.get("ignore_merges")
            or model_state.get("continuing_subword_prefix") or model_state.get("end_of_word_suffix")):
        return None
    vocab: dict[str, int] = model_state["vocab"]
    ids = np.fromiter(vocab.values(), np.int64, count=len(vocab))
    if ids.size == 0 or ids.min() < 0 or ids.max() >= 2**31 - 1:
        return None
    char_ids = np.full(0x110000, -1, np.int32)
    singles = [(piece, idx) for piece, idx in vocab.items() if len(piece) == 1]
    char_ids[[ord(p) for p, _ in singles]] = [i for _, i in singles]
    if byte_level:
        byte_ids = np.array([vocab.get(c, -1) for c in _byte_level_alphabet()], np.int32)
    else:
        byte_ids = np.array([vocab.get(f"<0x{b:02X}>", -1) for b in range(256)], np.int32)
    merges = model_state["merges"]
    pairs = [m.split(" ", 1) if isinstance(m, str) else m for m in merges]
    lefts, rights = [p[0] for p in pairs], [p[1] for p in pairs]
    pieces = pa.array(list(vocab), pa.string())

    def vocab_ids(strings: list[str]) -> np.ndarray:  # Arrow's hash lookup: ~10x a Python loop
        pos = pc.index_in(pa.array(strings, pa.string()), value_set=pieces).to_numpy(zero_copy_only=False)
        if np.isnan(pos.astype(np.float64)).any():
            return np.full(len(strings), -1, np.int64)
        return ids[pos.astype(np.int64)]

    left, right = vocab_ids(lefts), vocab_ids(rights)
    new = vocab_ids(list(map(str.__add__, lefts, rights)))
    if (left < 0).any() or (right < 0).any() or (new < 0).any():
        return None  # HF refuses such a model too; never guess
    size = 1 << max(4, int(2 * max(len(pairs), 1) - 1).bit_length())
    merges_table = np.full(2 * size, _EMPTY, np.int64)
    _fill(merges_table, (left << 32) | right, new)
    return MergeTables(char_ids, byte_ids, merges_table, byte_level,
                       bool(model_state.get("byte_fallback")))


_CACHE_VERSION = 2


def cache_dir() -> Path:
    """Where built tables are kept between runs (``AXK1_CACHE_DIR``, else ``~/.cache/axk1``)."""
    root = os.environ.get("AXK1_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "axk1")
    return Path(root) / "bpe_tables"


def load_tables(tokenizer_json: str | Path, byte_level: bool, use_cache: bool = True) -> MergeTables | None:
    """Tables for a ``tokenizer.json``, built once per file content and then read from the cache.

    Building parses the whole JSON (~0.5 s for a 163,840-entry vocabulary); reading the cached
    arrays takes milliseconds, which matters for workers that start on short shards.
    """
    raw = Path(tokenizer_json).read_bytes()
    key = f"{hashlib.sha256(raw).hexdigest()}-{int(byte_level)}-v{_CACHE_VERSION}"
    path = cache_dir() / f"{key}.npz"
    if use_cache and path.is_file():
        try:
            with np.load(path) as z:
                return MergeTables(z["char_ids"], z["byte_ids"], z["merges"],
                                   bool(z["byte_level"]), bool(z["byte_fallback"]))
        except Exception as exc:  # a damaged cache entry is rebuilt, never trusted
            log.warning("rebuilding BPE tables: cannot read %s (%s)", path, exc)
    import orjson

    tables = build_tables(orjson.loads(raw)["model"], byte_level)
    if tables is not None and use_cache:
        _save(tables, path)
    return tables


def _save(tables: MergeTables, path: Path) -> None:
    """Atomic write; an unwritable cache only costs the rebuild next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)  # shared caches: readable by other users' workers
            np.savez(f, char_ids=tables.char_ids, byte_ids=tables.byte_ids, merges=tables.merges,
                     byte_level=tables.byte_level, byte_fallback=tables.byte_fallback)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot cache BPE tables at %s: %s", path, exc)


@numba.njit(cache=True, inline="always")
def _slot(key: np.int64, mask: np.int64) -> np.int64:
    h = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    return np.int64(h >> np.uint64(33)) & mask


@numba.njit(cache=True)
def _fill(table: np.ndarray, pair_keys: np.ndarray, new: np.ndarray) -> None:
    """Insert merges in rank order; a repeated pair keeps its last rank (as HF's map collect does)."""
    mask = np.int64(table.size // 2 - 1)
    for r in range(pair_keys.size):
        k = pair_keys[r]
        s = _slot(k, mask)
        while table[2 * s] != -1 and table[2 * s] != k:
            s = (s + 1) & mask
        table[2 * s] = k
        table[2 * s + 1] = (np.int64(r) << 32) | new[r]


@numba.njit(cache=True, inline="always")
def _lookup(table: np.ndarray, a: np.int64, b: np.int64) -> np.int64:
    """``rank << 32 | new id`` of merge (a, b), or -1."""
    k = (a << 32) | b
    mask = np.int64(table.size // 2 - 1)
    s = _slot(k, mask)
    while True:
        kk = table[2 * s]
        if kk == k:
            return table[2 * s + 1]
        if kk == -1:
            return -1
        s = (s + 1) & mask


@numba.njit(cache=True, inline="always")
def _set_pair(i: int, sym: np.ndarray, table: np.ndarray, rank: np.ndarray, merged: np.ndarray) -> None:
    """Look up the merge of symbols ``i`` and ``i + 1``: its rank (none: max rank) and merged id."""
    v = _lookup(table, sym[i], sym[i + 1])
    if v >= 0:
        rank[i] = v >> 32
        merged[i] = v & 0xFFFFFFFF
    else:
        rank[i] = 2**31 - 1


@numba.njit(cache=True, inline="always")
def _utf8(cp: np.int64, buf: np.ndarray) -> np.int64:
    """UTF-8 bytes of a code point into ``buf`` (surrogates as their 3-byte form); returns the count."""
    if cp < 0x80:
        buf[0] = cp
        return 1
    if cp < 0x800:
        buf[0] = 0xC0 | (cp >> 6)
        buf[1] = 0x80 | (cp & 0x3F)
        return 2
    if cp < 0x10000:
        buf[0] = 0xE0 | (cp >> 12)
        buf[1] = 0x80 | ((cp >> 6) & 0x3F)
        buf[2] = 0x80 | (cp & 0x3F)
        return 3
    buf[0] = 0xF0 | (cp >> 18)
    buf[1] = 0x80 | ((cp >> 12) & 0x3F)
    buf[2] = 0x80 | ((cp >> 6) & 0x3F)
    buf[3] = 0x80 | (cp & 0x3F)
    return 4


@numba.njit(cache=True, inline="always")
def _push_bytes(cp: np.int64, buf: np.ndarray, byte_ids: np.ndarray, sym: np.ndarray, n: int,
                max_symbols: int) -> int:
    """Append the byte tokens of one code point; the new symbol count, or -1 (a byte token is
    missing, where HF would emit ``unk``, or the word grew past ``max_symbols``)."""
    m = _utf8(cp, buf)
    if n + m > max_symbols:
        return -1
    for j in range(m):
        t = byte_ids[buf[j]]
        if t < 0:
            return -1
        sym[n] = t
        n += 1
    return n


@numba.njit(cache=True)
def _initial_symbols(code_points: np.ndarray, start: int, end: int, char_ids: np.ndarray, byte_ids: np.ndarray,
                     byte_level: bool, byte_fallback: bool, sym: np.ndarray, buf: np.ndarray,
                     max_symbols: int) -> int:
    """HF's ``merge_word`` start: one symbol per character (bytes for byte-level models, byte
    tokens for characters missing from the vocabulary); the count, or -1 if not reproduced here."""
    n = 0
    for c in range(start, end):
        cp = np.int64(code_points[c])
        t = -1 if byte_level or cp >= char_ids.size else char_ids[cp]
        if t >= 0:
            if n + 1 > max_symbols:
                return -1
            sym[n] = t
            n += 1
        elif byte_level or byte_fallback:
            n = _push_bytes(cp, buf, byte_ids, sym, n, max_symbols)
            if n < 0:
                return -1
        else:
            return -1
    return n


@numba.njit(cache=True)
def encode_words(code_points: np.ndarray, word_ends: np.ndarray, char_ids: np.ndarray, byte_ids: np.ndarray,
                 table: np.ndarray, byte_level: bool,
                 byte_fallback: bool, max_symbols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BPE-encode words given as concatenated code points and their end offsets.

    Returns (ids of all words concatenated, token count per word, 1 where the word was not
    encoded here and must go to the real tokenizer; such words have count 0).
    """
    n_words = word_ends.size
    out = np.empty(code_points.size * 4, np.int32)  # a code point yields at most 4 symbols
    counts = np.zeros(n_words, np.int64)
    flagged = np.zeros(n_words, np.uint8)
    sym = np.empty(max_symbols + 4, np.int64)
    rank = np.empty(max_symbols + 4, np.int32)
    merged = np.empty(max_symbols + 4, np.int64)
    buf = np.empty(4, np.int64)
    o = 0
    start = 0
    for w in range(n_words):
        end = word_ends[w]
        n = _initial_symbols(code_points, start, end, char_ids, byte_ids, byte_level, byte_fallback, sym, buf,
                             max_symbols)
        start = end
        if n < 0:
            flagged[w] = 1
            continue
        # ranks of adjacent pairs, then repeatedly merge the lowest (leftmost on ties)
        for i in range(n - 1):
            _set_pair(i, sym, table, rank, merged)
        while n > 1:
            best = 2**31 - 1
            bi = -1
            for i in range(n - 1):
                if rank[i] < best:
                    best = rank[i]
                    bi = i
            if bi < 0:
                break
            sym[bi] = merged[bi]
            for i in range(bi + 1, n - 1):
                sym[i] = sym[i + 1]
            for i in range(bi + 1, n - 2):
                rank[i] = rank[i + 1]
                merged[i] = merged[i + 1]
            n -= 1
            if bi > 0:
                _set_pair(bi - 1, sym, table, rank, merged)
            if bi < n - 1:
                _set_pair(bi, sym, table, rank, merged)
        for i in range(n):
            out[o + i] = sym[i]
        o += n
        counts[w] = n
    return out[:o], counts, flagged


def encode_word_list(tables: MergeTables, words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``encode_words`` for a list of Python strings."""
    joined = "".join(words)
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
    ends = np.cumsum(np.fromiter(map(len, words), np.int64, count=len(words)))
    return encode_words(cps, ends, tables.char_ids, tables.byte_ids, tables.merges,
                        tables.byte_level, tables.byte_fallback, MAX_SYMBOLS)
