"""Korean-aware shingling: NFC normalisation, then word (eojeol) or character n-grams, hashed.

The whole batch is processed with Arrow compute kernels and numpy: normalisation, splitting,
token hashing and n-gram hashing never loop in Python per token or per shingle.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.dedup.hashing import U64, hash_strings, mix64, string_array_parts

ShingleMode = Literal["word", "char"]

#: Punctuation and symbols (RE2 Unicode classes), replaced by a space before splitting.
_PUNCT = r"[\p{P}\p{S}]+"
_DIGITS = r"\p{Nd}+"


@dataclass(frozen=True)
class ShingleSpec:
    """How documents become shingle sets."""

    mode: ShingleMode = "word"
    n: int = 5
    #: Documents with fewer units (words or characters) get no shingles and hence no signature.
    min_units: int = 2
    lowercase: bool = True
    strip_punctuation: bool = True
    #: Replace every run of digits by "0" (dates, counters and prices then match).
    normalize_digits: bool = True
    #: Only the first ``max_chars`` characters of a document are shingled (bounds very long docs).
    max_chars: int = 2_000_000


@dataclass
class Shingles:
    """Hashed shingles of a batch: ``values[offsets[i]:offsets[i+1]]`` belong to document ``i``."""

    values: np.ndarray  # uint64
    offsets: np.ndarray  # int64, len = docs + 1
    truncated: int = 0

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def to_nfc(texts: pa.Array) -> pa.Array:
    """NFC-normalise only the strings that are not NFC already (the check is much cheaper)."""
    not_nfc = [not unicodedata.is_normalized("NFC", s) for s in texts.to_pylist()]
    if not any(not_nfc):
        return texts
    mask = pa.array(not_nfc)
    return pc.replace_with_mask(texts, mask, pc.utf8_normalize(texts.filter(mask), form="NFC"))


def normalize(texts: pa.Array | pa.ChunkedArray, spec: ShingleSpec) -> pa.Array:
    """NFC, lower case, punctuation and digit folding (``""`` for nulls); char mode drops spaces.

    Word splitting treats any run of Unicode whitespace as one separator, so spaces are not
    collapsed here.
    """
    t = pc.fill_null(texts, "")
    t = pc.utf8_slice_codeunits(t, 0, spec.max_chars)
    if isinstance(t, pa.ChunkedArray):
        t = t.combine_chunks()
    t = to_nfc(t)
    if spec.lowercase:
        t = pc.utf8_lower(t)
    if spec.strip_punctuation:
        t = pc.replace_substring_regex(t, _PUNCT, " ")
    if spec.normalize_digits:
        t = pc.replace_substring_regex(t, _DIGITS, "0")
    if spec.mode == "char":  # drop whitespace: Korean spacing varies between copies
        t = pc.binary_join(pc.utf8_split_whitespace(t), "")
    return t


def word_units(norm: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Whitespace tokens (eojeols for Korean) as uint64 hashes, with per-document offsets."""
    lists = pc.utf8_split_whitespace(norm)
    tokens = lists.flatten()
    list_off = np.asarray(lists.offsets, dtype=np.int64)
    list_off = list_off - list_off[0]
    _, tok_off = string_array_parts(tokens)
    keep = np.diff(tok_off) > 0  # "" -> [""] in Arrow: drop empty tokens
    hashes = hash_strings(tokens)[keep]
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    return hashes, kept_before[list_off]


def char_units(norm: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Unicode characters as uint64 values (their UTF-8 bytes packed), with per-document offsets."""
    data, byte_off = string_array_parts(norm)
    lo, hi = int(byte_off[0]), int(byte_off[-1])
    b = data[lo:hi].astype(U64)
    lead = (data[lo:hi] & 0xC0) != 0x80
    lead_pos = np.flatnonzero(lead)
    leads_before = np.concatenate([[0], np.cumsum(lead, dtype=np.int64)])
    doc_off = leads_before[byte_off - lo]
    if len(lead_pos) == 0:
        return np.zeros(0, dtype=U64), doc_off
    char_idx = leads_before[1:] - 1
    k = np.arange(len(b), dtype=np.int64) - lead_pos[char_idx]
    contrib = b << (U64(8) * k.astype(U64))
    units = np.add.reduceat(contrib, lead_pos)
    return units.astype(U64), doc_off


_COEF_CACHE: dict[int, np.ndarray] = {}


def _coefficients(n: int) -> np.ndarray:
    if n not in _COEF_CACHE:
        _COEF_CACHE[n] = mix64(np.arange(n, dtype=U64) + U64(0x5EED)) | U64(1)
    return _COEF_CACHE[n]


def ngram_hashes(units: np.ndarray, offsets: np.ndarray, n: int, min_units: int) -> Shingles:
    """Hash every n-gram of consecutive units inside each document.

    A document with ``min_units <= len < n`` units yields one shingle of all its units; shorter ones
    yield none.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n_docs = len(offsets) - 1
    lens = np.diff(offsets)
    total = int(offsets[-1] - offsets[0])
    if total == 0:
        return Shingles(np.zeros(0, dtype=U64), np.zeros(n_docs + 1, dtype=np.int64))
    units = np.asarray(units[offsets[0]:offsets[-1]], dtype=U64)
    rel = offsets - offsets[0]
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lens)
    pos = np.arange(total, dtype=np.int64)
    left = rel[1:][doc_of] - pos  # units from pos to the end of its document
    coef = _coefficients(n)
    padded = np.concatenate([units, np.zeros(n, dtype=U64)])
    acc = np.zeros(total, dtype=U64)
    with np.errstate(over="ignore"):
        for k in range(n):
            term = padded[k:k + total] * coef[k]
            if k:
                term[left <= k] = 0
            acc += term
    doc_len = lens[doc_of]
    full = left >= n
    short = (pos == rel[:-1][doc_of]) & (doc_len < n)
    valid = (full | short) & (doc_len >= min_units)
    values = mix64(acc[valid])
    counts = np.bincount(doc_of[valid], minlength=n_docs)
    return Shingles(values, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))


def shingle_batch(texts: pa.Array | pa.ChunkedArray, spec: ShingleSpec) -> Shingles:
    """Normalise and shingle a batch of texts."""
    lengths = pc.fill_null(pc.utf8_length(pc.fill_null(texts, "")), 0)
    truncated = int(pc.sum(pc.greater(lengths, spec.max_chars)).as_py() or 0)
    norm = normalize(texts, spec)
    units, offsets = word_units(norm) if spec.mode == "word" else char_units(norm)
    sh = ngram_hashes(units, offsets, spec.n, spec.min_units)
    sh.truncated = truncated
    return sh


def unique_sets(sh: Shingles) -> tuple[np.ndarray, np.ndarray]:
    """Per-document sorted unique 32-bit shingle hashes (for exact Jaccard) and their offsets."""
    n_docs = len(sh.offsets) - 1
    doc_of = np.repeat(np.arange(n_docs, dtype=U64), sh.counts())
    keys = np.sort((doc_of << U64(32)) | (sh.values >> U64(32)))  # sort + diff beats np.unique here
    if len(keys) > 1:
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    counts = np.bincount((keys >> U64(32)).astype(np.int64), minlength=n_docs)
    values = (keys & U64(0xFFFFFFFF)).astype(np.uint32)
    return values, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
