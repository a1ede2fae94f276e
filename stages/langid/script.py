"""Script statistics for language identification, vectorised over a batch of texts.

Every code point is mapped to one script class through a lookup table covering all of Unicode;
per-document counts come from one ``np.bincount`` over the batch's concatenated UTF-32 text, so no
Python loop runs per character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HANGUL, HAN, KANA, LATIN, OTHER, NONLETTER = range(6)
N_CLASSES = 6
LETTER_CLASSES = (HANGUL, HAN, KANA, LATIN, OTHER)

# (first code point, class); each range runs until the next entry's first code point.
_RANGES: list[tuple[int, int]] = [
    (0x0000, NONLETTER), (0x0041, LATIN), (0x005B, NONLETTER), (0x0061, LATIN), (0x007B, NONLETTER),
    (0x00C0, LATIN), (0x02B0, NONLETTER), (0x0370, OTHER),
    (0x1100, HANGUL), (0x1200, OTHER), (0x1DC0, NONLETTER), (0x1E00, LATIN), (0x1F00, OTHER),
    (0x2000, NONLETTER), (0x2E80, HAN), (0x2FE0, NONLETTER), (0x3005, HAN), (0x3006, NONLETTER),
    (0x3040, KANA), (0x3100, OTHER), (0x3130, HANGUL), (0x3190, NONLETTER), (0x31A0, OTHER),
    (0x31C0, HAN), (0x31F0, KANA), (0x3200, NONLETTER), (0x3400, HAN), (0x4DC0, NONLETTER),
    (0x4E00, HAN), (0xA000, OTHER), (0xA960, HANGUL), (0xA980, OTHER), (0xAC00, HANGUL),
    (0xD7A4, NONLETTER), (0xD7B0, HANGUL), (0xD800, NONLETTER), (0xF900, HAN), (0xFB00, LATIN),
    (0xFB07, OTHER), (0xFE00, NONLETTER), (0xFE70, OTHER), (0xFF00, NONLETTER), (0xFF21, LATIN),
    (0xFF3B, NONLETTER), (0xFF41, LATIN), (0xFF5B, NONLETTER), (0xFF66, KANA), (0xFFA0, HANGUL),
    (0xFFDD, NONLETTER), (0x10000, OTHER), (0x1B000, KANA), (0x1B170, OTHER), (0x1F000, NONLETTER),
    (0x20000, HAN), (0x40000, NONLETTER),
]


def _build_table() -> np.ndarray:
    table = np.empty(0x110000, dtype=np.uint8)
    bounds = [start for start, _ in _RANGES] + [0x110000]
    for (start, cls), end in zip(_RANGES, bounds[1:]):
        table[start:end] = cls
    # A few non-letters inside letter ranges that are frequent in web text.
    table[[0x00D7, 0x00F7, 0x30FB, 0xFEFF]] = NONLETTER
    return table


_TABLE = _build_table()


@dataclass
class ScriptCounts:
    """Per-document code point counts by script class, shape ``(n_docs, N_CLASSES)``."""

    counts: np.ndarray

    @property
    def letters(self) -> np.ndarray:
        return self.counts[:, :NONLETTER].sum(axis=1)

    def share(self, cls: int) -> np.ndarray:
        """Share of ``cls`` among letters (0 where a document has no letters)."""
        letters = self.letters
        return np.divide(self.counts[:, cls], letters, out=np.zeros(len(letters), np.float64),
                         where=letters > 0)

    def take(self, index: np.ndarray) -> ScriptCounts:
        return ScriptCounts(self.counts[index])


def script_counts(texts: Sequence[str]) -> ScriptCounts:
    """Count code points per script class for every text (vectorised over the whole batch)."""
    n = len(texts)
    if n == 0:
        return ScriptCounts(np.zeros((0, N_CLASSES), dtype=np.int64))
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    joined = "".join(texts)
    # surrogatepass: a stray lone surrogate in a Python string is counted, not raised on.
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    classes = _TABLE[cps]
    doc = np.repeat(np.arange(n, dtype=np.int64), lengths)
    flat = np.bincount(doc * N_CLASSES + classes, minlength=n * N_CLASSES)
    return ScriptCounts(flat.reshape(n, N_CLASSES))
