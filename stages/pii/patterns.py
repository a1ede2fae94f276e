"""PII types, placeholders and compiled patterns.

Two pattern sets per detector:

* ``PREFILTERS``: RE2 syntax (no look-arounds), run by ``pyarrow.compute`` over a whole batch to
  find the documents that can contain a candidate at all; each is a superset of its detector.
* compiled Python patterns that find exact candidates in the flagged documents. Quantifiers are
  bounded and ambiguous repetitions are atomic/possessive (Python 3.11), so no input makes them
  backtrack more than a constant per position.

Patterns use ASCII ``[0-9]`` (not ``\\d``) and explicit digit look-arounds rather than ``\\b``:
``\\b`` does not fire between Hangul and digits (``연락처010-1234-5678``). Full-width digits and
Unicode dashes are folded to ASCII first by ``FOLD_TABLE`` (one code point to one, so offsets hold).
"""

from __future__ import annotations

import re

from stages.pii.name_cues import NAME_PREFILTER

#: Every PII type, in the order used for columns, stats and the reject reason of dropped documents.
PII_TYPES: tuple[str, ...] = (
    "rrn", "frn", "phone", "brn", "passport", "driver_license", "bank_account", "address",
    "email", "ip", "credit_card", "iban", "url_credentials", "secret", "name",
)


def placeholder(pii_type: str) -> str:
    """The typed placeholder that replaces a detection, e.g. ``<|pii:rrn|>``."""
    return f"<|pii:{pii_type}|>"


#: Placeholder tokens in ``PII_TYPES`` order (the tokenizer reserves them as special tokens).
PII_PLACEHOLDERS: list[str] = [placeholder(t) for t in PII_TYPES]


def _fold_table() -> dict[int, int]:
    table: dict[int, int] = {}
    for cp in range(0xFF01, 0xFF5F):  # full-width ASCII block
        table[cp] = cp - 0xFEE0
    for cp in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE63, 0x30FC):
        table[cp] = ord("-")
    for cp in (0x00A0, 0x2002, 0x2003, 0x2009, 0x202F, 0x3000):
        table[cp] = ord(" ")
    return table


#: One-to-one code point folding (full-width forms, dashes, odd spaces) applied before detection.
FOLD_TABLE: dict[int, int] = _fold_table()
#: Runs of the code points ``FOLD_TABLE`` changes (folding touches only these, not the whole string).
FOLD_CHARS = re.compile("[\uff01-\uff5e\u2010-\u2015\u2212\ufe63\u30fc\u00a0\u2002\u2003\u2009\u202f\u3000]+")
#: RE2: documents worth folding (full-width digits, @ or +; a dash or odd space between digits).
#: Full-width text without any of these holds nothing the detectors could match.
FOLD_PREFILTER = (r"[\x{FF10}-\x{FF19}\x{FF0B}\x{FF20}]|[0-9][\x{2010}-\x{2015}\x{2212}\x{FE63}\x{30FC}"
                  r"\x{00A0}\x{2002}\x{2003}\x{2009}\x{202F}\x{3000}][0-9]")

_FIRST = "[0-9](?<![0-9]{2})(?<![0-9][.][0-9])"  # first digit of a number, not of a decimal fraction
_NA = "(?![0-9])"           # no digit after
_NA_SEP = "(?![0-9]|[-.][0-9])"  # ... nor a separator continuing the number

# --- Korean registration numbers (RRN G 1-4, FRN G 5-8); also half-masked 960121-1****** --------------
REG_NUMBER = re.compile(
    r"(" + _FIRST + r"[0-9](?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))( ?- ?| ?)([1-8][0-9*xX●]{6}|[*xX●]{7})"
    + _NA_SEP + r"(?![*xX●])")
#: Spaced-out or OCR-read registration numbers (``9 0 0 1 0 1 - 1 2 3 4 5 6 7``, ``9OO1O1-l234567``):
#: O/o for 0 and l/I/| for 1; checked only next to a registration context word.
_OCR_DIGIT = "[0-9OoIl|]"
REG_LOOSE = re.compile(
    r"(?<![0-9A-Za-z|])" + _OCR_DIGIT + r"(?: ?" + _OCR_DIGIT + r"){5} ?[-~] ?" + _OCR_DIGIT
    + r"(?: ?" + _OCR_DIGIT + r"){6}(?![0-9A-Za-z|])"
    r"|(?<![0-9A-Za-z|])" + _OCR_DIGIT + r"(?: " + _OCR_DIGIT + r"){12}(?![0-9A-Za-z|])")
