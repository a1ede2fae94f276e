"""Where Python's ``regex`` and HF ``tokenizers``' regex engine (Oniguruma) disagree on a split pattern.

The fast encoder splits text with the ``regex`` module, HF with Oniguruma. Their Unicode tables
differ (e.g. ``regex`` counts ~17,000 more code points as ``\\p{L}``: newer CJK extensions,
U+0558, U+0C5C ...), and case-insensitive groups fold a few non-ASCII letters (``ſ``, the Kelvin
sign) differently. For each class escape a pattern uses, both engines are asked which code points
it matches; documents containing any code point where they differ go to the real tokenizer.
Computing this takes a few seconds, so the result is cached per pattern and library versions.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from typing import Any

from tokenizer.bpe_kernel import cache_dir

log = logging.getLogger(__name__)

#: Class escapes whose membership is engine-dependent: Unicode properties and shorthand classes.
_CLASS_ATOM = re.compile(r"\\[pP]\{[^}]*\}|\\[pP][A-Za-z]|\\[sSdDwWhHvV]")


def _all_code_points() -> str:
    return "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)


def _members_hf(atom: str, text: str) -> set[str]:
    from tokenizers import Regex, pre_tokenizers

    split = pre_tokenizers.Split(Regex(atom), behavior="removed")
    rest = "".join(piece for piece, _ in split.pre_tokenize_str(text))
    return set(text) - set(rest)


def _ranges(code_points: list[int]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for c in sorted(code_points):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return [(a, b) for a, b in out]


def split_gaps(patterns: list[str]) -> list[tuple[int, int]]:
    """Code-point ranges on which the two engines may split ``patterns`` differently (cached)."""
    return list(_split_gaps(tuple(patterns)))


@functools.lru_cache(maxsize=16)
def _split_gaps(patterns: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    import regex
    import tokenizers

    atoms = sorted({a for p in patterns for a in _CLASS_ATOM.findall(p)})
    folding = any("(?i" in p for p in patterns)
    if not atoms and not folding:
        return ()
    key = hashlib.sha256(json.dumps([atoms, folding, tokenizers.__version__, regex.__version__]).encode())
    path = cache_dir().parent / "split_gaps" / f"{key.hexdigest()[:32]}.json"
    try:
        return tuple((int(a), int(b)) for a, b in json.loads(path.read_text()))
    except (OSError, ValueError):
        pass
    text = _all_code_points()
    gaps: set[str] = set()
    for atom in atoms:
        gaps |= _members_hf(atom, text) ^ set(regex.findall(atom, text))
    if folding:  # non-ASCII letters that fold to or from ASCII letters: engines differ on these
        gaps |= {c for c in text if not c.isascii()
                 and any(x.isascii() and x.isalpha() for x in c.casefold() + c.lower() + c.upper())}
    ranges = _ranges([ord(c) for c in gaps])
    try:
        from core.io import write_json_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(ranges, path)
    except OSError as exc:
        log.warning("cannot cache split-pattern gaps at %s: %s", path, exc)
    return tuple(ranges)


def re2_class(ranges: list[tuple[int, int]]) -> str:
    """An RE2 character class matching the ranges (for ``pyarrow.compute.match_substring_regex``)."""
    return "[" + "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]"


def contains_any(texts: list[str], ranges: list[tuple[int, int]], re2: str) -> list[bool]:
    """Whether each text contains a code point of ``ranges`` (RE2 over Arrow; Python for odd strings)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr: Any = pa.array(texts, pa.large_string())
    except (UnicodeEncodeError, pa.ArrowException):  # lone surrogates cannot become Arrow strings
        py = re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]")
        return [py.search(t) is not None for t in texts]
    return pc.match_substring_regex(arr, re2).to_pylist()
