"""Korean web spam signals: gambling/adult/loan keyword density, repeated phone numbers, stuffed lines.

Keyword lists are plain text files (one keyword per line, ``#`` comments) shipped in
``stages/quality/resources/spam/``; a job can point a category at its own file. Matching is substring-based
on NFC text (Korean has no word boundaries to rely on) and case-insensitive for Latin letters.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SPAM_DIR = Path(__file__).resolve().parent / "resources" / "spam"
DEFAULT_LISTS = {name: str(SPAM_DIR / f"{name}.txt") for name in ("gambling", "adult", "loan")}

# Korean mobile/area/business numbers; RE2 has no look-behind, so digit boundaries are checked in Python.
_PHONE_RE2 = r"(?:\+82[-. ]?|0)(?:1[016789]|2|[3-6][1-5]|70|50\d)[-. )]?\d{3,4}[-. ]?\d{4}|1[5-9]\d\d-\d{4}"
_PHONE_PY = re.compile(r"(?<!\d)(?:" + _PHONE_RE2 + r")(?!\d)")
_META = set(r"\.^$|?*+()[]{}")


def read_word_list(path: str | Path) -> list[str]:
    """Keywords from a list file: stripped, lower-cased, comments and blanks dropped, order kept."""
    words: list[str] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        w = line.strip()
        if w and not w.startswith("#"):
            words.append(w.lower())
    return list(dict.fromkeys(words))


def _escape(word: str) -> str:
    return "".join("\\" + c if c in _META else c for c in word)


@lru_cache(maxsize=16)
def _pattern(path: str) -> str:
    words = sorted(read_word_list(path), key=len, reverse=True)
    return "(?i)" + "|".join(_escape(w) for w in words) if words else ""


def _count(text: pa.Array, pattern: str) -> np.ndarray:
    if not pattern:
        return np.zeros(len(text))
    return np.asarray(pc.count_substring_regex(text, pattern).to_numpy(zero_copy_only=False), np.float64)


def max_phone_repeats(texts: list[str]) -> np.ndarray:
    """Most occurrences of a single phone number (digits only) in each text."""
    out = np.zeros(len(texts))
    for i, t in enumerate(texts):
        nums = Counter(re.sub(r"\D", "", m.group(0)).removeprefix("82") for m in _PHONE_PY.finditer(t))
        out[i] = max(nums.values()) if nums else 0
    return out


def spam_signals(text: pa.Array, lists: dict[str, str]) -> dict[str, np.ndarray]:
    """Per-category keyword hits, hits per 100 words, max phone repeats, keyword-stuffed line share."""
    n = len(text)
    out: dict[str, np.ndarray] = {}
    total = np.zeros(n)
    for name, path in sorted(lists.items()):
        hits = _count(text, _pattern(path))
        out[f"spam_{name}_hits"] = hits
        total += hits
    words = _count(text, r"\S+")
    out["spam_keyword_hits"] = total
    density = np.zeros(n)
    np.divide(total * 100.0, words, out=density, where=words > 0)
    out["spam_keyword_density"] = density

    phones = _count(text, _PHONE_RE2)
    repeats = phones.copy()
    many = np.nonzero(phones >= 2)[0]
    if len(many):
        repeats[many] = max_phone_repeats(text.take(pa.array(many)).to_pylist())
    out["spam_phone_max_repeat"] = repeats

    lines = pc.split_pattern(text, "\n")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    flat, parent = lines.flatten(), pc.list_parent_indices(lines).to_numpy()
    lw = _count(flat, r"\S+")
    lh = sum((_count(flat, _pattern(p)) for p in lists.values()), np.zeros(len(flat)))
    stuffed = (lh >= 2) & (lh >= 0.3 * lw)
    nonempty = lw > 0
    n_lines = np.bincount(parent[nonempty], minlength=n).astype(np.float64)
    n_stuffed = np.bincount(parent[stuffed], minlength=n).astype(np.float64)
    frac = np.zeros(n)
    np.divide(n_stuffed, n_lines, out=frac, where=n_lines > 0)
    out["spam_stuffed_line_frac"] = frac
    return out