OCR_DIGITS = str.maketrans("OoIl|", "00111")
#: Korean registration words that license the loose form (plain literals: a cheap full scan).
REG_WORDS_KO = re.compile("주민|등록번호|외국인|생년월일")
#: Labels of numbers that share the registration shape (YYMMDD-NNNNNNN) but are something else.
NOT_REG_LABEL = re.compile(
    r"(?i:주문|운송장|송장|invoice|order|tracking|waybill|접수\s?번호|예약\s?번호|거래\s?번호|승인\s?번호|"
    r"관리\s?번호|일련\s?번호|상품\s?번호|결제\s?번호|영수증|배송\s?번호|등기\s?번호|사건\s?번호|문서\s?번호|"
    r"no\.)")

# --- Phones -----------------------------------------------------------------------------------------
# Korean: mobile 01X, Seoul 02, regions 0[3-6][1-5], VoIP 070, safe numbers 050X; optional +82.
_KR_AREA = r"(?:1[016789]|2|[3-6][1-5]|70|50[2-8])"
#: Separators seen between phone digit groups: hyphen, dot, space, middle dots (· ‧ ∙ ・ ･ ㆍ).
_PSEP = "[-. \u00b7\u2027\u2219\u30fb\uff65\u318d]"
#: A digit group digit, or a masking character (010-****-5678); x only as a whole group (010-xxxx-5678),
#: since ``02-768x1154`` is an image size.
_PDIG = "[0-9*●]"
PHONE_KR = re.compile(
    r"(?:(?P<intl>(?:\+(?<![0-9+]\+)|0(?<![0-9+]0)0)82[-. ]?(?:\(0\))?[-. ]?)" + _KR_AREA
    + r"|\((?<![0-9+]\()0" + _KR_AREA + r"\)|0(?<![0-9+]0)(?<![0-9][-.]0)" + _KR_AREA + ")"
    r"(?P<s1>\)?" + _PSEP + r"{0,3}|\))"
    r"(?P<mid>" + _PDIG + r"{3,4}|[xX]{3,4})"
    r"(?P<s2>" + _PSEP + r"{0,3})"
    r"(?P<last>" + _PDIG + r"{4}|[xX]{4})(?![0-9A-Za-z*●]|-[0-9A-Za-z]|\.[0-9])")  # not followed by more of a UUID or number
# International with a +country code (not +82): digit groups, atomic so digit runs cannot backtrack.
PHONE_INTL = re.compile(
    r"\+(?<![0-9A-Za-z+]\+)(?!82)[1-9][0-9]{0,2}(?>(?:[-. ]?\(?[0-9]{1,5}+\)?){2,7})" + _NA)
# North American: (415) 555-0132, 415-555-0132, 415.555.0132.
PHONE_NANP = re.compile(
    r"(?:\((?<![0-9]\()[2-9][0-9]{2}\) ?|[2-9](?<![0-9][2-9])(?<![0-9]-[2-9])[0-9]{2}[-.])"
    r"[2-9][0-9]{2}[-.][0-9]{4}" + _NA_SEP)

# --- Business registration, driver licence, passport -------------------------------------------------
BRN = re.compile(_FIRST + r"(?:[0-9]{2}-[0-9]{2}-[0-9]{5}|[0-9]{9})" + _NA_SEP)
DRIVER = re.compile(r"(?:1(?<![0-9]1)[1-9]|2(?<![0-9]2)[0-68])([- ]?)[0-9]{2}\1[0-9]{6}\1[0-9]{2}" + _NA_SEP)
PASSPORT = re.compile(r"[MSRODmsrod](?<![A-Za-z0-9][MSRODmsrod])(?:[0-9]{3}[A-Za-z][0-9]{4}|[0-9]{8})(?![A-Za-z0-9])")

# --- Cards, IBAN, accounts ---------------------------------------------------------------------------
CARD = re.compile(
    _FIRST + r"(?:[0-9]{3}([- ])[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}|[0-9]{3}([- ])[0-9]{6}\2[0-9]{5}|[0-9]{14,15})"
    + _NA_SEP)
