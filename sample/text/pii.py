"""Generators for planted personal data (with valid checksums where formats have them) and for
look-alike strings that are not personal data (dates, prices, order and business numbers ...)."""

from __future__ import annotations

import random
from collections.abc import Callable

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_BIZ_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def rrn_check_digit(first12: str, foreigner: bool = False) -> int:
    s = sum(int(d) * w for d, w in zip(first12, _RRN_WEIGHTS))
    return ((13 if foreigner else 11) - s % 11) % 10


def rrn(rng: random.Random) -> str:
    """A resident (or, rarely, foreigner) registration number with a valid date and gender digit.

    About 70 % carry a valid check digit; the rest (numbers issued since October 2020 have no
    checksum) are still scrubbable from date plus gender digit.
    """
    year = rng.randint(1950, 2012)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    foreigner = rng.random() < 0.08
    g = (5 if year < 2000 else 7) if foreigner else (1 if year < 2000 else 3)
    g += rng.randint(0, 1)
    body = f"{year % 100:02d}{month:02d}{day:02d}{g}{rng.randint(0, 99999):05d}"
    check = rrn_check_digit(body, foreigner)
    if rng.random() >= 0.7:
        check = (check + rng.randint(1, 9)) % 10
    digits = body + str(check)
    sep = rng.choice(["-", "-", "-", " - ", ""])
    return digits[:6] + sep + digits[6:]


def phone_mobile(rng: random.Random) -> str:
    a, b = rng.randint(1000, 9999), rng.randint(1000, 9999)
    style = rng.randrange(8)
    return [f"010-{a}-{b}", f"010.{a}.{b}", f"010 {a} {b}", f"010{a}{b}", f"+82-10-{a}-{b}",
            f"+82 10 {a} {b}", f"(010){a}-{b}", f"010-{a}-{b}"][style]


def phone_landline(rng: random.Random) -> str:
    area = rng.choice(["02", "02", "031", "032", "051", "053", "042", "062", "064", "033"])
    mid = rng.randint(200, 9999) if area == "02" else rng.randint(200, 999)
    end = rng.randint(1000, 9999)
    style = rng.randrange(5)
    if style == 0:
        return f"({area}) {mid}-{end}"
    if style == 1:
        return f"+82-{area[1:]}-{mid}-{end}"
    if style == 2:
        return f"{area}.{mid}.{end}"
    return f"{area}-{mid}-{end}"


_LOCALS = ["minjun", "seoyeon", "jihoon.park", "sua_choi", "doyoon", "haeun.kang", "hyunwoo", "jia.yoon",
           "seojun92", "yerin.lim", "seungmin", "jiyu.oh", "taeyoon", "harin", "dohyun.k", "bomi",
           "emma.c", "liam.t", "grace.kim", "dpark"]
_DOMAINS = ["naver.com", "daum.net", "gmail.com", "kakao.com", "hanmail.net", "nate.com", "korea.kr",
            "example.co.kr", "company.co.kr", "outlook.com"]


def email(rng: random.Random) -> str:
    local = rng.choice(_LOCALS) + (str(rng.randint(1, 999)) if rng.random() < 0.5 else "")
    return f"{local}@{rng.choice(_DOMAINS)}"


