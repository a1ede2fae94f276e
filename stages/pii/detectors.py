"""Detectors: find candidate spans with compiled patterns, keep those that validate.

Each detector is a function ``text -> list[Span]`` over text already folded by ``FOLD_TABLE``.
``detect`` runs a chosen set and resolves overlaps by detector priority (the more specific
detector wins: a private key block beats the e-mail inside it, an RRN beats a card-like run).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from stages.pii import patterns as P
from stages.pii import validators as V

#: How far before a bare number to look for a context word (characters).
CONTEXT_BEFORE = 30
#: How far before / after an account number to look for a bank name or account word (characters).
ACCOUNT_BEFORE, ACCOUNT_AFTER = 45, 25


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    type: str
    #: 1.0 when a checksum or an unambiguous format confirms it, lower for pattern-only matches.
    confidence: float = 1.0


def _has_context(text: str, start: int, pattern) -> bool:
    return pattern.search(text, max(0, start - CONTEXT_BEFORE), start) is not None


def _glued(text: str, start: int, end: int) -> bool:
    """A bare digit run stuck to an ASCII word, path or file name (``ap-0111..jpg``, hashes, ids)."""
    if start and (text[start - 1] in _GLUE_BEFORE):
        return True
    if end < len(text):
        nxt = text[end]
        if nxt in _GLUE_AFTER or (nxt == "." and end + 1 < len(text) and text[end + 1].isascii()
                                   and text[end + 1].isalpha()):
            return True
    return False


_ASCII_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_GLUE_BEFORE = frozenset(_ASCII_LETTERS + "_-/\\=#&")
_GLUE_AFTER = frozenset(_ASCII_LETTERS + "_")
_DIGIT_OR_DOT = frozenset("0123456789.")


def _other_label_nearer(text: str, start: int) -> bool:
    """An order / waybill / invoice label sits closer before ``start`` than any registration word."""
    lo = max(0, start - CONTEXT_BEFORE)
    other = max((m.end() for m in P.NOT_REG_LABEL.finditer(text, lo, start)), default=-1)
    if other < 0:
        return False
    reg = max((m.end() for m in P.REG_CONTEXT.finditer(text, lo, start)), default=-1)
    return other > reg


def detect_registration(text: str) -> list[Span]:
    """Resident (G 1-4) and foreigner (G 5-8) registration numbers: valid birth date required."""
    out = []
    for m in P.REG_NUMBER.finditer(text):
        tail = m.group(3)
        masked = not tail.isdigit()
        if masked and not tail[0].isdigit():  # whole back part masked: the gender digit is unknown
            digits = m.group(1) + ("1000000" if int(m.group(1)[:2]) > V.MAX_2000S_BIRTH_YY else "3000000")
        else:
            digits = m.group(1) + (tail[0] + "000000" if masked else tail)
        if not V.registration_birth_ok(digits) or _other_label_nearer(text, m.start()):
            continue
        is_rrn = digits[6] in "1234"
        if masked:  # birth date and gender still identify; no checksum to check
            out.append(Span(m.start(), m.end(), "rrn" if is_rrn else "frn", 0.5))
            continue
        ok = V.rrn_checksum_ok(digits) if is_rrn else V.frn_checksum_ok(digits)
        if not m.group(2):  # bare 13 digits: ids, millisecond timestamps and barcodes look the same
            if _glued(text, m.start(), m.end()):
                continue
            weak = not ok or (digits.startswith("880") and V.ean13_ok(digits))  # GS1 Korea barcode
            if weak and not _has_context(text, m.start(), P.REG_CONTEXT):
                continue
        out.append(Span(m.start(), m.end(), "rrn" if is_rrn else "frn", 1.0 if ok else 0.5))
    out.extend(_loose_registration(text, out))
    return out


def _loose_registration(text: str, strict: list[Span]) -> list[Span]:
    """Spaced-out or OCR-read registration numbers, only right after a registration context word."""
    out = []
    taken = {(sp.start, sp.end) for sp in strict}
    seen = -1
    for ctx in P.REG_WORDS_KO.finditer(text):
        # look only just after each context word: the loose pattern is too broad for a full scan
        m = P.REG_LOOSE.search(text, max(ctx.end(), seen), min(len(text), ctx.end() + CONTEXT_BEFORE + 30))
        if m is None or m.start() - ctx.end() > CONTEXT_BEFORE:
            continue
        seen = m.end()
        raw = m.group(0)
        if (m.start(), m.end()) in taken:
            continue
        digits = V.only_digits(raw.translate(P.OCR_DIGITS))
        if len(digits) != 13 or not V.registration_birth_ok(digits) or V.only_digits(raw) == raw.replace("-", ""):
            continue  # the plain form is the strict pattern's job
        is_rrn = digits[6] in "1234"
        ok = V.rrn_checksum_ok(digits) if is_rrn else V.frn_checksum_ok(digits)
        out.append(Span(m.start(), m.end(), "rrn" if is_rrn else "frn", 1.0 if ok else 0.5))
    return out


def detect_phone_kr(text: str) -> list[Span]:
    """Korean mobile/landline numbers: hyphen, dot, space, brackets, +82/0082, or bare mobile."""
    out = []
    for m in P.PHONE_KR.finditer(text):
        intl = m.group("intl") or ""
        core = m.group(0)[len(intl):].lstrip("(")
        mobile = core[0] == "1" if intl else core[1] == "1"
        separated = bool(m.group("s1") or m.group("s2") or intl or m.group(0).startswith("("))
        if not separated and (not mobile or len(m.group("mid")) == 3 or _glued(text, m.start(), m.end())):
            continue  # bare landline or 10-digit runs are too often order numbers
        if m.group(0).endswith("0000") and not m.group("mid").strip("0"):
            continue  # 02-0000-0000: a form placeholder
        shown = sum(c.isdigit() for c in m.group("mid") + m.group("last"))
        masked = shown < len(m.group("mid")) + 4
        if masked and shown < 2:
            continue  # 010-****-****: nothing left to identify anyone
        out.append(Span(m.start(), m.end(), "phone", 0.5 if masked else 1.0))
    return out


def detect_phone_intl(text: str) -> list[Span]:
    """+CC international numbers (9-15 digits, last group of 2+ digits)."""
    out = []
    for m in P.PHONE_INTL.finditer(text):
        body, end = m.group(0), m.end()
        if body.endswith(")") and body.count(")") > body.count("("):
            body, end = body[:-1], end - 1  # "(call +44 20 7123 4567)": the bracket is not ours
        digits = V.only_digits(body)
        if not 9 <= len(digits) <= 15 or body[1:].isdigit():
            continue  # +CC numbers are written with a separator; "+1518500249" is arithmetic
        last = len(body) - len(body.rstrip("0123456789"))
        if last < 2:
            continue
        out.append(Span(m.start(), end, "phone", 0.8))
    return out


def detect_phone_nanp(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "phone", 0.8) for m in P.PHONE_NANP.finditer(text)]


def detect_brn(text: str) -> list[Span]:
    """Business registration numbers: checksum always; the bare 10-digit form also needs a context word."""
    out = []
    for m in P.BRN.finditer(text):
        digits = V.only_digits(m.group(0))
        if not V.brn_checksum_ok(digits):
            continue
        if "-" not in m.group(0) and (_glued(text, m.start(), m.end())
                                      or not _has_context(text, m.start(), P.BRN_CONTEXT)):
            continue
        out.append(Span(m.start(), m.end(), "brn", 1.0))
    return out


def detect_driver(text: str) -> list[Span]:
    """Driver licence RR-YY-NNNNNN-CC (region 11-26, 28); the bare 12-digit form needs a context word."""
    out = []
    for m in P.DRIVER.finditer(text):
        if _glued(text, m.start(), m.end()):
            continue  # serial and model codes: SN11-22-123456-12, A11-22-123456-12B
        if not m.group(1) and not _has_context(text, m.start(), P.DRIVER_CONTEXT):
            continue
        out.append(Span(m.start(), m.end(), "driver_license", 1.0 if m.group(1) else 0.8))
    return out


def detect_passport(text: str) -> list[Span]:
    """Passports: current M123A4567 form; the old letter+8-digit form needs a context word."""
    out = []
    for m in P.PASSPORT.finditer(text):
        old = m.group(0)[1:].isdigit()
        if old and not _has_context(text, m.start(), P.PASSPORT_CONTEXT):
            continue
        out.append(Span(m.start(), m.end(), "passport", 0.5 if old else 0.8))
    return out


def detect_card(text: str) -> list[Span]:
    out = []
    for m in P.CARD.finditer(text):
        digits = V.only_digits(m.group(0))
        if len(digits) == len(m.group(0)) and _glued(text, m.start(), m.end()):
            continue
        if 13 <= len(digits) <= 19 and V.card_prefix_ok(digits) and V.luhn_ok(digits):
            out.append(Span(m.start(), m.end(), "credit_card", 1.0))
    return out


def detect_iban(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "iban", 1.0) for m in P.IBAN.finditer(text) if V.iban_ok(m.group(0))]


def detect_bank_account(text: str) -> list[Span]:
    """10-16 digit account numbers with a bank name or an account word just before or after."""
    out: list[Span] = []
    n = len(text)
    for m in P.ACCOUNT_NUMBER.finditer(text):
        body = m.group(0)
        if not 10 <= sum(c.isdigit() for c in body) <= 16:
            continue
        if V.date_prefix(body) or text.startswith(":", m.end()) or text[max(0, m.start() - 1):m.start()] == ":":
            continue  # 2024-03-15 14:22:33 near a bank or messenger name is a timestamp
        words = P.ACCOUNT_WORDS
        if body.isdigit():  # a bare run needs an account word, not just a bank name, and no glue
            if _glued(text, m.start(), m.end()):
                continue
            words = P.ACCOUNT_STRONG
        if words.search(text, max(0, m.start() - ACCOUNT_BEFORE), min(n, m.end() + ACCOUNT_AFTER)):
            out.append(Span(m.start(), m.end(), "bank_account", 0.8))
    return out


def detect_ipv4(text: str) -> list[Span]:
    """Dotted quads that are not versions; a port right after belongs to the span."""
    out = []
    for m in P.IPV4.finditer(text):
        s, e = m.start(), m.end()
        if s and (text[s - 1].isalpha() or text[s - 1] == "_"):
            continue
        port = P.PORT_AFTER.match(text, e)
        ip_word = P.IP_WORDS.search(text, max(0, s - IP_WORD_BEFORE), s)
        short = all(len(p) == 1 for p in m.group(0).split("."))
        if not V.ipv4_ok(m.group(0), single_digits=bool(ip_word or port) or not short):
            continue
        if port is None and _version_like(text, s, e, ip_word):
            continue
        if _in_number_data(text, s, e):
            continue
        out.append(Span(s, port.end() if port else e, "ip", 1.0))
    return out


#: How far before a dotted quad to look for a network or version word (characters).
IP_WORD_BEFORE = 25


def _version_like(text: str, start: int, end: int, ip_word) -> bool:
    """A product or version word before it, or a version word after it (``Java 1.8.0.292``)."""
    if P.VERSION_CONTEXT.search(text, max(0, start - 12), start) or P.VERSION_AFTER.match(text, end):
        return True
    ver = max(P.VERSION_WORDS.finditer(text, max(0, start - IP_WORD_BEFORE), start), key=lambda m: m.start(),
              default=None)
    if ver is not None and (ip_word is None or ip_word.start() < ver.start()):
        return True
    prod = P.PRODUCT_BEFORE.search(text, max(0, start - 32), start)
    return prod is not None and not P.IP_WORDS.fullmatch(prod.group(1))


def _in_number_data(text: str, start: int, end: int) -> bool:
    """A dotted quad between numbers (``1.08 1.23.82.72 1.21``): SVG paths and tables, not addresses."""
    if start and text[start - 1] == "-":
        return True  # "-1.2.3.4": a signed number
    if text[end:end + 1] == "-" and text[end + 1:end + 2] in _DIGIT_OR_DOT:
        return True
    b = P.NUM_BEFORE.search(text[max(0, start - 24):start])
    if b is None:
        return False
    a = P.NUM_AFTER.match(text, end, min(len(text), end + 24))
    if a is None:
        return False
    return any(t.count(".") <= 1 for t in (b.group(1), a.group(1)))


def detect_ipv6(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "ip", 1.0) for m in P.IPV6.finditer(text) if V.ipv6_ok(m.group(0))]


def detect_email(text: str) -> list[Span]:
    """E-mail addresses, found from each '@' outwards (no scan of every word character)."""
    out = []
    at = text.find("@")
    while at != -1:
        nxt = at + 1
        m = P.EMAIL_DOMAIN.match(text, at)
        if m:
            lo = max(0, at - 64)
            lm = P.EMAIL_LOCAL_REV.match(text[lo:at][::-1])
            if lm:
                local = lm.group(0)[::-1].lstrip(".")
                start = at - len(local)
                domain = m.group(1)
                ok = (local and not local.endswith(".") and ".." not in local
                      and not (start > 0 and P.EMAIL_LOCAL_REV.match(text, start - 1, start))
                      and _tld_ok(domain.rsplit(".", 1)[-1].lower())
                      and not any(lbl.endswith("-") for lbl in domain.split(".")))
                if ok:
                    out.append(Span(start, m.end(), "email", 1.0))
                    nxt = m.end()
        at = text.find("@", nxt)
    return out


def _tld_ok(tld: str) -> bool:
    if len(tld) == 2:
        return tld not in P.FILE_EXTENSIONS_2
    return tld.startswith("xn--") or tld in P.EMAIL_GTLDS


def detect_url_credentials(text: str) -> list[Span]:
    return [Span(m.start(1), m.end(1), "url_credentials", 1.0) for m in P.URL_CREDENTIALS.finditer(text)]


def detect_secret_fixed(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "secret", 1.0) for m in P.SECRET_FIXED.finditer(text)
            if not (m.start() and text[m.start() - 1].isascii() and text[m.start() - 1].isalnum())]


def detect_private_key(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "secret", 1.0) for m in P.PRIVATE_KEY.finditer(text)]


def detect_secret_assign(text: str) -> list[Span]:
    """High-entropy tokens assigned to a key-like word (api_key=..., token: ..., Bearer ..., 비밀번호 ...)."""
    out = []
    for m in P.SECRET_OPERATOR.finditer(text):
        if V.secret_token_ok(m.group(1)) and P.SECRET_KEY_BEFORE.search(text, max(0, m.start() - 40), m.start()):
            out.append(Span(m.start(1), m.end(1), "secret", 0.8))
    for m in P.SECRET_WORD_VALUE.finditer(text):
        if V.secret_token_ok(m.group(1)):
            out.append(Span(m.start(1), m.end(1), "secret", 0.8))
    out.sort(key=lambda sp: sp.start)
    return out


def detect_address(text: str) -> list[Span]:
    """Korean road-name or lot addresses with a district before them and a building number.

    Only the part after the district (road/lot, number, building, unit) is reported: city and
    district alone do not identify anyone and keep the text readable.
    """
    out = []
    covered = -1
    n = len(text)
    districts = [m.end() for m in P.ADDRESS_DISTRICT.finditer(text)]
    if not districts:
        return out
    for a in P.ADDRESS_ANCHOR.finditer(text):
        if a.start() < covered:
            continue
        k = bisect.bisect_right(districts, a.start())
        if not k or districts[k - 1] < a.start() - 40:
            continue  # no district just before: not an address we can confirm
        lo, hi = max(0, a.start() - 60), min(n, a.end() + 60)
        for m in P.ADDRESS.finditer(text, lo, hi):
            cs, ce = m.span("core")
            if not cs <= a.start() < ce:
                continue
            if (ce < n and text[ce].isdigit()) or P.ADDRESS_BAD_FOLLOW.match(text, ce):
                break
            out.append(Span(cs, ce, "address", 0.8))
            covered = ce
            break
    return out


def detect_name(text: str) -> list[Span]:
    """Korean personal names from context cues, default cues (``stages.pii.names``)."""
    return _names.detect_name(text)


@dataclass(frozen=True)
class Detector:
    name: str
    types: tuple[str, ...]
    fn: Callable[[str], list[Span]]


#: All detectors, highest priority first; ``name`` keys ``patterns.PREFILTERS``.
DETECTORS: tuple[Detector, ...] = (
    Detector("private_key", ("secret",), detect_private_key),
    Detector("secret_fixed", ("secret",), detect_secret_fixed),
    Detector("url_credentials", ("url_credentials",), detect_url_credentials),
    Detector("secret_assign", ("secret",), detect_secret_assign),
    Detector("email", ("email",), detect_email),
    Detector("reg_number", ("rrn", "frn"), detect_registration),
    Detector("iban", ("iban",), detect_iban),
    Detector("card", ("credit_card",), detect_card),
    Detector("brn", ("brn",), detect_brn),
    Detector("driver", ("driver_license",), detect_driver),
    Detector("phone_kr", ("phone",), detect_phone_kr),
    Detector("bank_account", ("bank_account",), detect_bank_account),
    Detector("passport", ("passport",), detect_passport),
    Detector("phone_intl", ("phone",), detect_phone_intl),
    Detector("phone_nanp", ("phone",), detect_phone_nanp),
    Detector("ipv6", ("ip",), detect_ipv6),
    Detector("ipv4", ("ip",), detect_ipv4),
    Detector("address", ("address",), detect_address),
    Detector("name", ("name",), detect_name),
)
_PRIORITY = {d.name: i for i, d in enumerate(DETECTORS)}


from stages.pii import names as _names  # noqa: E402  (names.py builds on ``Span`` above)


def detectors_for(types: Iterable[str]) -> list[Detector]:
    """The detectors needed to find ``types`` (priority order)."""
    wanted = set(types)
    return [d for d in DETECTORS if wanted.intersection(d.types)]


def fold(text: str) -> str:
    """Fold full-width forms, Unicode dashes and odd spaces to ASCII, one code point for one."""
    return P.FOLD_CHARS.sub(_fold_run, text)


def _fold_run(m) -> str:
    return m.group(0).translate(P.FOLD_TABLE)


def resolve(found: list[list[Span]], types: set[str] | None = None) -> list[Span]:
    """Merge detector outputs (given in priority order): earlier detectors win overlaps."""
    starts: list[int] = []
    ends: list[int] = []
    kept: list[Span] = []
    for spans in found:
        for sp in spans:
            if types is not None and sp.type not in types:
                continue
            i = bisect.bisect_right(starts, sp.start)
            if i and ends[i - 1] > sp.start:
                continue
            if i < len(starts) and starts[i] < sp.end:
                continue
            starts.insert(i, sp.start)
            ends.insert(i, sp.end)
            kept.insert(i, sp)
    return kept


def detect(text: str, types: Iterable[str] | None = None, detectors: Iterable[Detector] | None = None,
           folded: bool = False) -> list[Span]:
    """All non-overlapping PII spans in ``text`` (sorted by start), restricted to ``types``."""
    wanted = set(types) if types is not None else set(P.PII_TYPES)
    dets = list(detectors) if detectors is not None else detectors_for(wanted)
    t = text if folded else fold(text)
    return resolve([d.fn(t) for d in dets], wanted)