IBAN = re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z][0-9]{2}(?>(?: ?[A-Z0-9]{4}){2,7})(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")
_BANK_WORDS = ("계좌|입금|예금주|송금|이체|무통장|은행|뱅크|농협|국민|신한|우리|하나|기업|우체국|새마을|신협|수협|"
               "제일|씨티|카카오|토스")
ACCOUNT_WORDS = re.compile(_BANK_WORDS + r"|(?i:\bbank\b|\baccount\b|\bKB\b|\bNH\b|\bIBK\b)")
ACCOUNT_NUMBER = re.compile(
    r"[0-9](?<![0-9-][0-9])(?:[0-9]{1,5}(?:[- ][0-9]{2,7}){1,4}|[0-9]{9,13})(?![0-9]|[-.][0-9])")

# --- Network and contact -----------------------------------------------------------------------------
#: IPv4 candidates; octet ranges and leading zeros are checked by ``validators.ipv4_ok``.
IPV4 = re.compile(r"[0-9](?<![0-9.][0-9])[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])")
IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)(?>(?:[0-9A-Fa-f]{0,4}:){2,7})"
    r"(?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?(?![0-9A-Za-z:])")
#: Numeric tokens right before / after a dotted quad: with numbers on both sides (one of them a
#: plain number, not another address) it sits in number data such as an SVG path, not in prose.
NUM_BEFORE = re.compile(r"(?:^|[\s,])(-?[0-9.]*[0-9])[\s,]{1,3}$")
NUM_AFTER = re.compile(r"[\s,]{1,3}(-?[0-9.]*[0-9])(?:[\s,a-zA-Z]|$)")
VERSION_CONTEXT = re.compile(r"(?i:v|ver|version|release|build|firmware|버전|빌드)[\s.:/_-]{0,2}$")
#: Version words a little further before a dotted quad (``버전은 2.1.0.12``, ``runtime 1.2.3.4``).
VERSION_WORDS = re.compile(
    r"(?i:\bver(?:sion)?\b|\brelease\b|\bbuild\b|firmware|runtime|\bsdk\b|\bjdk\b|\bjre\b|\brev(?:ision)?\b|"
    r"\bpatch\b|\bupdate[ds]?\b)|버전|빌드|펌웨어|런타임|패치|업데이트|릴리스|배포판")
#: A product name right before a dotted quad (``OpenJDK 11.0.20.1``, ``Chrome/120.0.1.2``).
PRODUCT_BEFORE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9+#._-]{1,30})[ /]$")
#: Version words right after a dotted quad.
VERSION_AFTER = re.compile(r"\s?(?i:버전|version|이상|이하|으로 업데이트|-?beta|-?rc[0-9]?|-?alpha|lts|\(build)")
#: Words that say a dotted quad is a network address.
IP_WORDS = re.compile(
    r"(?i:\bip(?:v4)?\b|ip주소|아이피|서버|server|\bhost|호스트|\baddr|address|주소|접속|\bfrom\b|\bto\b|\bat\b|client|"
    r"클라이언트|\bping\b|\bdns\b|gateway|게이트웨이|proxy|프록시|\bsrc\b|\bdst\b|remote|peer|inet|nameserver|"
    r"\bvia\b|connect|\bssh\b|\bwan\b|\blan\b|\bvpn\b|차단|허용|\bdeny\b|\ballow|blocked|login|로그인|공인|사설)")
#: A port after an address (``1.2.3.4:8080``): part of the span.
PORT_AFTER = re.compile(r":[0-9]{1,5}(?![0-9])")
# E-mail: found from each '@'; the local part is matched backwards on the reversed prefix.
EMAIL_DOMAIN = re.compile(
    r"@((?:[A-Za-z0-9][A-Za-z0-9-]{0,62}+\.){1,8}(?:[A-Za-z]{2,24}+|xn--[A-Za-z0-9-]{1,59}+))"
    r"(?![A-Za-z0-9-]|\.[A-Za-z0-9])")
EMAIL_LOCAL_REV = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
#: Generic top-level domains accepted for e-mail (any two-letter country code and ``xn--`` IDN are
#: accepted too). A closed list keeps JSON paths such as ``content@filterEmpty.26.related`` out.
EMAIL_GTLDS = frozenset("""
com net org edu gov mil int info biz name pro aero coop museum mobi asia tel travel jobs cat post xxx
site online app dev page xyz top club shop store tech blog email cloud live life world today news media
company agency group team space website link click digital network systems solutions services email
global center studio design art inc ltd llc help support social love fun kim moe work works zone
""".split())
#: Two-letter endings that are file extensions far more often than country domains.
FILE_EXTENSIONS_2 = frozenset({"js", "ts", "py", "md", "sh", "gz", "rb", "db", "go", "rs"})
URL_USERINFO_USER = "[A-Za-z0-9._~%!$&*+;=-]{1,64}"
URL_CREDENTIALS = re.compile(
    r"://(?<=[A-Za-z0-9]://)(" + URL_USERINFO_USER + r":[A-Za-z0-9._~%!$&*+;=:-]{1,128})@(?=[A-Za-z0-9\[])")

