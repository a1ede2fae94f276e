"""Generated documents for the default quality model and the quality benchmarks.

Clean documents are prose assembled from a small Korean/English grammar (subjects, objects, verbs
with correct particles and endings, connectives, dates). Low-quality documents imitate what a web
crawl returns besides prose: gambling/adult/loan spam with phone numbers, keyword-stuffed SEO lines,
navigation and footer boilerplate, product/price lists, repeated blocks, and symbol noise.
Everything is a pure function of the seed.
"""

from __future__ import annotations

import numpy as np

# --- Korean grammar ---------------------------------------------------------------------------------

_KO_SUBJECTS = ["정부", "연구팀", "시민", "학생", "회사", "위원회", "지방자치단체", "전문가", "기업", "대학",
                "관계자", "소비자", "주민", "교육청", "연구소", "박물관", "도서관", "병원", "농민", "작가"]
_KO_OBJECTS = ["정책", "보고서", "계획", "프로그램", "제도", "연구 결과", "교육 과정", "지원 사업", "환경 문제",
               "지역 경제", "문화 행사", "기술 개발", "안전 대책", "공공 서비스", "역사 자료", "의료 체계",
               "교통 시설", "농업 기술", "전시회", "자료집"]
_KO_VERBS = ["발표했다", "설명했다", "추진하고 있다", "검토했다", "마련했다", "소개했다", "강조했다",
             "진행했다", "분석했다", "발표했습니다", "진행하고 있습니다", "확대할 계획이다", "개선해야 한다",
             "준비하고 있다", "공개했다", "제안했다", "평가했다", "논의했다"]
_KO_TIMES = ["지난해", "올해", "최근", "이번 달", "다음 달부터", "지난주", "오는 하반기에", "매년"]
_KO_CONNECT = ["또한", "한편", "이에 따라", "그러나", "특히", "이와 함께", "아울러", "따라서"]
_KO_ADJ = ["새로운", "다양한", "중요한", "지속 가능한", "효과적인", "구체적인", "공정한", "안전한"]
_KO_PLACES = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기도", "강원도", "제주도"]
_KO_REASONS = ["주민들의 생활 여건을 개선하기 위해", "지역 사회의 요구에 따라", "관련 법령이 바뀌면서",
               "전문가들의 의견을 반영하여", "예산이 늘어남에 따라", "국제 기준에 맞추기 위해"]


def _batchim(word: str) -> bool:
    c = ord(word[-1])
    return 0xAC00 <= c <= 0xD7A3 and (c - 0xAC00) % 28 != 0


def _p(word: str, with_b: str, without_b: str) -> str:
    return word + (with_b if _batchim(word) else without_b)


def _ko_sentence(rng: np.random.Generator) -> str:
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    subj, obj, verb = pick(_KO_SUBJECTS), pick(_KO_OBJECTS), pick(_KO_VERBS)
    kind = int(rng.integers(5))
    if kind == 0:
        s = f"{pick(_KO_TIMES)} {_p(pick(_KO_PLACES), '의', '의')} {_p(subj, '은', '는')} {pick(_KO_ADJ)} {_p(obj, '을', '를')} {verb}"
    elif kind == 1:
        s = f"{_p(subj, '은', '는')} {pick(_KO_REASONS)} {_p(obj, '을', '를')} {verb}"
    elif kind == 2:
        y, m = int(rng.integers(2015, 2026)), int(rng.integers(1, 13))
        s = f"{y}년 {m}월 {_p(subj, '이', '가')} {pick(_KO_PLACES)}에서 {_p(obj, '과', '와')} 관련된 {pick(_KO_ADJ)} 방안을 {verb}"
    elif kind == 3:
        s = f"{pick(_KO_CONNECT)} {_p(obj, '은', '는')} {pick(_KO_ADJ)} 변화를 가져올 것으로 기대된다"
    else:
        n = int(rng.integers(2, 90))
        s = f"{_p(subj, '에', '에')} 따르면 약 {n}%의 {_p(pick(_KO_SUBJECTS), '이', '가')} {_p(obj, '에', '에')} 만족했다"
    return s + "."


