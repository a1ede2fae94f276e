"""Korean personal names, found from context cues only.

A bare Hangul word is never called a name: most 2-4 syllable words that start with a surname
syllable are ordinary nouns. A name needs one of these cues (each can be switched off):

* ``label``: a form label before it (``성명:``, ``예금주 ``, ``수령인:`` ...). After ``label:`` any
  given-name syllables are accepted; after ``label `` (space only) they must be common name syllables.
  A label with a colon also takes a list (``참석자: 김민수, 이영희``).
* ``honorific``: ``님`` / ``씨`` / ``고객님`` / ``선생님`` ... right after the name (an age in brackets
  may sit between: ``김민수(35)씨``).
* ``rank``: company-internal titles after the name (``과장``, ``팀장``, ``대리`` ...).
* ``professional``: roles that also name public figures (``교수``, ``대표``, ``원장`` ...): cues only
  outside news-like documents, or when followed by ``님``.
* ``byline``: ``기자`` / ``특파원`` after a name. Off by default: a reporter's byline is a public,
  professional attribution, not private data.

The name is surname (top Korean surnames, incl. two-syllable ones) + 1-2 given-name syllables; a
particle after it (이/가/은/는/을/를/의/에게/께서 ...) stays outside the span. Public-office titles
(대통령, 의원, 장관, 장군, 선수 ...) are never cues, so public figures in news stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stages.pii.detectors import Span
from stages.pii.name_cues import (
    BYLINE,
    DEFAULT_NAME_CUES,
    GIVEN_SYLLABLES,
    HONORIFICS,
    LABELS,
    NAME_CUES,
    NOT_NAMES,
    PARTICLES,
    PROFESSIONAL,
    RANKS,
    SURNAMES_1,
    SURNAMES_2,
)

_PARTICLE_SET = frozenset(PARTICLES)

#: Cue words, scanned as two plain alternations (one with groups runs ~10x slower in ``re``):
#: labels are read with the word after them, the other cues with the word before them.
LABEL_WORDS = re.compile(LABELS)
AFTER_WORDS = re.compile(f"{HONORIFICS}|{RANKS}|{PROFESSIONAL}|{BYLINE}")
_AFTER_KIND = {**{w: "honorific" for w in HONORIFICS.split("|")}, **{w: "rank" for w in RANKS.split("|")},
               **{w: "professional" for w in PROFESSIONAL.split("|")}, **{w: "byline" for w in BYLINE.split("|")}}
#: What may follow ``씨`` for it to be the honorific (not 씨앗, 씨름, 씨족 ...).
_SSI_NEXT = re.compile(r"(?:[^가-힣]|$|[는가의를께도와랑한에이와요]|입니|였)")
#: What may follow a title for it to be one (a particle, 님, or the end of the word).
_TITLE_NEXT = re.compile(r"(?:[^가-힣]|$|님|[은는이가을를의께도와과랑만]|에게|으로|로서|한테)")
_LABEL_SEP = re.compile(r"\)?\s*[:：]\s*|\s{1,2}")
_LIST_SEP = re.compile(r"\s*[,，·/]\s*|\s*(?:및|와|과)\s+")
_AGE = re.compile(r"\s?\((?:[0-9]{1,3}|[0-9]{2}세|[남여]|[남여],\s?[0-9]{1,3})\)\s?$")
#: News-like documents: professional titles there are public roles, not cues.
NEWS_MARKERS = re.compile(r"기자|특파원|연합뉴스|뉴시스|뉴스1|일보|보도했다|밝혔다|전했다|\(서울="
                          r"|인물이다|정치인이다|출생|본관은")  # encyclopedia articles speak of public roles too

_HANGUL_LO, _HANGUL_HI = "\uac00", "\ud7a3"


def _hangul(c: str) -> bool:
    return _HANGUL_LO <= c <= _HANGUL_HI


def name_shape(word: str, strict: bool) -> bool:
    """``word`` is surname + 1-2 given syllables (2-syllable surname + 1-2), not a known noun."""
    if word in NOT_NAMES:
        return False
    if len(word) >= 3 and word[:2] in SURNAMES_2:
        given = word[2:]
    elif word[0] in SURNAMES_1:
        given = word[1:]
    else:
        return False
    if not 1 <= len(given) <= 2:
        return False
    return not strict or all(c in GIVEN_SYLLABLES for c in given)


def split_name(run: str, strict: bool) -> int:
    """Length of the name at the start of the Hangul word ``run`` (a particle may follow), or 0."""
    two = len(run) >= 3 and run[:2] in SURNAMES_2
    lengths = (4, 3) if two else (3, 2)  # three-syllable names are the common case
    for n in lengths:
        if n > len(run):
            continue
        rest = run[n:]
        if (not rest or rest in _PARTICLE_SET) and name_shape(run[:n], strict):
            return n
    return 0


class NameDetector:
    """Callable ``text -> list[Span]`` for the cues given (see module docstring)."""

    def __init__(self, cues: Iterable[str] = DEFAULT_NAME_CUES) -> None:
        self.cues = frozenset(cues)
        unknown = self.cues - set(NAME_CUES)
        if unknown:
            raise ValueError(f"unknown name cues {sorted(unknown)}; known: {list(NAME_CUES)}")

    def __call__(self, text: str) -> list[Span]:
        out: list[Span] = []
        news: bool | None = None
        if "label" in self.cues:
            for m in LABEL_WORDS.finditer(text):
                out.extend(self._after_label(text, m.end()))
        for m in AFTER_WORDS.finditer(text):
            word = m.group(0)
            kind = _AFTER_KIND[word]
            if kind not in self.cues:
                continue
            nxt = text[m.end():m.end() + 1]
            if word == "씨" and not _SSI_NEXT.match(text, m.end()):
                continue
            if kind != "honorific" and not _TITLE_NEXT.match(text, m.end()):
                continue  # 대표하고, 사장되다: the word goes on, it is not a title
            if kind == "professional" and nxt != "님":
                if news is None:
                    news = NEWS_MARKERS.search(text) is not None
                if news:
                    continue
            sp = self._before(text, m.start(), glued_ok=kind == "honorific")
            if sp is not None:
                out.append(sp)
        return _dedupe(out)

    @staticmethod
    def _before(text: str, cue: int, glued_ok: bool) -> Span | None:
        """The name that ends right before a cue starting at ``cue`` (one space or an age may sit between)."""
        end = cue
        age = _AGE.search(text, max(0, cue - 12), cue)
        if age:
            end = age.start()
        elif end and text[end - 1] == " ":
            end -= 1
        elif not glued_ok and (end - 3 < 0 or not _hangul(text[end - 1])):
            return None
        start = end
        while start > 0 and end - start < 5 and _hangul(text[start - 1]):
            start -= 1
        if start == end or (start > 0 and _hangul(text[start - 1])):
            return None
        word = text[start:end]
        short_glued = end == cue and len(word) < 3
        if not 2 <= len(word) <= 4 or short_glued or not name_shape(word, strict=True):
            return None  # glued 2-syllable words before a cue are mostly nouns (마음씨, 솜씨, 지연님, 용사님)
        return Span(start, end, "name", 0.8)

    @staticmethod
    def _after_label(text: str, pos: int) -> list[Span]:
        sep = _LABEL_SEP.match(text, pos)
        if sep is None:
            return []
        strong = ":" in sep.group(0) or "：" in sep.group(0)
        out = []
        pos = sep.end()
        for _ in range(12 if strong else 1):
            end = pos
            while end < len(text) and end - pos < 8 and _hangul(text[end]):
                end += 1
            if end == pos or (end < len(text) and _hangul(text[end])):
                break
            n = split_name(text[pos:end], strict=not strong or bool(out))  # list items: name syllables only
            if not n:
                break
            out.append(Span(pos, pos + n, "name", 0.9 if strong else 0.8))
            more = _LIST_SEP.match(text, end)
            if more is None:
                break
            pos = more.end()
        return out


def _dedupe(spans: list[Span]) -> list[Span]:
    seen: set[tuple[int, int]] = set()
    out = []
    for sp in sorted(spans, key=lambda s: (s.start, s.end)):
        if (sp.start, sp.end) not in seen:
            seen.add((sp.start, sp.end))
            out.append(sp)
    return out


#: The detector with the default cues.
detect_name = NameDetector()
