"""Heuristic quality signals for a batch of documents, computed column-wise with Arrow and numpy.

Each function takes NFC text (a string array) plus the batch's shared ``Tokens`` and returns
``{signal_name: float64 array}`` with one value per document. Definitions follow Gopher (quality and
repetition), C4 line rules and FineWeb quality as implemented in datatrove, so the same thresholds apply.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.quality.ngrams import NgramIndex, dup_ngram_chars, duplicate_items, top_ngram_chars
from stages.quality.rules import DUP_NS, TOP_NS, C4Rules
from stages.quality.text import Tokens, protect_abbreviations

Signals = dict[str, np.ndarray]

# datatrove's PUNCTUATION_SET (ASCII/CJK punctuation, control characters, terminal marks of many scripts).
_PUNCT_CHARS = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"
_CONTROL = [(0, 9), (11, 13), (13, 32), (127, 160)]
TERMINAL_PUNCTUATION = (
    "᪩？⁈𑩂．꩞𑅃﹗𑂾\u1b7d፧𑅂꡶꘎⁉࠾᪨𑊩𑱂᱿𖩮᥅\U00011f43\U00011f44﹒𑈹𑈸።܂؞꛳\U00010f88𑗍𐩖𑙂\u061d꩟᠉\u1b7e𑗗᰼𑻸؟𑪜꧉𑗉𐽙𖫵𖬷܀꓿᜵𑗏𑁇𑗓𑥄៖𑥆𑗑𑗒꯫۔𐩗"
    "\U00010f86꡷\u2e54｡៕߹⸮.𑇅࠹𛲟꫰꤯𐽗᭞𑜼፨𑃁꣏𑇟𖬸𑪛𑜾࠷𝪈?𑃀𑗃！։꣎॥𑗖᭛᠃!၊𖺘⁇𑗌𑑋𖭄᭟𑅁𑙁⸼꩝𑗋。꧈꫱𑜽𐽖𑂿᙮។꛷\U00010f89៚᥄𑗕𑗎᪪᭚࠽𑇞𑗊𐽘"
    "\u2e53𑗔𖩯𑇍𑻷𐽕𑩃।𑗂𑇆𑁈။᱾𑱁꘏܁᜶‼𑈻‽᪫﹖𑑌𑈼\U00010f87𑗐៙᰻"
)


def _char_class(chars: str, ranges: list[tuple[int, int]] = ()) -> str:
    parts = [f"\\x{{{ord(c):x}}}" for c in sorted(set(chars))]
    parts += [f"\\x{{{a:x}}}-\\x{{{b - 1:x}}}" for a, b in ranges]
    return "".join(parts)


_PUNCT_CLASS = _char_class(_PUNCT_CHARS + TERMINAL_PUNCTUATION, _CONTROL)
_NON_SYMBOL = f"[^{_PUNCT_CLASS}]"
_TERMINAL_END = f"[{_char_class(TERMINAL_PUNCTUATION)}]$"
_SPACE = r"[\s\p{Z}\x{b}\x{1c}-\x{1f}\x{85}]"
_NOT_SPACE = r"[^\s\p{Z}\x{b}\x{1c}-\x{1f}\x{85}]"
_C4_END = r"[.?!\"']$"
_CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
_POLICY = "terms of use|privacy policy|cookie policy|uses cookies|use of cookies|use cookies"
# A sentence ends at . ! ? (not an ellipsis or abbreviation) before a word, as spaCy's sentencizer sees it.
_SENTENCE_BREAK = (r"[.!?。！？][\p{P}\p{S}]*\s+[\p{P}\p{S}]*[^\p{P}\p{S}\s]|\p{Ll}[.!?]\p{Lu}"
                   r"|[。！？][\p{P}\p{S}]*[^\p{P}\p{S}\s]")


def _f(x: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(x.to_numpy(zero_copy_only=False), dtype=np.float64)


def _b(x: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(x.to_numpy(zero_copy_only=False), dtype=bool)


def _ratio(num: np.ndarray, den: np.ndarray, empty: float = 0.0) -> np.ndarray:
    out = np.full(len(num), empty, np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _flat(lists: pa.Array) -> tuple[pa.Array, np.ndarray]:
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    return lists.flatten(), pc.list_parent_indices(lists).to_numpy()


def _per_doc(parent: np.ndarray, mask: np.ndarray | None, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    p = parent if mask is None else parent[mask]
    w = None if weights is None else (weights if mask is None else weights[mask])
    return np.bincount(p, weights=w, minlength=n).astype(np.float64)


def text_lengths(text: pa.Array) -> np.ndarray:
    return _f(pc.utf8_length(text))


def gopher_quality(text: pa.Array, tokens: Tokens, stop_words: list[str],
                   extra_stop_hits: dict[str, np.ndarray] | None = None) -> Signals:
    """Word count, mean word length, symbol/bullet/ellipsis ratios, alpha share, distinct stop words."""
    n = len(text)
    vals, doc = tokens.values, tokens.doc
    n_words = tokens.counts.astype(np.float64)
    non_symbol = _b(pc.match_substring_regex(vals, _NON_SYMBOL)) if len(vals) else np.zeros(0, bool)
    lens = _f(pc.utf8_length(vals)) if len(vals) else np.zeros(0)
    words = _per_doc(doc, non_symbol, n)
    mean_len = np.full(n, np.nan)
    np.divide(_per_doc(doc, non_symbol, n, lens), words, out=mean_len, where=words > 0)
    hashes = _f(pc.count_substring(text, "#"))
    ellipses = _f(pc.count_substring(text, "...")) + _f(pc.count_substring(text, "…"))
    alpha = _per_doc(doc, _b(pc.match_substring_regex(vals, r"\pL")), n) if len(vals) else np.zeros(n)

    # Python splitlines: no trailing empty line after a final line break
    lines, parent = _flat(pc.split_pattern(text, "\n"))
    last = np.ones(len(parent), bool)
    last[:-1] = parent[1:] != parent[:-1]
    trailing_empty = last & (_f(pc.utf8_length(lines)) == 0)
    n_lines = _per_doc(parent, ~trailing_empty, n)
    bullets = _per_doc(parent, _b(pc.match_substring_regex(lines, f"^{_SPACE}*[•-]")), n)
    end_ell = _per_doc(parent, _b(pc.match_substring_regex(lines, f"(\\.\\.\\.|…){_SPACE}*$")), n)

    return {
        "gq_words": words,
        "gq_mean_word_length": mean_len,
        "gq_hash_ratio": _ratio(hashes, n_words),
        "gq_ellipsis_ratio": _ratio(ellipses, n_words),
        "gq_bullet_lines_ratio": _ratio(bullets, n_lines),
        "gq_end_ellipsis_lines_ratio": _ratio(end_ell, n_lines),
        "gq_alpha_words_ratio": _ratio(alpha, n_words),
        "gq_stop_words": distinct_stop_words(tokens, stop_words, extra_stop_hits),
    }


def distinct_stop_words(tokens: Tokens, stop_words: list[str],
                        extra_hits: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Number of distinct stop words per document (exact token match, plus optional extra hits)."""
    n, s = tokens.n_docs, len(stop_words)
    present = np.zeros((n, max(s, 1)), bool)
    if s and len(tokens.values):
        idx = pc.index_in(tokens.values, value_set=pa.array(stop_words, pa.string()))
        valid = _b(pc.is_valid(idx))
        if valid.any():
            present[tokens.doc[valid], _f(idx.filter(pa.array(valid))).astype(np.int64)] = True
    for word, hit in (extra_hits or {}).items():
        if word in stop_words:
            present[:, stop_words.index(word)] |= hit
    return present.sum(axis=1).astype(np.float64)


