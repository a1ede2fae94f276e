"""Korean toxicity signals from a lexicon: profanity, insults and group slurs, with obfuscations.

Every lexicon term becomes one regular expression that also matches the usual ways of hiding it:

* noise between syllables: digits, punctuation or symbols (``시1발``, ``씨-발``, ``씨.발``, ``씨**발``);
* syllables spaced out (``씨 발``), only where no Hangul touches the term on either side, so
  ``다시 발견`` or ``3시 발표`` never match (terms flagged ``nospace`` skip this form);
* any syllable replaced by its initial consonant (``ㅅㅂ``, ``ㅆ발``, ``ㄱㅅㄲ``), for terms of two or more
  syllables not flagged ``noinitials``;
* the term typed with the Korean keyboard layout left on Latin (``tlqkf`` for 시발), for terms of two
  or more syllables.

Benign words containing a term (``시발점``, ``병신년``, ``5개년``) are blanked out first
(``ko_allow.txt``), and so are short quoted spans (``'김치녀' 같은 혐오 표현``): reporting and research
mention slurs in quotes, abuse uses them bare. (Someone quoting to evade is not caught by the lexicon;
the classifier can be trained for that.) Matching is one RE2 pass per category over a batch (Arrow ``count_substring_regex``),
so the cost is a few regex passes, not a Python loop per word.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

RESOURCES = Path(__file__).resolve().parent / "resources" / "toxicity"
DEFAULT_LEXICON = RESOURCES / "ko_lexicon.txt"
DEFAULT_ALLOW = RESOURCES / "ko_allow.txt"
CATEGORIES = ("profanity", "insult", "hate")

_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
# Dubeolsik key of each initial, medial and final jamo (lower-cased: shifted keys read the same).
_KEY_L = "r r s e e f a q q t t d w w c z x v g".split()
_KEY_V = "k o i o j p u p h hk ho hl y n nj np nl b m ml l".split()
_KEY_T = [""] + "r r rt s sw sg e f fr fa fq ft fx fv fg a q qt t t d w c z x v g".split()
#: What may sit between two syllables of a hidden term without whitespace.
#: (ASCII punctuation and digits plus a few look-alikes: Unicode classes would make the pattern too
#: large for RE2.)
_NOISE = r"[0-9!-/:-@\[-`{-~·•°ㆍ…]{0,3}"
#: What may separate spaced-out syllables.
_SPACED = r"[\s0-9!-/:-@\[-`{-~·•°ㆍ…]{1,3}"
#: A quoted mention: up to 12 characters between quotation marks on one line.
_QUOTED = "[\"'‘’“”「」『』<>《》〈〉][^\"'‘’“”「」『』<>《》〈〉\n]{1,12}[\"'‘’“”「」『』<>《》〈〉]"


@dataclass(frozen=True)
class Term:
    text: str
    category: str
    spaced: bool = True
    initials: bool = True


def load_lexicon(path: str | Path = DEFAULT_LEXICON) -> list[Term]:
    """Entries ``TERM<TAB>CATEGORY[<TAB>FLAGS]``; ``#`` starts a comment line."""
    terms = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or parts[1] not in CATEGORIES:
            raise ValueError(f"{path}:{n}: expected TERM<TAB>{'|'.join(CATEGORIES)}[<TAB>flags], got {line!r}")
        flags = set(parts[2].split(",")) if len(parts) > 2 else set()
        unknown = flags - {"nospace", "noinitials", ""}
        if unknown:
            raise ValueError(f"{path}:{n}: unknown flags {sorted(unknown)}")
        terms.append(Term(parts[0].strip(), parts[1], "nospace" not in flags, "noinitials" not in flags))
    return terms


def load_allow(path: str | Path = DEFAULT_ALLOW) -> list[str]:
    return [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def _is_syllable(ch: str) -> bool:
    return 0xAC00 <= ord(ch) <= 0xD7A3


def keyboard_form(term: str) -> str | None:
    """The Latin keys typed for ``term`` on a Dubeolsik keyboard left in Latin mode (시발 -> tlqkf)."""
    out = []
    for ch in term:
        if not _is_syllable(ch):
            return None
        code = ord(ch) - 0xAC00
        out.append(_KEY_L[code // 588] + _KEY_V[(code % 588) // 28] + _KEY_T[code % 28])
    return "".join(out)


def _syllable(ch: str, initials: bool) -> str:
    if initials and _is_syllable(ch):
        return f"(?:{ch}|{_INITIALS[(ord(ch) - 0xAC00) // 588]})"
    return ch


def term_pattern(t: Term) -> str:
    """RE2 pattern matching ``t`` and its obfuscated forms (see the module docstring)."""
    chars = list(t.text)
    multi = len(chars) >= 2
    initials = t.initials and multi
    forms = [_NOISE.join(_syllable(c, initials) for c in chars)]
    if t.spaced and multi:
        forms.append(r"(?:^|[^\p{Hangul}])" + _SPACED.join(chars) + r"(?:$|[^\p{Hangul}])")
    key = keyboard_form(t.text) if multi else None
    if key and len(key) >= 4:
        forms.append(rf"\b{key}\b")
    return "|".join(forms)


@dataclass(frozen=True)
class Lexicon:
    """Compiled patterns: one for every term, one for the hate slurs, one for benign look-alikes."""

    all_terms: str
    hate: str
    allow: str | None
    size: int


@lru_cache(maxsize=8)
def compile_lexicon(lexicon_path: str = str(DEFAULT_LEXICON), allow_path: str = str(DEFAULT_ALLOW)) -> Lexicon:
    terms = load_lexicon(lexicon_path)
    # longest terms first: RE2 alternation is leftmost-first, so 개씨발 counts once, not as 씨발
    terms = sorted(terms, key=lambda t: -len(t.text))
    allow = load_allow(allow_path) if allow_path else []
    return Lexicon(all_terms="|".join(f"(?:{term_pattern(t)})" for t in terms),
                   hate="|".join(f"(?:{term_pattern(t)})" for t in terms if t.category == "hate"),
                   allow="|".join(f"(?:{a})" for a in allow) or None, size=len(terms))


def _count(text: pa.Array, pattern: str) -> np.ndarray:
    if not pattern:
        return np.zeros(len(text))
    return np.asarray(pc.count_substring_regex(text, pattern).to_numpy(zero_copy_only=False), np.float64)


def toxicity_signals(text: pa.Array, lexicon_path: str | None = None,
                     allow_path: str | None = None) -> dict[str, np.ndarray]:
    """Per document: lexicon hits (all categories), hate-slur hits, and hits per word.

    ``text`` should be NFC already (the quality stage normalises before any signal).
    """
    lex = compile_lexicon(lexicon_path or str(DEFAULT_LEXICON),
                          str(DEFAULT_ALLOW) if allow_path is None else allow_path)
    t = pc.utf8_lower(pc.fill_null(text, ""))
    if lex.allow:
        t = pc.replace_substring_regex(t, lex.allow, " ")
    t = pc.replace_substring_regex(t, _QUOTED, " ")
    hits = _count(t, lex.all_terms)
    hate = _count(t, lex.hate)
    words = _count(text, r"\S+")
    ratio = np.divide(hits, words, out=np.zeros(len(hits)), where=words > 0)
    return {"toxic_lexicon_hits": hits, "toxic_hate_hits": hate, "toxic_lexicon_ratio": ratio}
