"""Rewrite text around detected spans: typed placeholder, format-keeping mask, or leave as is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from stages.pii.detectors import Span
from stages.pii.patterns import placeholder

#: replace: typed placeholder; mask: every letter/digit becomes ``*``, separators stay;
#: drop: reject the document (its text is still scrubbed with placeholders for the reject sink);
#: count: detect and count only; off: do not detect.
Action = Literal["replace", "mask", "drop", "count", "off"]

MASK_CHAR = "*"


def mask(s: str) -> str:
    """``010-1234-5678`` -> ``***-****-****``: same length and separators, no letters or digits."""
    return "".join(MASK_CHAR if c.isalnum() else c for c in s)


def apply_spans(text: str, spans: list[Span], actions: Mapping[str, Action]) -> str:
    """Return ``text`` with each span rewritten per its type's action (spans sorted, disjoint)."""
    pieces: list[str] = []
    pos = 0
    for sp in spans:
        action = actions.get(sp.type, "replace")
        if action in ("replace", "drop"):
            rep = placeholder(sp.type)
        elif action == "mask":
            rep = mask(text[sp.start:sp.end])
        else:
            continue
        pieces.append(text[pos:sp.start])
        pieces.append(rep)
        pos = sp.end
    if not pieces:
        return text
    pieces.append(text[pos:])
    return "".join(pieces)
