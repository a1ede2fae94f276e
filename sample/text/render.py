"""Template filling with Korean particle (josa) agreement.

A template slot is ``{name}`` or ``{name:josa}``: ``{food:을}`` renders ``김치찌개를`` or ``비빔밥을``
depending on whether the filler ends in a final consonant (batchim). Slot names ending in a digit
(``place2``) draw a second, different value from the same list. Numeric slots come from generator
functions and are drawn afresh at every use.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence

SLOT = re.compile(r"\{([a-z_]+?)(\d?)(?::([가-힣]+))?\}")
_PAREN_TAIL = re.compile(r"\s*\([^()]*\)$")

#: Particle pairs: (after a final consonant, after a vowel).
_JOSA: dict[str, tuple[str, str]] = {}
for _a, _b in (("은", "는"), ("이", "가"), ("을", "를"), ("과", "와"), ("으로", "로"), ("이나", "나"),
               ("이라는", "라는"), ("이에요", "예요"), ("아", "야"), ("이랑", "랑")):
    _JOSA[_a] = _JOSA[_b] = (_a, _b)

# How a trailing digit or Latin letter is read aloud: (has final consonant, final is ㄹ).
_DIGIT_FINAL = {"0": (True, False), "1": (True, True), "2": (False, False), "3": (True, False),
                "4": (False, False), "5": (False, False), "6": (True, False), "7": (True, True),
                "8": (True, True), "9": (False, False)}
_LATIN_FINAL = {"L": (True, True), "R": (True, True), "M": (True, False), "N": (True, False)}


def final_consonant(word: str) -> tuple[bool, bool]:
    """(ends in a final consonant, that consonant is ㄹ) for the way ``word`` is read aloud."""
    word = _PAREN_TAIL.sub("", word.strip()) or word
    ch = word[-1]
    if "가" <= ch <= "힣":
        jong = (ord(ch) - 0xAC00) % 28
        return jong != 0, jong == 8
    if ch in _DIGIT_FINAL:
        return _DIGIT_FINAL[ch]
    return _LATIN_FINAL.get(ch.upper(), (False, False))


def attach(word: str, josa: str) -> str:
    """``word`` followed by the form of ``josa`` that agrees with its last sound."""
    pair = _JOSA.get(josa)
    if pair is None:
        return word + josa
    has_final, rieul = final_consonant(word)
    if pair[0] == "으로":
        return word + ("로" if (not has_final or rieul) else "으로")
    return word + (pair[0] if has_final else pair[1])


class Filler:
    """Fills templates for one document: word slots keep one value per document, numbers vary."""

    def __init__(self, rng: random.Random, vocab: Mapping[str, Sequence[str]],
                 numbers: Mapping[str, Callable[[random.Random], str]]) -> None:
        self.rng = rng
        self.vocab = vocab
        self.numbers = numbers
        self.chosen: dict[str, str] = {}

    def value(self, base: str, index: str = "") -> str:
        if base in self.numbers:
            return self.numbers[base](self.rng)
        key = base + index
        if key not in self.chosen:
            words = self.vocab[base]
            taken = {v for k, v in self.chosen.items() if k.rstrip("0123456789") == base}
            free = [w for w in words if w not in taken] or list(words)
            self.chosen[key] = self.rng.choice(free)
        return self.chosen[key]

    def fill(self, template: str) -> str:
        def sub(m: re.Match[str]) -> str:
            word = self.value(m.group(1), m.group(2))
            return attach(word, m.group(3)) if m.group(3) else word

        return SLOT.sub(sub, template)

    def reroll(self, keep: float = 0.0) -> None:
        """Forget chosen words (each kept with probability ``keep``) so later text varies."""
        self.chosen = {k: v for k, v in self.chosen.items() if self.rng.random() < keep}
