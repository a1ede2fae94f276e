"""Random values for the evaluation documents: names, numbers and addresses in the spellings people use.

Lists here are written independently of the detectors' word lists (``name_cues``): given names
include native Korean names whose syllables the detector's common-syllable list lacks, and
surnames follow census frequencies, rare ones included.
"""

from __future__ import annotations

import random

from stages.pii.synthetic import _registration

#: Surname -> rough share of the population (per mille; 2015 census order of magnitude).
SURNAMES: dict[str, int] = {
    "김": 215, "이": 147, "박": 84, "최": 47, "정": 43, "강": 23, "조": 21, "윤": 21, "장": 20, "임": 17,
    "한": 15, "오": 15, "서": 15, "신": 15, "권": 14, "황": 14, "안": 13, "송": 13, "류": 12, "전": 11,
    "홍": 11, "고": 9, "문": 9, "양": 9, "손": 9, "배": 8, "백": 8, "허": 6, "유": 6, "남": 5, "심": 5,
    "노": 4, "하": 4, "곽": 4, "성": 4, "차": 4, "주": 4, "우": 4, "구": 4, "민": 3, "진": 3, "나": 3,
    "지": 3, "엄": 3, "채": 2, "원": 2, "천": 2, "방": 2, "공": 2, "현": 2, "함": 2, "변": 2, "염": 2,
    "여": 2, "추": 2, "도": 1, "소": 1, "석": 1, "선": 1, "설": 1, "마": 1, "길": 1, "연": 1, "위": 1,
    "표": 1, "명": 1, "기": 1, "반": 1, "왕": 1, "금": 1, "옥": 1, "육": 1, "인": 1, "맹": 1, "제": 1,
    "남궁": 1, "황보": 1, "제갈": 1, "선우": 1, "독고": 1, "탁": 1, "국": 1, "어": 1, "태": 1, "빈": 1,
}
#: Given names across generations, plus native-Korean and one-syllable names.
GIVEN_NAMES = """
민준 서준 도윤 예준 시우 하준 주원 지호 지후 준우 준서 건우 도현 현우 지훈 우진 선우 서진 민재 현준
서연 서윤 지우 서현 민서 하은 하윤 윤서 지유 지민 채원 수아 지아 지윤 은서 다은 예은 수빈 소율 예린
영수 영호 영철 정호 성호 상훈 성민 동현 재훈 준호 정훈 민수 현철 종민 승현 경호 태호 병철 광수 진우
영희 순자 정숙 미경 은정 미영 혜진 수진 지영 은영 현주 미숙 경희 선영 유진 민정 지은 혜원 은주 소연
슬기 보람 한별 나래 다솜 하늘 가람 새봄 아름 누리 초롱 별이 솔잎 단비 겨레 빛나 우람 슬옹 바름 여름
현 준 훈 윤 진 혁 빈 솔 결 담
""".split()

PUBLIC_FIGURES: list[tuple[str, str]] = [
    ("이순신", "장군"), ("세종대왕", ""), ("윤석열", "대통령"), ("문재인", "전 대통령"), ("한덕수", "국무총리"),
    ("손흥민", "선수"), ("봉준호", "감독"), ("김구", "선생"), ("유관순", "열사"), ("안중근", "의사"),
    ("이재명", "대표"), ("한동훈", "위원장"), ("오세훈", "서울시장"), ("추경호", "원내대표"), ("조국", "대표"),
    ("김연아", "선수"), ("박찬호", "위원"), ("정약용", ""), ("장영실", ""), ("이황", ""),
]


def name(rng: random.Random) -> str:
    sur = rng.choices(list(SURNAMES), weights=list(SURNAMES.values()))[0]
    return sur + rng.choice(GIVEN_NAMES)


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def rrn(rng: random.Random, genders: str = "1234") -> str:
    num = _registration(rng, genders, 11 if genders == "1234" else 13)
    return f"{num[:6]}-{num[6:]}"


def rrn_shaped_order(rng: random.Random) -> str:
    """An order number of registration shape: date (YYMMDD) + 7 digits, first digit 1-4."""
    return f"{rng.randint(20, 25):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{rng.randint(1, 4)}{digits(rng, 6)}"


_MIDDOTS = ["·", "・", "ㆍ", "‧"]


def phone(rng: random.Random, style: str | None = None) -> tuple[str, str]:
    """(value, style tag)."""
    mid, last = digits(rng, 4), digits(rng, 4)
    style = style or rng.choice(["hyphen", "hyphen", "dot", "space", "middot", "paren", "spaced_hyphen",
                                 "landline", "bare"])
    if style == "hyphen":
        v = f"010-{mid}-{last}"
    elif style == "dot":
        v = f"010.{mid}.{last}"
    elif style == "space":
        v = f"010 {mid} {last}"
    elif style == "middot":
        d = rng.choice(_MIDDOTS)
        v = f"010{d}{mid}{d}{last}"
    elif style == "paren":
        v = rng.choice([f"(010) {mid}-{last}", f"(010){mid}-{last}", f"010) {mid} {last}"])
    elif style == "spaced_hyphen":
        v = f"010 - {mid} - {last}"
    elif style == "landline":
        v = rng.choice([f"02-{digits(rng, 3)}-{last}", f"031-{digits(rng, 3)}-{last}", f"(051) {digits(rng, 3)}-{last}",
                        f"02·{digits(rng, 4)}·{last}"])
    elif style == "masked":
        v = rng.choice([f"010-****-{last}", f"010-{mid[:2]}**-{last}", f"010-{mid}-****", f"010-****-{last[:2]}**"])
    else:
        v = f"010{mid}{last}"
    return v, style


