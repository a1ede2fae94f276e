"""Synthetic, valid-looking PII in the spellings found on Korean web pages, for recall measurement.

Every generator takes a ``random.Random`` and returns ``(snippet, value)``: ``snippet`` is what
gets inserted into real text (the value with the context words people write around it) and
``value`` is the exact substring a detector must cover. Numbers are random, never real people's.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from stages.pii.validators import _BRN_WEIGHTS, _DAYS, _RRN_WEIGHTS, IBAN_LENGTHS, luhn_ok

_FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789-"}


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _birth(rng: random.Random, g: int) -> str:
    yy = rng.randint(0, 29) if g in (3, 4, 7, 8) else rng.randint(30, 99)
    mm = rng.randint(1, 12)
    dd = rng.randint(1, _DAYS[mm - 1] if mm != 2 else 28)
    return f"{yy:02d}{mm:02d}{dd:02d}"


def _registration(rng: random.Random, genders: str, base: int) -> str:
    g = int(rng.choice(genders))
    body = _birth(rng, g) + str(g) + _digits(rng, 5)
    s = sum(int(d) * w for d, w in zip(body, _RRN_WEIGHTS))
    return body + str((base - s % 11) % 10)


def rrn(rng: random.Random) -> tuple[str, str]:
    num = _registration(rng, "1234", 11)
    if rng.random() < 0.2:  # issued after Oct 2020: no checksum
        num = num[:12] + rng.choice("0123456789")
    value = num if rng.random() < 0.3 else f"{num[:6]}-{num[6:]}"
    return rng.choice(["주민등록번호: {}", "주민번호 {} 입니다", "RRN {}", "{}"]).format(value), value


def frn(rng: random.Random) -> tuple[str, str]:
    num = _registration(rng, "5678", 13)
    value = f"{num[:6]}-{num[6:]}" if rng.random() < 0.7 else num
    return rng.choice(["외국인등록번호 {}", "등록번호:{}", "{}"]).format(value), value


def phone(rng: random.Random) -> tuple[str, str]:
    mid, last = _digits(rng, 4), _digits(rng, 4)
    style = rng.randrange(9)
    if style == 0:
        value = f"010-{mid}-{last}"
    elif style == 1:
        value = f"010.{mid}.{last}"
    elif style == 2:
        value = f"010 {mid} {last}"
    elif style == 3:
        value = f"010{mid}{last}"
    elif style == 4:
        value = f"+82 10-{mid}-{last}"
    elif style == 5:
        value = f"010-{mid}-{last}".translate(_FULL_WIDTH)
    elif style == 6:
        value = f"02-{_digits(rng, rng.choice((3, 4)))}-{last}"
    elif style == 7:
        value = f"(0{rng.choice(['31', '32', '51', '53', '62', '64'])}) {_digits(rng, 3)}-{last}"
    else:
        value = f"070-{mid}-{last}"
    ctx = rng.choice(["연락처{}", "전화: {}", "문의 {} 로 연락주세요", "☎ {}", "핸드폰번호는 {}입니다", "tel {}"])
    return ctx.format(value), value


def brn(rng: random.Random) -> tuple[str, str]:
    while True:
        body = _digits(rng, 9)
        s = sum(int(d) * w for d, w in zip(body, _BRN_WEIGHTS)) + int(body[8]) * 5 // 10
        num = body + str((10 - s % 10) % 10)
        if body[0] != "0":
            break
    if rng.random() < 0.8:
        value = f"{num[:3]}-{num[3:5]}-{num[5:]}"
        return rng.choice(["사업자등록번호 : {}", "사업자번호 {}", "({})"]).format(value), value
    return f"사업자등록번호 {num}", num


def passport(rng: random.Random) -> tuple[str, str]:
    letter = rng.choice("MSROD")
    if rng.random() < 0.7:
        value = f"{letter}{_digits(rng, 3)}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{_digits(rng, 4)}"
        return rng.choice(["여권번호 {}", "passport no. {}", "{}"]).format(value), value
    value = letter + _digits(rng, 8)
    return rng.choice(["여권번호: {}", "구여권 {}", "Passport {}"]).format(value), value


def driver_license(rng: random.Random) -> tuple[str, str]:
    region = rng.choice([str(r) for r in range(11, 27)] + ["28"])
    value = f"{region}-{_digits(rng, 2)}-{_digits(rng, 6)}-{_digits(rng, 2)}"
    return rng.choice(["운전면허번호 {}", "면허번호: {}", "{}"]).format(value), value


def bank_account(rng: random.Random) -> tuple[str, str]:
    forms = [
        lambda: f"{_digits(rng, 6)}-{_digits(rng, 2)}-{_digits(rng, 6)}",
        lambda: f"110-{_digits(rng, 3)}-{_digits(rng, 6)}",
        lambda: f"1002-{_digits(rng, 3)}-{_digits(rng, 6)}",
        lambda: f"3333-{_digits(rng, 2)}-{_digits(rng, 7)}",
        lambda: f"302-{_digits(rng, 4)}-{_digits(rng, 4)}-{_digits(rng, 2)}",
        lambda: "1" + _digits(rng, 11),
    ]
    value = rng.choice(forms)()
    ctx = rng.choice(["국민은행 {} (예금주 김철수)", "입금계좌: 신한 {}", "계좌번호 {} 우리은행",
                      "카카오뱅크 {}", "농협 {} 으로 입금 부탁드립니다"])
    return ctx.format(value), value


_ROADS = ["테헤란로", "세종대로", "판교역로", "동판교로177번길", "올림픽로", "해운대해변로", "중앙로", "월드컵북로"]
_DISTRICTS = ["서울특별시 강남구", "서울 종로구", "경기도 성남시 분당구", "부산광역시 해운대구", "인천 남동구",
              "대구 수성구", "서울시 마포구"]


def address(rng: random.Random) -> tuple[str, str]:
    district = rng.choice(_DISTRICTS)
    if rng.random() < 0.75:
        value = f"{rng.choice(_ROADS)} {rng.randint(1, 999)}"
        if rng.random() < 0.4:
            value += f" {rng.randint(101, 120)}동 {rng.randint(101, 2505)}호"
    else:
        value = f"{rng.choice(['역삼동', '삼성동', '우동', '서교동'])} {rng.randint(1, 999)}-{rng.randint(1, 99)}"
    return f"주소: {district} {value}", value


def email(rng: random.Random) -> tuple[str, str]:
    user = rng.choice(["hong.gildong", "kim_01", "abc123", "user+tag", "j.lee"]) + _digits(rng, 2)
    value = f"{user}@{rng.choice(['naver.com', 'gmail.com', 'daum.net', 'company.co.kr', 'hanmail.net'])}"
    return rng.choice(["이메일: {}", "문의는 {}로", "email {}", "{}"]).format(value), value


def ip(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.8:
        value = f"{rng.choice([rng.randint(11, 126), rng.randint(128, 223)])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    else:
        value = "2001:db8:" + ":".join(f"{rng.randint(0, 0xffff):x}" for _ in range(6))
    return rng.choice(["접속 IP {}", "from {}", "서버 주소 {}"]).format(value), value


def credit_card(rng: random.Random) -> tuple[str, str]:
    while True:
        num = rng.choice(["4", "51", "52", "55", "9410"])
        num += _digits(rng, 16 - len(num))
        if luhn_ok(num):
            break
    sep = rng.choice(["-", " ", ""])
    value = sep.join(num[i:i + 4] for i in range(0, 16, 4))
    return rng.choice(["카드번호 {}", "card: {}", "{}"]).format(value), value


def iban(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(["DE", "GB", "FR", "NL"])
    n = IBAN_LENGTHS[country]
    bban = ("WEST" if country in ("GB", "NL") else "") + _digits(rng, n - 4 - (4 if country in ("GB", "NL") else 0))
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in rearranged)) % 97
    value = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        value = " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    return f"IBAN {value}", value


def url_credentials(rng: random.Random) -> tuple[str, str]:
    value = f"admin{_digits(rng, 2)}:Pw{_digits(rng, 6)}x"
    return f"https://{value}@db.example.com:5432/prod", value


def secret(rng: random.Random) -> tuple[str, str]:
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    kind = rng.randrange(4)
    if kind == 0:
        value = "AKIA" + "".join(rng.choice(alnum[:26] + alnum[52:]) for _ in range(16))
        return f"aws_access_key_id = {value}", value
    if kind == 1:
        value = "ghp_" + "".join(rng.choice(alnum) for _ in range(36))
        return f"GITHUB_TOKEN={value}", value
    if kind == 2:
        value = "xoxb-" + _digits(rng, 12) + "-" + "".join(rng.choice(alnum) for _ in range(24))
        return f"slack: {value}", value
    value = "".join(rng.choice(alnum) for _ in range(32))
    return f'api_key: "{value}"', value


GENERATORS: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "rrn": rrn, "frn": frn, "phone": phone, "brn": brn, "passport": passport,
    "driver_license": driver_license, "bank_account": bank_account, "address": address, "email": email,
    "ip": ip, "credit_card": credit_card, "iban": iban, "url_credentials": url_credentials, "secret": secret,
}


#: Strings that look like PII and are not: every detector must stay silent on each.
HARD_NEGATIVES: list[str] = [
    # dates, times, timestamps
    "2024-01-02", "2024.01.02", "24.01.02", "2024/01/02", "2024년 1월 2일", "20240102", "1999-12-31",
    "12:30:45", "2024-01-02T12:30:45Z", "1700000000", "1700000000000",
    # prices
    "12,000원", "₩1,234,567", "$1,299.99", "1,234,567,890원", "가격 3,500,000원",
    # order and tracking numbers
    "주문번호 2024010212345678", "주문번호: 20240102-00012345", "송장번호 123456789012", "주문 No. 1234567890",
    # ISBN / ISSN
    "ISBN 978-89-1234-567-8", "ISBN 9788912345678", "ISBN 89-7914-123-4", "ISBN-10 0-306-40615-2",
    "ISSN 1234-5678",
    # business numbers that look like phones
    "대표번호 1588-1234", "고객센터 1577-1234", "1644 1234", "1600-1234", "수신자부담 080-123-4567",
    "Tel. 1588-1234",
    # coordinates
    "37.5665, 126.9780", "37.5665° N, 126.9780° E", "lat=37.566535 lng=126.977969", "위도 35.1796 경도 129.0756",
    # version strings and build numbers
    "Python 3.11.4", "v1.2.3.4", "버전 2.0.1.3", "Chrome/120.0.6099.129", "Windows 10.0.19041.1",
    "version 10.0.0.1", "build 4.2.10.100",
    # hashes, ids, file names, JSON paths, minified code
    "바코드 8801011379602", "createTimeMillis:1509042379143", "/v/6011106173001", "ae47409e9050172600372491ad2a94cb",
    "ap-01111901843.jpg", 'data-account="1596741612"', "content@filterEmpty.26.related",
    "(i<<1|i>>>31)+1518500249)", '"url":"http://www.nbcnews.com","logo":{"@type":"x"}', "av=7.35.0.0",
    "팩스 : 02-0000-0000", "'health':'1025c69d-f053-4601-9107-b864d56'", '"M22.46 6c-.77.35-1.6.58-2.46.69.88-.53',
    "M9.291a1.508 1.508 0 0 0-.126-2.16.5.5 0 0 0-.68.734c", "1.08.58 1.23.82.72 1.21 1.87",
    # hashes, ids, decimals, special addresses
    "0x7fffffff", "d41d8cd98f00b204e9800998ecf8427e", "123e4567-e89b-12d3-a456-426614174000",
    "44.2105263157895px", "3.14159265358979", "255.255.255.0", "127.0.0.1", "0.0.0.0",
    # e-mail look-alikes
    "image@2x.png", "logo@3x.jpg", "@username", "pkg@1.2.3", "my email is info@presidio.",
    # checksum failures and invalid dates
    "카드 4111-1111-1111-1112", "사업자번호 123-45-67890", "960121+1021413", "001332-1234567",
    "960303-0021413", "051102-9234110", "M123A456", "A123B4567", "IBAN GB82 WEST 1234 5698 7654 33",
    # Korean prose with 로/길/동 before numbers, common words that are bank names
    "서울 강남구 테헤란로에서 3분 거리", "최종적으로 3개 학교로 5명 보냈다", "우리 동네 3번지", "하나 2개",
    "우리 회사는 2024년 매출 1,234,567,890원", "국민 1인당 35000달러", "은행 금리 3.5% 계좌 개설 2024-01-02",
    # key-like words without secrets
    "tokenizer_config_name_or_path", "password: hunter2", "the api key is stored in a vault",
]


def inject(base: str, rng: random.Random, pii_type: str) -> tuple[str, tuple[int, int]]:
    """Insert one generated snippet at a line/sentence break of ``base``; return text and value span."""
    snippet, value = GENERATORS[pii_type](rng)
    cuts = [i + 1 for i, c in enumerate(base) if c in ".\n"] or [len(base)]
    at = rng.choice(cuts)
    text = f"{base[:at]} {snippet} {base[at:]}"
    start = at + 1 + snippet.index(value)
    return text, (start, start + len(value))
