"""Bytes to text for web pages: HTTP charset, then <meta>, then detection; legacy Korean as cp949."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Labels whose real-world content is a superset encoding: decoding with the superset recovers
# characters the strict codec rejects (EUC-KR pages routinely contain cp949-only syllables such as
# 똠 and 뷁; GB2312 pages contain GBK/GB18030 characters; Shift_JIS pages use cp932 vendor codes).
_SUPERSETS: dict[str, str] = {
    "euc-kr": "cp949", "euckr": "cp949", "euc_kr": "cp949", "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949", "ks_c_5601": "cp949", "ksc5601": "cp949", "ksc_5601": "cp949",
    "korean": "cp949", "csksc56011987": "cp949", "iso-ir-149": "cp949", "windows-949": "cp949",
    "x-windows-949": "cp949", "uhc": "cp949", "cp949": "cp949", "ms949": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "gb_2312-80": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "windows-31j": "cp932", "big5": "big5hkscs", "iso-8859-1": "cp1252", "latin1": "cp1252",
    "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252", "iso-8859-9": "cp1254",
    "x-user-defined": "cp1252", "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
}
_SINGLE_BYTE = {"cp1252", "cp1254", "iso8859-15", "cp1251", "koi8-r", "iso8859-2", "cp1250"}
_META_RE = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]{1,40})""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def normalize_charset(label: str | None) -> str | None:
    """Map a declared charset label to the Python codec we decode with (None if unknown)."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    if key in _SUPERSETS:
        return _SUPERSETS[key]
    try:
        name = codecs.lookup(key).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def meta_charset(body: bytes, scan_bytes: int = 4096) -> str | None:
    """The charset declared by a <meta> tag or an XML declaration in the first ``scan_bytes`` bytes."""
    m = _META_RE.search(body, 0, scan_bytes) or _XML_DECL_RE.search(body, 0, 256)
    return m.group(1).decode("ascii", "ignore") if m else None


_XML_DECL_RE = re.compile(rb"""<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_:.\-]{1,40})""", re.IGNORECASE)
_ESCAPES = ((b"\x1b$)C", "iso2022_kr"), (b"\x1b$B", "iso2022_jp"), (b"\x1b$@", "iso2022_jp"))


def detect_charset(body: bytes, sample_bytes: int = 32768) -> str | None:
    """Detect the charset of undeclared bytes: ISO-2022 escapes, then charset_normalizer.

    charset_normalizer is used rather than resiliparse's detector, which answered utf-8 for every
    EUC-KR, Johab and ISO-2022-KR file of the chardet test corpus. It runs only on pages that
    declare nothing usable and are not valid UTF-8, on a bounded prefix.
    """
    for marker, enc in _ESCAPES:
        if marker in body[:sample_bytes]:
            return enc
    import charset_normalizer

    best = charset_normalizer.from_bytes(body[:sample_bytes]).best()
    return normalize_charset(best.encoding) if best is not None else None


@dataclass(frozen=True)
class Decoded:
    text: str | None
    charset: str | None
    #: "header", "meta", "bom", "detected", "fallback" or "failed".
    origin: str
    replacement_ratio: float = 0.0


def _has_non_ascii(body: bytes) -> bool:
    return not body.isascii()


def decode_html(body: bytes, http_charset: str | None, max_replacement_ratio: float = 0.005) -> Decoded:
    """Decode a page's bytes, trying BOM, HTTP charset, <meta>, detection, then UTF-8, strictly."""
    candidates: list[tuple[str, str]] = []
    for bom, enc in _BOMS:
        if body.startswith(bom):
            candidates.append((enc, "bom"))
            break
    for label, origin in ((http_charset, "header"), (meta_charset(body), "meta")):
        enc = normalize_charset(label)
        if enc and enc.startswith(("utf-16", "utf-32")) and origin == "meta":
            enc = "utf-8"  # a <meta> readable as ASCII cannot be UTF-16/32 (the HTML spec maps it to UTF-8)
        if enc:
            candidates.append((enc, origin))
    detected_added = False
    seen: set[str] = set()
    tried: list[tuple[str, str]] = []
    i = 0
    while True:
        if i == len(candidates):
            if not detected_added:
                detected_added = True
                if b"\x1b" in body[:32768] or not _has_non_ascii(body):
                    det = detect_charset(body) or "utf-8"
                    candidates.append((det, "detected"))
                else:
                    # Valid UTF-8 first (cheap and by far the most common), then detection.
                    candidates.append(("utf-8", "detected"))
                    det = None
                    try:
                        body.decode("utf-8")
                    except UnicodeDecodeError:
                        det = detect_charset(body)
                    if det:
                        candidates.append((det, "detected"))
                candidates.append(("cp949", "fallback"))
                continue
            break
        enc, origin = candidates[i]
        i += 1
        if enc in seen:
            continue
        seen.add(enc)
        tried.append((enc, origin))
        # A single-byte label never fails to decode; a page that is valid UTF-8 with non-ASCII
        # bytes is far more likely mislabelled than genuinely Latin-1.
        if enc in _SINGLE_BYTE and _has_non_ascii(body):
            try:
                return Decoded(body.decode("utf-8"), "utf-8", "detected")
            except UnicodeDecodeError:
                pass
        try:
            return Decoded(body.decode(enc), enc, origin)
        except (UnicodeDecodeError, LookupError):
            continue
    # Nothing decodes strictly: accept the best candidate if the damage is tiny.
    best: Decoded | None = None
    for enc, _origin in tried:
        try:
            text = body.decode(enc, errors="replace")
        except LookupError:
            continue
        ratio = text.count("\ufffd") / max(1, len(text))
        if best is None or ratio < best.replacement_ratio:
            best = Decoded(text, enc, "fallback", ratio)
    if best is not None and best.replacement_ratio <= max_replacement_ratio:
        return best
    return Decoded(None, None, "failed", best.replacement_ratio if best else 1.0)