def clean_korean(rng: np.random.Generator) -> str:
    paras = []
    for _ in range(int(rng.integers(3, 7))):
        paras.append(" ".join(_ko_sentence(rng) for _ in range(int(rng.integers(2, 5)))))
    return "\n".join(paras)


# --- English grammar --------------------------------------------------------------------------------

_EN_SUBJECTS = ["The city council", "A research team", "The company", "Local residents", "The committee",
                "Several experts", "The university", "The museum", "Farmers in the region", "The hospital"]
_EN_VERBS = ["announced", "reviewed", "described", "published", "supported", "criticised", "expanded",
             "introduced", "evaluated", "discussed"]
_EN_OBJECTS = ["a new transport plan", "the annual report", "a program for young workers", "the budget proposal",
               "an exhibition of early photographs", "the results of a long study", "a safety policy",
               "the water supply project", "a training course", "the housing strategy"]
_EN_TAILS = ["after months of public debate", "with the help of volunteers", "to address rising costs",
             "in response to community feedback", "despite some concerns about funding",
             "as part of a wider effort to improve services", "that will be tested next year"]
_EN_CONNECT = ["However,", "In addition,", "Meanwhile,", "As a result,", "According to officials,", "For example,"]


def _en_sentence(rng: np.random.Generator) -> str:
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    s = f"{pick(_EN_SUBJECTS)} {pick(_EN_VERBS)} {pick(_EN_OBJECTS)} {pick(_EN_TAILS)}."
    if rng.random() < 0.35:
        s = f"{pick(_EN_CONNECT)} {s[0].lower()}{s[1:]}"
    return s


def clean_english(rng: np.random.Generator) -> str:
    paras = []
    for _ in range(int(rng.integers(3, 7))):
        paras.append(" ".join(_en_sentence(rng) for _ in range(int(rng.integers(2, 5)))))
    return "\n".join(paras)


# --- Low-quality pages ------------------------------------------------------------------------------

_SPAM_WORDS = ["토토사이트", "안전놀이터", "메이저놀이터", "먹튀검증", "카지노사이트", "바카라사이트", "온라인카지노",
               "스포츠토토", "파워볼", "슬롯사이트", "출장안마", "출장마사지", "조건만남", "무직자대출", "당일대출",
               "소액대출", "개인돈대출", "신용불량자대출", "가입머니", "꽁머니", "첫충 10%", "실시간 배팅"]
_SPAM_PHRASES = ["최고의 환전 속도 보장", "24시간 상담 가능", "지금 바로 가입하세요", "무조건 승인", "신규 회원 이벤트",
                 "안전한 이용 보장", "당일 지급", "문의 환영", "최저 금리", "비밀 보장"]
_NAV = ["홈", "회사소개", "고객센터", "공지사항", "로그인", "회원가입", "이용약관", "개인정보처리방침", "사이트맵",
        "장바구니", "마이페이지", "이벤트", "자주 묻는 질문", "Home", "About", "Contact", "Login", "Sign up"]
_PRODUCTS = ["무선 이어폰", "블루투스 스피커", "여성 니트", "남성 운동화", "유기농 사과", "캠핑 의자", "보조배터리",
             "기계식 키보드", "텀블러", "가습기"]


def _phone(rng: np.random.Generator) -> str:
    return f"010-{int(rng.integers(1000, 10000))}-{int(rng.integers(1000, 10000))}"


