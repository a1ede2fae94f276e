"""Exact fast encoder for HF BPE tokenizers: a word table in front of a compiled BPE merge loop.

BPE encodes each pre-token independently, so ``encode(text) == concat(bpe(w) for w in
pretokenize(text))``. Web text repeats a small set of words, so after warm-up nearly every word is
a dict hit and the per-document work is one regex pass plus C-level map/numpy gathers; words not
seen yet are merged in bulk by ``tokenizer.bpe_kernel`` (words it cannot reproduce go to the real
tokenizer). Only tokenizers whose pipeline we reproduce exactly qualify; documents containing
added tokens are delegated to the real tokenizer, and the packer re-checks agreement per shard.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from tokenizer import bpe_kernel, regex_gaps

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


_PLAIN = re.compile(r"[ \[\]^*+?|\-]|[^\\(){}$.]")


def _compile(pattern: str) -> Any:
    """``re`` for patterns made only of literals, classes and simple quantifiers, else ``regex``."""
    import regex

    if all(_PLAIN.fullmatch(ch) for ch in pattern):
        return re.compile(pattern)
    return regex.compile(pattern)


class FastBPE:
    """Exact re-implementation of an HF BPE encode (split regexes + model) with a word cache.

    Words missing from the cache are merged together, once, by the compiled kernel when ``tables``
    are given; words it flags (and all words without tables) go through the tokenizer reduced to
    its BPE model (plus the byte-level mapping), where every call sees exactly one pre-token.
    ``encode_batch`` returns None for documents containing an added token's text: how those are
    matched depends on tokenizer settings, so the caller encodes them with the real tokenizer.
    """

    def __init__(self, tokenizer: Any, patterns: list[str], byte_level: bool, normalizer: str | None,
                 max_cache: int = 1 << 21, tables: bpe_kernel.MergeTables | None = None,
                 max_tokens: int = 1 << 25) -> None:
        import regex
        from tokenizers import pre_tokenizers

        added = [t.content for t in tokenizer.get_added_tokens_decoder().values() if t.content]
        # Misses go through the same tokenizer object with its pipeline reduced to the model (the
        # byte-level mapping stays); added tokens never match inside a word here, because
        # documents containing one are delegated before their words get this far.
        self._tok = tokenizer
        self._word_pre = (pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
                          if byte_level else None)
        self._splits = [regex.compile(f"({p})").split for p in patterns]
        # a single pattern: findall, which drops unmatched gaps, so coverage is checked per text;
        # plain patterns (no Unicode properties) run ~2x faster on the standard re module
        self._findall = _compile(patterns[0]).findall if len(patterns) == 1 else None
        self._gapless = patterns == [GPT2_PATTERN]  # matches every character: no check needed
        # HF's own normaliser: Python's unicodedata tables are older and differ on some code points
        self._normalize = tokenizer.normalizer.normalize_str if normalizer is not None else None
        # code points on which the regex module and HF's engine may split differently
        self._gap_ranges = regex_gaps.split_gaps(patterns)
        self._gap_re2 = regex_gaps.re2_class(self._gap_ranges) if self._gap_ranges else None
        # literal alternation: the standard re module scans it ~3x faster than regex
        self._added = re.compile("|".join(re.escape(a) for a in added)).search if added else None
        # cheap pre-check: an added token can only occur where its first character does
        self._added_first = sorted({a[0] for a in added})
        self._max_cache = max_cache
        self._max_tokens = max_tokens
        self._tables = tables
        if tables is not None:  # load the compiled kernel now (~0.2 s once per process), not mid-shard
            bpe_kernel.encode_word_list(tables, ["a"])
        self.reset()

    def reset(self) -> None:
        """Empty word table: word -> row; row -> (start, length) in one int32 token array."""
        self._index: dict[str, int] = {}
        self._starts = np.zeros(1 << 16, np.int64)
        self._lens = np.zeros(1 << 16, np.int64)
        self._toks = np.zeros(1 << 18, np.int32)
        self._n_words = self._n_toks = 0

    def _encode_words(self, words: list[str]) -> Any:
        tok = self._tok
        saved = tok.normalizer, tok.pre_tokenizer, tok.post_processor
        tok.normalizer, tok.pre_tokenizer, tok.post_processor = None, self._word_pre, None
        try:
            return tok.encode(words, is_pretokenized=True, add_special_tokens=False)
        finally:
            tok.normalizer, tok.pre_tokenizer, tok.post_processor = saved

    def _words(self, text: str) -> list[str]:
        if self._findall is not None:
            words = self._findall(text)
            if self._gapless or sum(map(len, words)) == len(text):
                return words
        pieces = [text]
        for split in self._splits:
            pieces = [q for p in pieces for q in split(p) if q]
        return pieces

    def _encode_with_tokenizer(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        enc = self._encode_words(words)
        ids = np.asarray(enc.ids, dtype=np.int32)
        counts = np.bincount(np.asarray(enc.word_ids, dtype=np.int64), minlength=len(words))
        if counts.sum() != ids.size or counts.size != len(words):
            raise RuntimeError("word tokenizer returned tokens outside the words")
        return ids, counts

    def _add_words(self, words: list[str]) -> None:
        """Encode new words in bulk (compiled kernel; flagged words by the tokenizer) and append them."""
        if self._tables is None:
            self._append(words, *self._encode_with_tokenizer(words))
            return
        ids, counts, flagged = bpe_kernel.encode_word_list(self._tables, words)
        if not flagged.any():
            self._append(words, ids, counts)
            return
        # rare (unk path, long words): kernel ids hold only the unflagged words, in order; the
        # table does not care about order, so the flagged words are appended separately
        redo = np.flatnonzero(flagged).tolist()
        keep = np.flatnonzero(flagged == 0)
        self._append([words[i] for i in keep.tolist()], ids, counts[keep])
        redo_words = [words[i] for i in redo]
        self._append(redo_words, *self._encode_with_tokenizer(redo_words))

    def _append(self, words: list[str], ids: np.ndarray, counts: np.ndarray) -> None:
        n, k, t = self._n_words, len(words), self._n_toks
        if n + k > self._starts.size:
            grow = max(n + k, 2 * self._starts.size)
            self._starts = np.resize(self._starts, grow)
            self._lens = np.resize(self._lens, grow)
        if t + ids.size > self._toks.size:
            self._toks = np.resize(self._toks, max(t + ids.size, 2 * self._toks.size))
        self._lens[n:n + k] = counts
        self._starts[n:n + k] = t + np.cumsum(counts) - counts
        self._toks[t:t + ids.size] = ids
        self._index.update(zip(words, range(n, n + k)))
        self._n_words, self._n_toks = n + k, t + ids.size

    def _rows(self, words: list[str]) -> np.ndarray:
        """Word-table rows of ``words``, adding the missing ones (bounded: the table restarts when full)."""
        import itertools

        rows = np.fromiter(map(self._index.get, words, itertools.repeat(-1)), np.int64, count=len(words))
        miss = np.flatnonzero(rows < 0)
        if miss.size == 0:
            return rows
        missing = words if miss.size == len(words) else [words[i] for i in miss.tolist()]
        new = list(dict.fromkeys(missing))
        # bounded memory: restart the table when it holds too many words, or too many tokens (long
        # words rarely repeat); it then exceeds the bound by at most one batch's new words
        if self._n_words + len(new) > self._max_cache or self._n_toks >= self._max_tokens:
            self.reset()
            miss, missing = np.arange(len(words)), words
            new = list(dict.fromkeys(words))
        self._add_words(new)
        rows[miss] = np.fromiter(map(self._index.__getitem__, missing), np.int64, count=miss.size)
        return rows

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """(concatenated int32 ids, per-document token counts, indices of delegated documents).

        Delegated documents have count 0 and no tokens here: they contain an added token's text
        (before or after normalisation), or a code point on which the split engines disagree.
        """
        import itertools

        words: list[list[str]] = []
        delegated: list[int] = []
        gap = (regex_gaps.contains_any(texts, self._gap_ranges, self._gap_re2) if self._gap_re2
               else itertools.repeat(False))
        for i, (text, odd) in enumerate(zip(texts, gap)):
            if self._normalize is not None and not text.isascii():
                text_n = self._normalize(text)
            else:
                text_n = text
            if odd or self._has_added(text) or (text_n is not text and self._has_added(text_n)):
                delegated.append(i)
                words.append([])
                continue
            words.append(self._words(text_n))
        n_words = np.fromiter(map(len, words), np.int64, count=len(words))
        flat_words = list(itertools.chain.from_iterable(words))
        rows = self._rows(flat_words)
        lens = self._lens[rows]
        tok_cum = np.zeros(lens.size + 1, np.int64)
        np.cumsum(lens, out=tok_cum[1:])
        # gather each word's tokens: position p of word w reads toks[start_w + p - offset_w]
        pos = np.arange(int(tok_cum[-1]), dtype=np.int64) + np.repeat(self._starts[rows] - tok_cum[:-1], lens)
        word_end = np.cumsum(n_words)
        counts = tok_cum[word_end] - tok_cum[word_end - n_words]
        return self._toks[pos], counts, delegated

    def _has_added(self, text: str) -> bool:
        return (self._added is not None and any(c in text for c in self._added_first)
                and self._added(text) is not None)

    def encode_batch(self, texts: list[str]) -> list[list[int] | None]:
        if not texts:
            return []
        flat, counts, delegated = self.encode_flat(texts)
        out: list[list[int] | None] = [a.tolist() for a in np.split(flat, np.cumsum(counts)[:-1])]
        for i in delegated:
            out[i] = None
        return out


def load_fast_bpe(tokenizer_json: str | Path | None = None, tokenizer: Any = None,
                  compiled: bool = True) -> FastBPE | None:
    """A ``FastBPE`` for this HF tokenizer (a file, or a loaded ``tokenizers.Tokenizer`` to share)
    if its pipeline is one we reproduce exactly, else None. ``compiled`` merges new words with
    ``tokenizer.bpe_kernel`` (else with the tokenizer's own BPE)."""
    import json

    from tokenizers import Tokenizer

    tok = tokenizer if tokenizer is not None else Tokenizer.from_file(str(tokenizer_json))
    if type(tok.model).__name__ != "BPE" or tok.model.dropout:
        return None
    if tok.truncation is not None or tok.padding is not None:  # the packer wants whole documents
        return None

    def state(component: Any) -> dict[str, Any] | None:
        return None if component is None else json.loads(component.__getstate__())

    norm = state(tok.normalizer)
    normalizer = None
    if norm is not None:
        if norm.get("type") not in ("NFC", "NFKC"):
            return None
        normalizer = norm["type"]
    plan = _pretokenizer_plan(state(tok.pre_tokenizer))
    if plan is None:
        return None
    tables = None
    if compiled:
        tables = (bpe_kernel.load_tables(tokenizer_json, plan[1]) if tokenizer_json is not None
                  else bpe_kernel.build_tables(json.loads(tok.to_str())["model"], plan[1]))
    return FastBPE(tok, plan[0], plan[1], normalizer, tables=tables)


#: Escapes, negated-class openers, then the anchors ``^``/``$`` that are left.
_ANCHORS = re.compile(r"\\.|\[\^|[\^$]")


def _split_pattern(step: dict[str, Any]) -> str | None:
    """The regex of an isolated ``Split`` step, if both engines read it the same way."""
    import regex

    pat = (step.get("pattern") or {}).get("Regex")
    if step.get("type") != "Split" or step.get("behavior") != "Isolated" or step.get("invert") or pat is None:
        return None
    if regex.compile(pat).groups or "[:" in pat:  # groups change splitting; POSIX classes differ
        return None
    if any(m.group() in "^$" for m in _ANCHORS.finditer(pat)):  # line anchors in HF's engine only
        return None
    if regex.fullmatch(pat, ""):  # empty matches advance differently in the two engines
        return None
    return pat


def _pretokenizer_plan(pre: dict[str, Any] | None) -> tuple[list[str], bool] | None:
    """(split regexes, byte-level mapping?) of a pre-tokenizer we reproduce exactly, or None.

    Supported: ``ByteLevel`` (GPT-2 regex), isolated regex ``Split`` steps, and a ``Sequence`` of
    such splits optionally ending in ``ByteLevel``.
    """
    if not pre:
        return None
    steps = (pre.get("pretokenizers") or []) if pre.get("type") == "Sequence" else [pre]
    byte_level = bool(steps) and steps[-1].get("type") == "ByteLevel"
    patterns: list[str] = []
    for st in steps[:-1] if byte_level else steps:
        pat = _split_pattern(st)
        if pat is None:
            return None
        patterns.append(pat)
    if byte_level:
        last = steps[-1]
        if last.get("add_prefix_space", False):
            return None
        if last.get("use_regex", True):
            patterns.append(GPT2_PATTERN)
    return (patterns, byte_level) if patterns else None


