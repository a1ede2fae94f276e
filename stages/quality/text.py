"""Text preparation for the quality stage: NFC normalisation and vectorised word splitting.

Words are produced for a whole batch at once with Arrow compute kernels (RE2 regex rewrites, then a
whitespace split), giving one flat token array plus per-document offsets that every filter shares.

Tokenizers:

* ``latin``: whitespace split with punctuation runs and English clitics (``n't``, ``'s`` ...) split
  off, an approximation of the spaCy tokenizer datatrove uses for English.
* ``korean``: NFC text split into eojeols, with punctuation (except inside numbers: ``1,000``, ``3.5``,
  ``2015-16``, ``12:30`` and ``2020.05.01`` stay one token, as Kiwi keeps them), script changes (``2024년`` -> ``2024 년``),
  a common final particle/ending (``학교에서`` -> ``학교 에서``) and a stem-final syllable (``공부했다`` ->
  ``공부 했 했 다``, contracted syllables twice as Kiwi reports them) split off: a cheap stand-in for
  Kiwi morphemes (0.89 words per Kiwi morpheme on D2/D7; see benchmarks/results/quality.md).
* ``kiwi``: Kiwi morpheme surface forms (what FineWeb-2 used), each document analysed once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TokenizerName = Literal["latin", "korean", "kiwi"]

# English clitics that spaCy splits off ("do n't", "it 's").
_CLITIC = (r"(\pL)(n't|N'T|n’t|'s|'S|’s|'re|'ve|'ll|'d|'m|'RE|'VE|'LL|'D|'M|’re|’ve|’ll|’d|’m)"
           r"(\s|$|[^\pL\pN])")
_PUNCT = r"[\p{P}\p{S}]"
_TRAILING_PUNCT = rf"({_PUNCT}+)(\s|$)"
_LEADING_PUNCT = rf"(^|\s)({_PUNCT}+)"
_PUNCT_PAIR = rf"({_PUNCT})({_PUNCT})"
_INFIX = r"([\pL\pN])([-–—/])([\pL\pN])"
_PERIOD_INFIX = r"(\p{Ll})([.,])(\pL)"
# Periods spaCy keeps inside a token: initials and dotted abbreviations (P.J., a.m.), titles, months.
_ABBREV_PERIOD = "\ue000"
_ELLIPSIS = "\ue001"
_INITIAL = r"(^|[\s(\x{e000}])(\pL)\."
_ABBREVS = ("Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Inc|Ltd|Co|Corp|vs|etc|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|"
            "Gov|Sen|Rep|Gen|Lt|Col|Sgt|Capt|Ft|Mt|Ill|Calif|Mass|Conn|Wash|Ariz|Fla|Ga|Pa|Va|Tenn|Mich|Minn|No")
_ABBREV = rf"(^|[\s(])({_ABBREVS})\."

# Korean: split every punctuation/symbol run, script changes, a final particle/ending, a stem-final syllable.
_KO_PUNCT = r"([^\pL\pN\s]+)"
_KO_SCRIPT_A = r"(\p{Hangul})([^\p{Hangul}\s])"
_KO_SCRIPT_B = r"([^\p{Hangul}\s])(\p{Hangul})"
#: Final particles and endings split off an eojeol (longest first; RE2 alternation is leftmost-first).
KO_ENDINGS = [
    "에서는", "으로는", "습니다", "에서", "으로", "에게", "까지", "부터", "처럼", "보다", "는데", "지만", "면서", "으며",
    "라는", "어요", "아요", "니다", "한다", "된다", "의", "는", "은", "을", "를", "에", "가", "이", "로", "와", "과", "도",
    "만", "고", "다", "요", "며", "면", "서", "게", "지", "기", "던", "나", "여", "어", "아",
]
#: Stem-final syllables Kiwi reads as two morphemes with the same surface (했 = 하+었): emitted twice.
KO_CONTRACTED = ["했", "한", "할", "해", "된", "됐", "졌", "였", "함", "됨"]
#: Stem-final syllables Kiwi reads as a separate morpheme (derivational suffix, auxiliary, pre-final ending).
KO_STEM_FINAL = ["하", "되", "있", "없", "않", "었", "았", "겠", "들", "시"]
#: Punctuation between two digits (decimal points, thousands separators, dates, scores, times) is
#: swapped for a digit-class placeholder while splitting (Mongolian digits, which Korean text does not
#: use), so the number stays one non-alphabetic token, as in Kiwi; the token keeps the original mark.
KO_NUMBER_MARKS = {".": "\u1810", ",": "\u1811", "-": "\u1812", ":": "\u1813", "/": "\u1814"}
_KO_NUMBER_STEPS = tuple((rf"(\d){re.escape(mark)}(\d)", rf"\1{ph}\2")
                         for mark, ph in KO_NUMBER_MARKS.items()) * 2
_KO_ENDING = r"(\p{Hangul})(" + "|".join(sorted(set(KO_ENDINGS), key=len, reverse=True)) + r")(\s|$)"
_KO_CONTRACTED = r"(\p{Hangul})(" + "|".join(KO_CONTRACTED) + r")(\s|$)"
_KO_STEM_FINAL = r"(\p{Hangul})(" + "|".join(KO_STEM_FINAL) + r")(\s|$)"


@dataclass
class Tokens:
    """Words of a batch: a flat string array and ``offsets`` (len docs+1) into it."""

    values: pa.Array
    offsets: np.ndarray

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    @property
    def doc(self) -> np.ndarray:
        """Document index of every token."""
        return np.repeat(np.arange(self.n_docs), np.diff(self.offsets))

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def nfc(text: pa.Array) -> pa.Array:
    """NFC-normalise a string array (composes NFD jamo into Hangul syllables); nulls become ''."""
    return pc.utf8_normalize(pc.fill_null(text, ""), "NFC")


def _split_flat(text: pa.Array) -> Tokens:
    lists = pc.utf8_split_whitespace(text)
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    values = lists.flatten()
    parent = pc.list_parent_indices(lists).to_numpy()
    keep = pc.greater(pc.binary_length(values), 0)
    values = values.filter(keep)
    parent = parent[keep.to_numpy(zero_copy_only=False)]
    counts = np.bincount(parent, minlength=len(text)) if len(parent) else np.zeros(len(text), np.int64)
    offsets = np.zeros(len(text) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Tokens(values, offsets)



def _rewrite(text: pa.Array, steps: tuple[tuple[str, str], ...]) -> pa.Array:
    """Apply regex rewrites in order (a step listed twice handles overlapping matches)."""
    for pattern, replacement in steps:
        text = pc.replace_substring_regex(text, pattern, replacement)
    return text


# The rewrites of each word splitter, in order (defined after their patterns).
_LATIN_STEPS = ((_INFIX, r"\1 \2 \3"), (_INFIX, r"\1 \2 \3"), (_PERIOD_INFIX, r"\1 \2 \3"),
                (_TRAILING_PUNCT, r" \1\2"), (_LEADING_PUNCT, r"\1\2 "), (_PUNCT_PAIR, r"\1 \2"),
                (_PUNCT_PAIR, r"\1 \2"), (_CLITIC, r"\1 \2\3"))
_ABBREV_STEPS = ((_ABBREV, r"\1\2" + _ABBREV_PERIOD), (_INITIAL, r"\1\2" + _ABBREV_PERIOD),
                 (_INITIAL, r"\1\2" + _ABBREV_PERIOD))
_KOREAN_STEPS = ((_KO_PUNCT, r" \1 "), (_KO_SCRIPT_A, r"\1 \2"), (_KO_SCRIPT_B, r"\1 \2"),
                 (_KO_ENDING, r"\1 \2\3"), (_KO_CONTRACTED, r"\1 \2 \2\3"), (_KO_STEM_FINAL, r"\1 \2\3"))

def split_latin(text: pa.Array) -> Tokens:
    """spaCy-like English words: clitics, leading/trailing punctuation runs and hyphen infixes split."""
    t = _rewrite(protect_abbreviations(text), _LATIN_STEPS)
    tokens = _split_flat(t)
    values = pc.replace_substring(tokens.values, _ABBREV_PERIOD, ".")
    values = pc.replace_substring(values, _ELLIPSIS, "...")
    return Tokens(values, tokens.offsets)


def protect_abbreviations(text: pa.Array) -> pa.Array:
    """Replace periods that end no sentence (ellipses, initials, titles) with private-use characters."""
    t = pc.replace_substring(text, "...", _ELLIPSIS)
    return _rewrite(t, _ABBREV_STEPS)


def split_korean(text: pa.Array) -> Tokens:
    """Fast Korean pseudo-morphemes from NFC text (see module docstring)."""
    tokens = _split_flat(_rewrite(_rewrite(text, _KO_NUMBER_STEPS), _KOREAN_STEPS))
    values = tokens.values
    for mark, ph in KO_NUMBER_MARKS.items():
        values = pc.replace_substring(values, ph, mark)
    return Tokens(values, tokens.offsets)


@lru_cache(maxsize=1)
def _kiwi():  # pragma: no cover - exercised when kiwipiepy is installed
    from kiwipiepy import Kiwi

    return Kiwi(model_type="sbg")


_KIWI_BAD_NUMBERS = re.compile("[0-9,]{20,}")


def split_kiwi(text: pa.Array) -> Tokens:
    """Kiwi morpheme surface spans, one analysis per document (slow: ~0.1 MB/s)."""
    kiwi = _kiwi()
    flat: list[str] = []
    counts = np.zeros(len(text), np.int64)
    for i, s in enumerate(text.to_pylist()):
        s = _KIWI_BAD_NUMBERS.sub("", s or "")
        if not s:
            continue
        toks = [s[t.start:t.end].strip() for t in kiwi.tokenize(s)]
        toks = [w for w in toks if w]
        flat.extend(toks)
        counts[i] = len(toks)
    offsets = np.zeros(len(text) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Tokens(pa.array(flat, pa.string()), offsets)


def split_words(text: pa.Array, tokenizer: TokenizerName) -> Tokens:
    if tokenizer == "latin":
        return split_latin(text)
    if tokenizer == "korean":
        return split_korean(text)
    if tokenizer == "kiwi":
        return split_kiwi(text)
    raise ValueError(f"unknown tokenizer {tokenizer!r}")


# Kiwi stop words that fast splitting leaves inside eojeols: (stop word, regex over NFC text).
_KO_STOP_SYLLABLES = {
    "했": "했",
    "하": r"\p{Hangul}하|하[는고여면지기였]|^하|\s하",
    "되": "되",
    "있": r"(^|[^\p{Hangul}])있",
    "한": r"한($|[^\p{Hangul}])",
    "인": r"\p{Hangul}인($|[^\p{Hangul}]|[데지가])",
}


def korean_stop_hits(text: pa.Array, stop_words: list[str]) -> dict[str, np.ndarray]:
    """Per document, whether each in-eojeol stop morpheme (했, 하, 되, 있, 한, 인) occurs."""
    return {
        w: np.asarray(pc.match_substring_regex(text, pat).to_numpy(zero_copy_only=False), bool)
        for w, pat in _KO_STOP_SYLLABLES.items() if w in stop_words
    }


def script_counts(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hangul, Latin and all letter counts per document (for a cheap language guess)."""
    counts = [pc.count_substring_regex(text, p).to_numpy(zero_copy_only=False)
              for p in (r"\p{Hangul}", r"\p{Latin}", r"\pL")]
    return tuple(np.asarray(c, np.float64) for c in counts)  # type: ignore[return-value]
