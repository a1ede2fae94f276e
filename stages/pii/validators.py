"""Checksums and plausibility checks that turn regex candidates into confident detections.

Every function takes the digits or the raw candidate string and returns a bool (or a small
number); none of them raises on malformed input.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter

#: Latest two-digit birth year accepted for 2000s-born registration numbers (gender digit 3/4/7/8).
MAX_2000S_BIRTH_YY = 30

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def only_digits(s: str) -> str:
    return "".join(c for c in s if "0" <= c <= "9")


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def registration_birth_ok(digits: str) -> bool:
    """YYMMDD plus gender digit G (1-8) of a 13-digit resident/foreigner number form a real date."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    yy, mm, dd, g = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    if g in (1, 2, 5, 6):
        year = 1900 + yy
    elif g in (3, 4, 7, 8):
        if yy > MAX_2000S_BIRTH_YY:
            return False
        year = 2000 + yy
    else:  # 9/0 were 1800s births: nobody alive carries one
        return False
    if not 1 <= mm <= 12 or dd < 1 or dd > _DAYS[mm - 1]:
        return False
    return not (mm == 2 and dd == 29 and not _leap(year))


def _registration_sum(digits: str) -> int:
    return sum(int(d) * w for d, w in zip(digits[:12], _RRN_WEIGHTS))


def rrn_checksum_ok(digits: str) -> bool:
    """Resident registration check digit (numbers issued before October 2020)."""
    return (11 - _registration_sum(digits) % 11) % 10 == int(digits[12])


def frn_checksum_ok(digits: str) -> bool:
    """Foreigner registration check digit: (13 - S mod 11) mod 10."""
    return (13 - _registration_sum(digits) % 11) % 10 == int(digits[12])


def brn_checksum_ok(digits: str) -> bool:
    """Business registration number (10 digits) check digit."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    d = [int(c) for c in digits]
    s = sum(x * w for x, w in zip(d[:9], _BRN_WEIGHTS)) + (d[8] * 5) // 10
    return (10 - s % 10) % 10 == d[9]


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = ord(c) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def card_prefix_ok(digits: str) -> bool:
    """Issuer prefixes of real card networks (Visa, Mastercard, Amex, JCB, UnionPay/Discover, KR domestic)."""
    n = len(digits)
    if digits[:2] in ("34", "37"):
        return n == 15
    if n == 15:
        return False
    first = digits[0]
    if first == "4":
        return n in (13, 16, 19)
    if first == "5":
        return "51" <= digits[:2] <= "55" and n == 16
    if first == "2":
        return "2221" <= digits[:4] <= "2720" and n == 16
    if first == "6" or digits[:2] == "35" or first == "9":
        return n in (16, 17, 18, 19)
    return False


def ean13_ok(digits: str) -> bool:
    """GTIN/EAN-13 check digit (product barcodes look like bare 13-digit registration numbers)."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits[:12]))
    return (10 - s % 10) % 10 == int(digits[12])


#: IBAN lengths by country (ISO 13616 registry, common countries).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "").upper()
    if IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    rearranged = s[4:] + s[:4]
    try:
        num = "".join(str(int(c, 36)) for c in rearranged)
    except ValueError:
        return False
    return int(num) % 97 == 1


def ipv4_ok(candidate: str, single_digits: bool = False) -> bool:
    """A routable-looking IPv4 address (not loopback, unspecified, netmask); ``single_digits``
    admits all-one-digit quads such as 8.8.8.8, which without a network word are mostly versions."""
    parts = candidate.split(".")
    if len(parts) != 4 or (not single_digits and all(len(p) == 1 for p in parts)):
        return False
    try:
        ip = ipaddress.IPv4Address(candidate)
    except ValueError:
        return False
    # x.x.x.0 is a network, not a host (and "7.35.0.0" is a version)
    return not (ip.is_loopback or ip.is_unspecified or ip.is_multicast or parts[0] in ("0", "255")
                or parts[3] == "0")


def ipv6_ok(candidate: str) -> bool:
    """A real IPv6 address with at least three non-empty groups (not loopback/unspecified, not a time)."""
    groups = [g for g in candidate.split(":") if g]
    if len(groups) < (2 if "::" in candidate else 3) or not any(c.isdigit() for c in candidate):
        return False  # fe80::1 and 2001:db8:: are addresses; a::b and 12:30:45 are not
    if len(groups) < 3 and max(len(g) for g in groups) < 3:
        return False  # 6::9 in minified script
    try:
        ip = ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified)


_DATE_PREFIX = re.compile(r"(?:19|20)[0-9]{2}[-./ ]?(?:0[1-9]|1[0-2])[-./ ]?(?:0[1-9]|[12][0-9]|3[01])")


def date_prefix(s: str) -> bool:
    """``s`` starts with a YYYY-MM-DD date (any or no separator): a timestamp, not an account."""
    return _DATE_PREFIX.match(s) is not None


def shannon_entropy(s: str) -> float:
    n = len(s)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def secret_token_ok(token: str, min_entropy: float = 3.0) -> bool:
    """A generic secret: long, mixes letters with digits (or case), and has high character entropy."""
    if len(token) < 16:
        return False
    has_digit = any(c.isdigit() for c in token)
    has_lower = any(c.islower() for c in token)
    has_upper = any(c.isupper() for c in token)
    if has_digit + has_lower + has_upper < 2:
        return False
    if token.isdigit() or token.count(".") > 3:  # numbers and dotted versions are not keys
        return False
    return shannon_entropy(token) >= min_entropy
