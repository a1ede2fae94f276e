"""A fast upper estimate of HTML element nesting depth, to keep pathological pages from the extractor.

Resiliparse's extractor takes time quadratic in nesting depth (10,000 nested ``<div>`` take ~7 s,
20,000 ~40 s, 100,000 more than 90 s), so pages nested deeper than a cap are rejected before extraction. The
estimate runs on the raw bytes with numpy: +1 for an opening tag, -1 for a closing tag, ignoring
void elements (``<br>``, ``<img>`` ...) and the elements an HTML parser closes implicitly
(``<p>``, ``<li>``, ``<td>`` ...), so sloppy real pages do not look deep. Pages with fewer opening
tags than the cap (almost all real ones) are never scanned.
"""

from __future__ import annotations

import numpy as np

_NAME_BYTES = 8
#: Elements that never nest (void) or that a parser closes when a sibling opens.
_NEUTRAL = (
    "area base br col embed hr img input link meta param source track wbr keygen "
    "p li dt dd tr td th option optgroup thead tbody tfoot colgroup rb rt rp caption"
).split()
_COLUMNS = np.arange(_NAME_BYTES)


def _key(name: str) -> int:
    raw = name.encode("ascii")[:_NAME_BYTES].ljust(_NAME_BYTES, b"\0")
    return int(np.frombuffer(raw, dtype="<u8")[0])


_NEUTRAL_KEYS = np.array(sorted(_key(n) for n in _NEUTRAL), dtype=np.uint64)


def depth_over(body: bytes, limit: int) -> bool:
    """Whether the estimated nesting depth of ``body`` exceeds ``limit``.

    Exact for well-formed markup of counted elements; it leaves out the implicitly closed ones
    (a table nests through ``tr``/``td`` uncounted) and over-counts formatting tags left open.
    """
    arr = np.frombuffer(body, dtype=np.uint8)
    is_lt = arr[: max(0, len(arr) - _NAME_BYTES - 1)] == 0x3C  # '<' (tags in the last bytes hardly matter)
    if np.count_nonzero(is_lt) <= limit:  # depth cannot exceed the number of tags ...
        return False
    lt = np.flatnonzero(is_lt)
    closing = arr[lt + 1] == 0x2F  # '/'
    if len(lt) - np.count_nonzero(closing) <= limit:  # ... nor the number of opening tags
        return False
    start = lt + 1 + closing
    first = arr[start] | 0x20
    tag = (first >= 0x61) & (first <= 0x7A)
    start, closing = start[tag], closing[tag]
    names = arr[start[:, None] + _COLUMNS] | 0x20  # lower case (digits are unaffected)
    alnum = ((names >= 0x61) & (names <= 0x7A)) | ((names >= 0x30) & (names <= 0x39))
    length = np.where(alnum.all(axis=1), _NAME_BYTES, alnum.argmin(axis=1))
    names[_COLUMNS >= length[:, None]] = 0
    keys = names.view("<u8").ravel()
    pos = np.minimum(np.searchsorted(_NEUTRAL_KEYS, keys), len(_NEUTRAL_KEYS) - 1)
    step = np.where(closing, -1, 1)
    step[_NEUTRAL_KEYS[pos] == keys] = 0
    level = np.cumsum(step)
    level -= np.minimum.accumulate(np.minimum(level, 0))  # stray end tags never go below the root
    return int(level.max()) > limit
