"""Text normalisation for language identification, vectorised with Arrow compute (RE2).

Removes what carries no language signal and misleads a character n-gram model: URLs, e-mail
addresses, markup (tags, entities, wiki/markdown symbols), digits, and runs of repeated
punctuation. Newlines become spaces (fastText predicts one line at a time) and whitespace is
collapsed. Sentence punctuation, including CJK punctuation, is kept: it is a useful cue.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# Noise removed in one pass (alternatives tried left to right); each match becomes one space.
_NOISE_PARTS: tuple[str, ...] = (
    r"(?i:(?:https?|ftp)://\S+|\bwww\.\S+)",         # URLs
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",                  # e-mail addresses
    r"<!--[^>]{0,300}-->|</?[A-Za-z][A-Za-z0-9:_-]{0,30}(?:\s[^<>]{0,300})?/?>",  # HTML / XML tags
    r"&(?:#\d{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]{2,10});",  # character entities
    r"[\p{Nd}\p{No}]+",                               # digits (any script), superscripts, circled numbers
    r"[#*_=~|\\^`{}\[\]<>@$%+/\x{2500}-\x{25FF}\x{2600}-\x{27BF}\x{1F000}-\x{1FAFF}]+",  # markup, emoji
)
_NOISE = "|".join(f"(?:{p})" for p in _NOISE_PARTS)
_PUNCT_RUN = r"[\p{P}\p{S}]{2,}"                      # "!!!", "...", "---", "?!"
_WS = r"\s{2,}|[^\S ]"  # any whitespace run except a lone space (same result as \s+, fewer matches)


def normalize_array(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Normalise a string array for LID: one line per text, noise removed, whitespace collapsed."""
    out = pc.replace_substring_regex(texts, _NOISE, " ")
    out = pc.replace_substring_regex(out, _PUNCT_RUN, " ")
    out = pc.utf8_trim_whitespace(pc.replace_substring_regex(out, _WS, " "))
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    return out


def normalize(texts: list[str]) -> list[str]:
    """Convenience wrapper over :func:`normalize_array` for Python strings."""
    return normalize_array(pa.array(texts, pa.string())).to_pylist()