def masked_rrn(rng: random.Random) -> str:
    r = rrn(rng)
    return rng.choice([r[:8] + "******", r[:7] + "*******", r[:8] + "xxxxxx", r[:8] + "●●●●●●"])


def ocr_rrn(rng: random.Random) -> tuple[str, str]:
    """A spaced-out or OCR-corrupted registration number: (value, tag)."""
    r = rrn(rng)
    kind = rng.choice(["spaced", "ocr", "ocr", "spaced_dash"])
    if kind == "spaced":
        return " ".join(r.replace("-", "")), "rrn_spaced"
    if kind == "spaced_dash":
        return " ".join(r[:6]) + " - " + " ".join(r[7:]), "rrn_spaced"
    table = {"0": "O", "1": rng.choice("lI")}
    chars = list(r)
    idx = [i for i, c in enumerate(chars) if c in table]
    for i in rng.sample(idx, min(len(idx), rng.randint(1, 3))):
        chars[i] = table[chars[i]]
    return "".join(chars), "rrn_ocr"


def account(rng: random.Random) -> str:
    return rng.choice([
        f"{digits(rng, 6)}-{digits(rng, 2)}-{digits(rng, 6)}", f"110-{digits(rng, 3)}-{digits(rng, 6)}",
        f"1002-{digits(rng, 3)}-{digits(rng, 6)}", f"3333-{digits(rng, 2)}-{digits(rng, 7)}",
        f"302-{digits(rng, 4)}-{digits(rng, 4)}-{digits(rng, 2)}",
    ])


def timestamp(rng: random.Random) -> str:
    y, mo, d = rng.randint(2019, 2025), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    return rng.choice([f"{y}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}", f"{y}.{mo:02d}.{d:02d} {h:02d}:{mi:02d}",
                       f"{y}/{mo:02d}/{d:02d} {h:02d}:{mi:02d}:{s:02d}", f"{y}{mo:02d}{d:02d} {h:02d}{mi:02d}{s:02d}",
                       f"{y} {mo:02d} {d:02d} {h:02d}:{mi:02d}"])


def email(rng: random.Random, who: str = "") -> str:
    user = rng.choice(["hong", "kim.ms", "jiwoo", "sy.lee", "park_01", "cs.team", "admin", "minjun"]) + digits(rng, 2)
    return f"{user}@{rng.choice(['naver.com', 'gmail.com', 'daum.net', 'kakao.com', 'company.co.kr', 'hanmail.net'])}"


def public_ip(rng: random.Random) -> str:
    return f"{rng.choice([rng.randint(11, 126), rng.randint(128, 223)])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def private_ip(rng: random.Random) -> str:
    return rng.choice([f"192.168.{rng.randint(0, 20)}.{rng.randint(2, 254)}", f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}",
                       f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"])


def version(rng: random.Random) -> str:
    return f"{rng.randint(1, 21)}.{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(1, 300)}"


DISTRICTS = ["서울특별시 강남구", "서울 종로구", "서울시 마포구", "경기도 성남시 분당구", "부산광역시 해운대구",
             "인천 남동구", "대구 수성구", "서울 중구", "경기 수원시 영통구", "광주광역시 서구", "대전 유성구"]
ROADS = ["테헤란로", "세종대로", "판교역로", "올림픽로", "해운대해변로", "중앙로", "월드컵북로", "도산대로",
         "봉은사로", "동판교로177번길", "테헤란로7길", "을지로", "청계천로", "반포대로", "광평로", "대학로"]
NUMBERED_AREAS = ["종로5가", "을지로3가", "충무로2가", "남대문로5가", "종로3가"]
LOTS = ["역삼동", "삼성동", "우동", "서교동", "정자동", "대치동", "봉천동"]
BUILDINGS = ["현대아파트", "래미안아파트", "한신오피스텔", "삼성타워", "명동빌딩", "일신빌딩", "만수빌라", "천일상가",
             "원효맨션", "롯데캐슬", "아이파크", "푸르지오"]
COUNTERS = ["2차", "3단지", "1단지", "5차", "2단지"]


def address(rng: random.Random) -> tuple[str, str, str]:
    """(district, value, tag): the value is what follows the district (the span we scrub)."""
    district = rng.choice(DISTRICTS)
    kind = rng.choice(["road", "road", "road_building", "numbered_building", "unit_comma", "lot", "numbered_road"])
    num = str(rng.randint(1, 420))
    unit = f"{rng.randint(101, 115)}동 {rng.randint(101, 2304)}호"
    if kind == "road":
        return district, f"{rng.choice(ROADS)} {num}", "address"
    if kind == "road_building":
        return district, f"{rng.choice(ROADS)} {num} {rng.choice(BUILDINGS)}", "address_building"
    if kind == "numbered_building":
        return district, f"{rng.choice(ROADS)} {num} {rng.choice(COUNTERS)} {rng.choice(BUILDINGS)} {unit}", \
            "address_numbered_building"
    if kind == "unit_comma":
        tail = rng.choice([f", {unit}", f", {rng.randint(101, 1505)}호"])
        return district, f"{rng.choice(ROADS)} {num}{tail}", "address_unit_comma"
    if kind == "numbered_road":
        return district, f"{rng.choice(NUMBERED_AREAS)} {num}-{rng.randint(1, 40)}", "address_numbered_road"
    return district, f"{rng.choice(LOTS)} {num}-{rng.randint(1, 99)}", "address"