def gopher_repetition(text: pa.Array, tokens: Tokens, index: NgramIndex, lengths: np.ndarray) -> Signals:
    """Duplicate paragraphs/lines (share and characters), top n-gram and duplicated n-gram shares."""
    n = len(text)
    paras, pparent = _flat(pc.split_pattern_regex(pc.utf8_trim_whitespace(text), r"\n{2,}"))
    n_paras = np.bincount(pparent, minlength=n).astype(np.float64)
    para_dup, para_dup_chars = duplicate_items(paras, pparent, n)
    lines, lparent = _flat(pc.split_pattern_regex(text, r"\n+"))
    n_lines = np.bincount(lparent, minlength=n).astype(np.float64)
    line_dup, line_dup_chars = duplicate_items(lines, lparent, n)
    out: Signals = {
        "gr_dup_para_frac": _ratio(para_dup, n_paras),
        "gr_dup_para_char_frac": _ratio(para_dup_chars, lengths),
        "gr_dup_line_frac": _ratio(line_dup, n_lines),
        "gr_dup_line_char_frac": _ratio(line_dup_chars, lengths),
    }
    for k in TOP_NS:
        out[f"gr_top_{k}_gram_frac"] = _ratio(top_ngram_chars(index, k), lengths)
    for k in DUP_NS:
        out[f"gr_dup_{k}_gram_frac"] = _ratio(dup_ngram_chars(index, k), lengths)
    return out