# --- Secrets -----------------------------------------------------------------------------------------
#: Vendor key formats; the character before a match is checked in Python (not a letter or digit).
SECRET_FIXED = re.compile(
    r"(?:"
    r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,255}+"
    r"|github_pat_[A-Za-z0-9_]{22,255}+"
    r"|xox[abposr]-[A-Za-z0-9-]{10,250}+"
    r"|sk-[A-Za-z0-9_-]{32,200}+"
    r"|AIza[0-9A-Za-z_-]{35}"
    r")(?![A-Za-z0-9])"
    r"|hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,200}+")
PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[ \t]*\r?\n(?:Proc-Type|DEK-Info|Comment):[^\r\n]{0,200})*+"
    r"[A-Za-z0-9+/=\r\n \t]{0,32768}+"
    r"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?")
_SECRET_KEYS = (r"(?i:api[_-]?key|apikey|secret(?:[_-]?key)?|client[_-]?secret|access[_-]?key(?:[_-]?id)?|"
                r"(?:access|auth|refresh|bearer)[_-]?token|token|password|passwd|pwd|private[_-]?key|bearer)|"
                r"비밀번호|패스워드|암호|인증키|시크릿")
_SECRET_VALUE = r"([A-Za-z0-9_\-+/=.~]{16,200}+)(?![A-Za-z0-9_\-+/=.~])"
#: ``key: value`` / ``key = "value"`` / ``key => value``: found from the operator (cheap to scan for),
#: then the key word is checked just before it with ``SECRET_KEY_BEFORE``.
SECRET_OPERATOR = re.compile(r"(?::=|=>|[:=])\s{0,3}[\"']?" + _SECRET_VALUE)
SECRET_KEY_BEFORE = re.compile("(?:" + _SECRET_KEYS + r")[\"']?\]?\s{0,3}$")
#: ``Bearer value`` / ``비밀번호 value``: the words people write without an operator.
SECRET_WORD_VALUE = re.compile(r"(?:Bearer|bearer|BEARER|비밀번호|패스워드|암호|인증키)\s{1,3}[\"']?" + _SECRET_VALUE)

# --- Korean addresses (district + road/lot name + building number [+ unit]) -------------------------
_BUILDING = ("(?:아파트|빌라|오피스텔|타워|빌딩|맨션|상가|센터|프라자|플라자|하이츠|캐슬|타운|연립|주택|"
             "스퀘어|시티|팰리스|레지던스|힐스|자이|푸르지오|래미안|아이파크|더샵)")
ADDRESS_DISTRICT = re.compile(r"(?:시|군|구)\s")
ADDRESS_ANCHOR = re.compile(r"(?:로|길|동|리|가)\s{0,2}(?:산\s?)?[0-9]")
ADDRESS = re.compile(
    r"(?:[가-힣]{1,10}(?:특별시|광역시|특별자치시|특별자치도|도|시)\s{1,2})?"
    r"(?:[가-힣]{1,10}(?:시|군|구)\s{1,2}){1,2}"
    r"(?P<core>"
    r"(?:[가-힣]{1,10}(?:읍|면)\s{1,2})?"
    r"(?:[가-힣0-9·]{1,15}(?:대로|로|길)\s{0,2}[0-9]{1,5}(?:-[0-9]{1,5})?(?![0-9]|(?:번?길|가|로)(?![가-힣]))"
    r"|[가-힣0-9]{1,10}(?:동|리|가)\s{1,2}(?:산\s?)?[0-9]{1,5}(?:-[0-9]{1,5})?(?:번지)?)"
    r"(?:,?\s{0,2}(?:[0-9]{1,3}(?:차|단지|번가|호관)\s?)?[가-힣A-Za-z0-9]{0,20}" + _BUILDING + ")?"
    r"(?:,?\s{0,2}(?:[0-9]{1,4}|[A-Z])동)?(?:,?\s{0,2}[0-9]{1,5}호)?"
    r")(?![0-9])")
ADDRESS_BAD_FOLLOW = re.compile(r"\s?(?:분|초|시간|개|명|원|만|억|천|배|년|월|일|번째|회|층|km|m|%|kg|g|위)")