def luhn_check_digit(payload: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    digits = [c for c in number if c.isdigit()]
    return bool(digits) and luhn_check_digit("".join(digits[:-1])) == int(digits[-1])


def card(rng: random.Random) -> str:
    """A Luhn-valid card number (Visa, Mastercard, domestic BC, or Amex layout)."""
    kind = rng.randrange(4)
    if kind == 3:
        payload = rng.choice(["34", "37"]) + "".join(str(rng.randint(0, 9)) for _ in range(12))
        n = payload + str(luhn_check_digit(payload))
        return f"{n[:4]}-{n[4:10]}-{n[10:]}"
    prefix = ["4", "5" + str(rng.randint(1, 5)), "9410"][kind]
    payload = prefix + "".join(str(rng.randint(0, 9)) for _ in range(15 - len(prefix)))
    n = payload + str(luhn_check_digit(payload))
    sep = rng.choice(["-", "-", " ", ""])
    return sep.join(n[i:i + 4] for i in range(0, 16, 4))


def account(rng: random.Random) -> str:
    """A bank account number in one of the common Korean layouts."""
    layout = rng.choice([(6, 2, 6), (3, 3, 6), (4, 3, 6), (3, 4, 4, 2), (3, 6, 5), (4, 2, 7)])
    return "-".join("".join(str(rng.randint(0, 9)) for _ in range(n)) for n in layout)


def ip(rng: random.Random) -> str:
    first = rng.choice([1, 14, 27, 39, 58, 61, 110, 112, 118, 121, 175, 180, 203, 211, 220, 222])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def passport(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.choice('MSROD')}{rng.randint(100, 999)}{rng.choice('ABCDEFGHJK')}{rng.randint(1000, 9999)}"
    return f"{rng.choice('MSROD')}{rng.randint(10000000, 99999999)}"


PII_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "rrn": rrn, "phone_mobile": phone_mobile, "phone_landline": phone_landline, "email": email,
    "card": card, "account": account, "ip": ip, "passport": passport,
}


# ---- look-alikes that are not personal data ------------------------------------------------------

def date(rng: random.Random) -> str:
    y, m, d = rng.randint(2019, 2025), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{y}.{m:02d}.{d:02d}", f"{y}년 {m}월 {d}일", f"{y}/{m:02d}/{d:02d}"])


def price_tag(rng: random.Random) -> str:
    won = rng.randint(1, 2500) * 100
    return rng.choice([f"{won:,}원", f"₩{won:,}", f"{won:,} 원"])


def order_no(rng: random.Random) -> str:
    """A 16-digit order number that deliberately fails the Luhn check, or a dated order code."""
    if rng.random() < 0.5:
        payload = f"{rng.randint(2020, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" + \
            "".join(str(rng.randint(0, 9)) for _ in range(7))
        bad = (luhn_check_digit(payload) + rng.randint(1, 9)) % 10
        return payload + str(bad)
    return f"{rng.randint(2020, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{rng.randint(1, 9999999):07d}"


def business_phone(rng: random.Random) -> str:
    return f"{rng.choice(['1588', '1577', '1544', '1644', '1661', '1899', '1600'])}-{rng.randint(1000, 9999)}"


def version(rng: random.Random) -> str:
    parts = [rng.randint(1, 12), rng.randint(0, 20), rng.randint(0, 30)]
    if rng.random() < 0.3:
        parts.append(rng.randint(100, 9999))
    return rng.choice(["v", "", ""]) + ".".join(map(str, parts))


def isbn(rng: random.Random) -> str:
    body = f"97889{rng.randint(10, 99)}{rng.randint(10000, 99999)}"
    s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    return f"{body[:3]}-{body[3:5]}-{body[5:7]}-{body[7:12]}-{(10 - s % 10) % 10}"


def tracking_no(rng: random.Random) -> str:
    return f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"


def business_registration(rng: random.Random) -> str:
    """A business registration number AAA-BB-CCCCC with a valid check digit."""
    d = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
    s = sum(x * w for x, w in zip(d, _BIZ_WEIGHTS)) + (d[8] * 5) // 10
    digits = "".join(map(str, d)) + str((10 - s % 10) % 10)
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


#: Template slot name -> (trap kind, generator).
TRAP_GENERATORS: dict[str, tuple[str, Callable[[random.Random], str]]] = {
    "date": ("date", date), "price_tag": ("price", price_tag), "order_no": ("order_no", order_no),
    "business_phone": ("business_phone", business_phone), "version": ("version", version),
    "isbn": ("isbn", isbn), "tracking_no": ("tracking_no", tracking_no),
    "business_registration": ("business_registration", business_registration),
}