def spam_page(rng: np.random.Generator) -> str:
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    phone = _phone(rng)
    lines = []
    for _ in range(int(rng.integers(8, 20))):
        kind = int(rng.integers(3))
        if kind == 0:
            lines.append(" ".join(pick(_SPAM_WORDS) for _ in range(int(rng.integers(3, 8)))))
        elif kind == 1:
            lines.append(f"{pick(_SPAM_WORDS)} {pick(_SPAM_PHRASES)} ☎ {phone}")
        else:
            lines.append(f"{pick(_SPAM_PHRASES)}! {pick(_SPAM_WORDS)} 텔레그램 문의 {phone}")
    return "\n".join(lines)


def spam_prose(rng: np.random.Generator) -> str:
    """Spam dressed as prose: real sentences around keyword blocks and a repeated contact line."""
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    phone = _phone(rng)
    paras = []
    for _ in range(int(rng.integers(4, 8))):
        sent = " ".join(_ko_sentence(rng) for _ in range(int(rng.integers(1, 3))))
        kw = " ".join(pick(_SPAM_WORDS) for _ in range(int(rng.integers(2, 5))))
        paras.append(f"{kw} {sent} {pick(_SPAM_PHRASES)} {phone}")
    return "\n".join(paras)


def boilerplate_page(rng: np.random.Generator) -> str:
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    nav = " | ".join(pick(_NAV) for _ in range(int(rng.integers(5, 10))))
    lines = [nav]
    for _ in range(int(rng.integers(6, 16))):
        lines.append(f"{pick(_PRODUCTS)} {int(rng.integers(1, 100)) * 1000:,}원 무료배송")
    lines += [nav, "Copyright © 2024 All rights reserved.", "사업자등록번호 123-45-67890 | 대표 홍길동",
              f"고객센터 {_phone(rng)}", nav]
    return "\n".join(lines)


def repeated_page(rng: np.random.Generator) -> str:
    block = clean_korean(rng).split("\n")[0]
    extra = clean_korean(rng).split("\n")[0]
    return "\n".join([block] * int(rng.integers(3, 7)) + [extra])


def noise_page(rng: np.random.Generator) -> str:
    symbols = list("★☆♥♡◆◇■□▶▷※#@!?~^*-=+|/…")
    lines = []
    for _ in range(int(rng.integers(5, 20))):
        lines.append("".join(symbols[int(rng.integers(len(symbols)))] for _ in range(int(rng.integers(3, 40)))))
    return "\n".join(lines)


def english_boilerplate(rng: np.random.Generator) -> str:
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    nav = " | ".join(pick(_NAV[-5:]) for _ in range(6))
    lines = [nav] + [f"Best {pick(['casino', 'slots', 'loans', 'deals'])} online - click here!"
                     for _ in range(int(rng.integers(4, 10)))]
    lines += ["We use cookies to improve your experience.", "Privacy Policy | Terms of Use", nav]
    return "\n".join(lines)


LOW_QUALITY_KINDS = {
    "spam": spam_page, "spam_prose": spam_prose, "boilerplate": boilerplate_page,
    "repeated": repeated_page, "noise": noise_page,
}


def low_quality_korean(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` generated (kind, text) low-quality Korean pages, kinds in rotation."""
    rng = np.random.default_rng(seed)
    kinds = list(LOW_QUALITY_KINDS)
    return [(kinds[i % len(kinds)], LOW_QUALITY_KINDS[kinds[i % len(kinds)]](rng)) for i in range(n)]


def synthetic_training_set(n_per_class: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Positives (clean Korean and English prose) and negatives (spam, boilerplate, noise)."""
    rng = np.random.default_rng(seed)
    pos = [clean_korean(rng) if i % 3 else clean_english(rng) for i in range(n_per_class)]
    # repeated pages are clean sentences repeated: a bag-of-n-grams model cannot see that (the
    # repetition filter does), so they would only blur the classes
    neg_fns = [f for k, f in LOW_QUALITY_KINDS.items() if k != "repeated"] + [english_boilerplate]
    neg = [neg_fns[i % len(neg_fns)](rng) for i in range(n_per_class)]
    return pos, neg