def fineweb(text: pa.Array, tokens: Tokens, lengths: np.ndarray, short_line_length: int = 30) -> Signals:
    """Share of lines ending in terminal punctuation, short lines, duplicated line chars, newlines per word."""
    n = len(text)
    lines, parent = _flat(pc.split_pattern(text, "\n"))
    nonempty = _b(pc.match_substring_regex(lines, _NOT_SPACE))
    lines, parent = lines.filter(pa.array(nonempty)), parent[nonempty]
    n_lines = np.bincount(parent, minlength=n).astype(np.float64)
    punct = _per_doc(parent, _b(pc.match_substring_regex(lines, _TERMINAL_END)), n)
    short = _per_doc(parent, _f(pc.utf8_length(lines)) <= short_line_length, n)
    _, dup_chars = duplicate_items(lines, parent, n)
    newlines = _f(pc.count_substring(text, "\n"))
    return {
        "fw_line_punct_ratio": _ratio(punct, n_lines),
        "fw_short_line_ratio": _ratio(short, n_lines),
        "fw_char_dup_ratio": _ratio(dup_chars, lengths - newlines),
        "fw_new_line_ratio": _ratio(newlines, tokens.counts.astype(np.float64), empty=np.inf),
    }


def c4(text: pa.Array, rules: C4Rules) -> Signals:
    """C4 line rules: sentences on kept lines, kept-line share, lorem ipsum / curly bracket flags."""
    n = len(text)
    raw, parent = _flat(pc.split_pattern_regex(text, r"\r\n|[\n\r\x{b}\x{c}\x{1c}-\x{1e}\x{85}\x{2028}\x{2029}]"))
    last = np.ones(len(parent), bool)
    last[:-1] = parent[1:] != parent[:-1]
    real = ~(last & (_f(pc.utf8_length(raw)) == 0))
    raw, parent = raw.filter(pa.array(real)), parent[real]
    line = pc.utf8_trim_whitespace(raw)
    n_words = _f(pc.count_substring_regex(line, r"\S+"))
    ok = np.ones(len(parent), bool)
    if rules.max_word_length > 0:
        ok &= _f(pc.count_substring_regex(line, rf"\S{{{rules.max_word_length}}}\S")) == 0
    line = pc.replace_substring_regex(line, _CITATION, "")
    if rules.filter_no_terminal_punct:
        ok &= _b(pc.match_substring_regex(line, _C4_END)) & ~_b(pc.ends_with(line, "..."))
    ok &= n_words >= rules.min_words_per_line
    lower = pc.utf8_lower(line)
    lorem = _b(pc.match_substring(lower, "lorem ipsum")) if rules.filter_lorem_ipsum else np.zeros(len(ok), bool)
    js = _b(pc.match_substring(lower, "javascript")) if rules.filter_javascript else np.zeros(len(ok), bool)
    curly = _b(pc.match_substring(line, "{")) if rules.filter_curly_bracket else np.zeros(len(ok), bool)
    policy = _b(pc.match_substring_regex(lower, _POLICY)) if rules.filter_policy else np.zeros(len(ok), bool)
    kept = ok & ~lorem & ~js & ~curly & ~policy
    sentences = _f(pc.count_substring_regex(protect_abbreviations(line), _SENTENCE_BREAK)) + 1
    n_lines = np.bincount(parent, minlength=n).astype(np.float64)
    return {
        "c4_sentences": _per_doc(parent, kept, n, sentences),
        "c4_kept_line_frac": _ratio(_per_doc(parent, kept, n), n_lines),
        "c4_lorem_ipsum": _per_doc(parent, ok & lorem, n),
        "c4_curly_bracket": _per_doc(parent, ok & ~lorem & ~js & curly, n),
    }