# --- Context words for bare-digit forms that are too common without them ------------------------------
REG_CONTEXT = re.compile(r"(?i:주민|등록번호|외국인|생년월일|RRN|FRN|resident|registration)")
ACCOUNT_STRONG = re.compile(r"(?i:계좌|입금|예금주|송금|이체|무통장|은행|뱅크|account\s?(?:no|number|#))")
BRN_CONTEXT = re.compile(r"(?i:사업자|등록번호|법인|상호|대표자|BRN|business|tax\s?id)")
DRIVER_CONTEXT = re.compile(r"(?i:면허|licen[cs]e)")
PASSPORT_CONTEXT = re.compile(r"(?i:여권|passport)")

_BANK_RE2 = "(?:" + _BANK_WORDS + "|(?i:bank|account|kb|nh|ibk))"
_ACCT_RE2 = r"[0-9]{2,6}[- ][0-9]{2,7}[- ]?[0-9]{2,7}|[0-9]{10}"

#: RE2 prefilters for ``pyarrow.compute.match_substring_regex``: a document can hold a detection only
#: if it matches the pattern (all patterns, for a tuple). The first pattern joins the group union.
PREFILTERS: dict[str, str | tuple[str, ...]] = {
    "reg_number": r"[0-9]{2}[01][0-9][0-3][0-9] ?-? ?(?:[1-8][0-9*xX●]{6}|[*xX●]{7})|주민|등록번호|외국인|생년월일",
    "phone_kr": r"(?:0|82[-. ]?(?:\(0\))?[-. ]?)(?:1[016789]|2|[3-6][1-5]|70|50[2-8])\)?[-. )·‧∙・･ㆍ]{0,3}"
                r"[0-9*xX●]{3,4}[-. ·‧∙・･ㆍ]{0,3}[0-9*xX●]{4}",
    "phone_nanp": r"[2-9][0-9]{2}[-.)] ?[2-9][0-9]{2}[-.][0-9]{4}",
    "brn": r"[0-9]{3}-[0-9]{2}-[0-9]{5}|(?i:사업자|등록번호|법인|상호|대표자|BRN|business|tax\s?id)(?s:.){0,30}[0-9]{10}",
    "driver": r"[12][0-9][- ]?[0-9]{2}[- ]?[0-9]{6}[- ]?[0-9]{2}",
    "passport": r"[MSRODmsrod][0-9]{3}[A-Za-z0-9][0-9]{4}",
    "card": r"[0-9]{4}[- ]?[0-9]{4}[- ]?[0-9]{4}|[0-9]{4}[- ][0-9]{6}[- ][0-9]{5}|[0-9]{15}",
    "iban": r"[A-Z]{2}[0-9]{2} ?[A-Z0-9]{4} ?[A-Z0-9]{4}",
    "bank_account": (_ACCT_RE2, _BANK_RE2),
    "ipv4": r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}",
    "ipv6": r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}|[0-9A-Fa-f]::",
    "secret_fixed": r"A[KSBCGIRNP][A-Z]{2}[A-Z0-9]{16}|gh[pousr]_|github_pat_|xox[abposr]-|sk-|AIza|hooks\.slack\.com",
    # the key word's last part must end right at the operator: suffixes of every ``_SECRET_KEYS`` entry
    "secret_assign": (r"(?:(?i:key(?:[_-]?id)?|secret|token|password|passwd|pwd|bearer)|비밀번호|패스워드|암호|인증키|시크릿)"
                      r"[\"']?\]?\s{0,3}(?::=|=>|[:=]|\s)\s{0,3}[\"']?[A-Za-z0-9_\-+/=.~]{16}"),
    "name": NAME_PREFILTER,
    "address": r"[시군구]\s{1,2}(?:[가-힣]{1,10}[읍면]\s{1,2})?[가-힣0-9·]{1,15}(?:로|길|동|리|가)\s{0,2}(?:산\s?)?[0-9]",
}

#: Prefilters run as one RE2 union per group over the whole batch, then one by one on the flagged rows.
#: Detectors with no prefilter (e-mail, URL credentials, +CC phones, private keys) start from a
#: literal ('@', '://', '+', '-----BEGIN') that Python finds faster than an RE2 pass, so they always run.
PREFILTER_GROUPS: dict[str, tuple[str, ...]] = {
    "digits": ("reg_number", "phone_kr", "phone_nanp", "brn", "driver", "card", "ipv4"),
    "other": ("iban", "passport", "ipv6", "secret_fixed", "secret_assign"),
    "korean": ("bank_account", "address"),
    "names": ("name",),
}
