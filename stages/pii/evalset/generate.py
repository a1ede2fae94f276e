"""A deterministic set of realistic Korean documents with gold PII spans and labelled hard negatives.

Ten genres (customer-service chats, shopping orders, bank notices, IT logs, real-estate listings,
HR forms, news, community posts, OCR'd forms, encyclopedia text), each a template with random
wording, values and order. Every PII value is a gold span ``(start, end, type, tag)``; every
look-alike that must stay is a trap ``(start, end, tag)``. Tags name the case (``phone_middot``,
``rrn_shaped_order`` ...) so results can be read per class.

Limits: the text is written by the same project that writes the detectors, from templates; it is
varied and covers each known failure class, but it is not a sample of the web.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from stages.pii.evalset import values as V


@dataclass
class EvalDoc:
    genre: str
    text: str = ""
    gold: list[tuple[int, int, str, str]] = field(default_factory=list)
    traps: list[tuple[int, int, str]] = field(default_factory=list)

    def t(self, s: str) -> EvalDoc:
        """Append plain text."""
        self.text += s
        return self

    def p(self, value: str, pii_type: str, tag: str = "") -> EvalDoc:
        """Append a PII value (gold span)."""
        self.gold.append((len(self.text), len(self.text) + len(value), pii_type, tag or pii_type))
        self.text += value
        return self

    def n(self, value: str, tag: str) -> EvalDoc:
        """Append a look-alike that must not be scrubbed (trap)."""
        self.traps.append((len(self.text), len(self.text) + len(value), tag))
        self.text += value
        return self


def _topic(word: str) -> str:
    """The topic particle that fits ``word`` (은 after a final consonant, 는 after a vowel)."""
    last = word[-1]
    return "은" if "가" <= last <= "힣" and (ord(last) - 0xAC00) % 28 else "는"


def _phone(d: EvalDoc, rng: random.Random, style: str | None = None) -> None:
    v, st = V.phone(rng, style)
    d.p(v, "phone", f"phone_{st}")


def _address(d: EvalDoc, rng: random.Random) -> None:
    district, v, tag = V.address(rng)
    d.t(district + " ").p(v, "address", tag)


def customer_chat(rng: random.Random) -> EvalDoc:
    d = EvalDoc("cs_chat")
    agent, cust = V.name(rng), V.name(rng)
    d.t(f"[{rng.choice(['상담사', '상담원'])}] 안녕하세요, 고객센터 상담원 ").p(agent, "name", "name_label").t("입니다.\n")
    d.t("[고객] 주문한 상품이 아직 안 와서요. 주문번호 ").n(V.rrn_shaped_order(rng), "rrn_shaped_order").t(" 입니다.\n")
    d.t("[상담원] 확인해 보겠습니다. ").p(cust, "name", "name_honorific").t(rng.choice([" 고객님", "님", " 고객님"]))
    d.t(rng.choice([", 연락 가능한 번호 남겨주시겠어요?\n", " 맞으신가요? 연락처 확인 부탁드립니다.\n"]))
    d.t("[고객] ")
    _phone(d, rng, rng.choice(["middot", "space", "dot", "paren", "spaced_hyphen", "hyphen"]))
    d.t(" 이요. 배송지는 ")
    _address(d, rng)
    d.t(rng.choice([" 입니다.\n", " 이에요.\n"]))
    d.t("[상담원] 운송장번호 ").n(V.digits(rng, 12), "waybill").t(rng.choice([" 로 조회됩니다. ", "로 확인됩니다. "]))
    d.t(f"{rng.randint(1, 3)}일 내 도착 예정입니다. 상담 시각 ").n(V.timestamp(rng), "timestamp").t("\n")
    if rng.random() < 0.5:
        d.t("[상담원] 담당 기사님 번호는 ")
        _phone(d, rng, "hyphen")
        d.t(" 입니다. 대표번호 ").n(rng.choice(["1588-1234", "1577-0000", "1644-5678"]), "business_phone").t(" 로도 문의 가능합니다.")
    return d


def shopping_order(rng: random.Random) -> EvalDoc:
    d = EvalDoc("shopping_order")
    d.t("[주문 완료 안내]\n주문번호: ").n(V.rrn_shaped_order(rng), "rrn_shaped_order").t("\n")
    d.t(f"상품명: {rng.choice(['무선 이어폰', '캠핑 의자', '유기농 쌀 10kg', '노트북 파우치'])} x{rng.randint(1, 3)}\n")
    d.t(f"결제금액: {rng.randint(9, 300)},{rng.randint(100, 999)}원\n")
    d.t(rng.choice(["수령인: ", "받는 분: ", "수취인 "])).p(V.name(rng), "name", "name_label").t("\n연락처: ")
    _phone(d, rng, rng.choice(["hyphen", "masked", "middot", "hyphen"]))
    d.t("\n배송지: ")
    _address(d, rng)
    d.t(f"\n{rng.choice(['운송장번호', '송장번호'])}: ").n(
        rng.choice([V.rrn_shaped_order(rng), V.digits(rng, 12), f"{V.digits(rng, 4)}-{V.digits(rng, 4)}-{V.digits(rng, 4)}"]),
        "rrn_shaped_order" if rng.random() < 0.5 else "waybill")
    d.t("\nInvoice No. ").n(V.rrn_shaped_order(rng), "rrn_shaped_order").t("\n")
    d.t("배송 메모: 부재 시 문 앞에 놓아주세요.")
    return d


def bank_notice(rng: random.Random) -> EvalDoc:
    d = EvalDoc("bank_notice")
    bank = rng.choice(["신한은행", "KB국민은행", "우리은행", "하나은행", "카카오뱅크", "토스뱅크", "NH농협"])
    d.t(f"[{bank}] 입금 알림\n").n(V.timestamp(rng), "timestamp_bank").t("\n")
    d.t(f"입금 {rng.randint(1, 999)},{rng.randint(100, 999)}원\n입금계좌 ").p(V.account(rng), "bank_account").t("\n")
    d.t("예금주 ").p(V.name(rng), "name", "name_label").t("\n")
    d.t("보낸분 ").p(V.name(rng), "name", "name_label").t(f"\n잔액 {rng.randint(1, 9)},{rng.randint(100, 999)},{rng.randint(100, 999)}원\n")
    d.t(rng.choice(["카카오톡 ", "카톡 알림 ", "토스 "])).n(V.timestamp(rng), "timestamp_messenger").t(" 메시지가 도착했습니다.")
    return d


def it_log(rng: random.Random) -> EvalDoc:
    d = EvalDoc("it_log")
    prod = rng.choice(["OpenJDK", "Node.js", "Python", "PostgreSQL", "Redis", "nginx", "Chrome", ".NET Runtime"])
    d.t("2024-05-02 10:12:33 INFO  server started, ").n(f"{prod} {V.version(rng)}", "version_product").t("\n")
    d.t("2024-05-02 10:12:34 INFO  runtime version ").n(V.version(rng), "version_word").t("\n")
    d.t("2024-05-02 10:12:35 INFO  펌웨어 버전: ").n(V.version(rng), "version_word").t(", 빌드 ").n(
        f"v{V.version(rng)}", "version_word").t("\n")
    d.t("2024-05-02 10:13:01 WARN  login failed for user admin from ")
    port = rng.random() < 0.5
    d.p(V.public_ip(rng) + (f":{rng.randint(1024, 65535)}" if port else ""), "ip", "ip_port" if port else "ip")
    d.t("\n")
    d.t("2024-05-02 10:13:05 INFO  upstream ").p(f"{V.private_ip(rng)}:{rng.choice([80, 443, 8080, 5432, 6379])}", "ip", "ip_port").t(" ok\n")
    d.t("2024-05-02 10:13:07 INFO  DNS ").p(rng.choice(["8.8.8.8", "1.1.1.1", "8.8.4.4", "9.9.9.9"]), "ip", "ip_single_digit").t(" 응답 정상\n")
    d.t("2024-05-02 10:13:09 DEBUG inet6 ").p(rng.choice(["fe80::1", "2001:db8::", "fe80::a1b2", "2001:db8::1"]), "ip", "ipv6_short")
    d.t(" / loopback ").n(rng.choice(["::1", "127.0.0.1"]), "loopback").t("\n")
    d.t("2024-05-02 10:13:11 INFO  device ").n(f"SN{rng.randint(11, 26)}-{V.digits(rng, 2)}-{V.digits(rng, 6)}-{V.digits(rng, 2)}", "serial_code")
    d.t(" model ").n(f"A{rng.randint(11, 26)}-{V.digits(rng, 2)}-{V.digits(rng, 6)}-{V.digits(rng, 2)}B", "serial_code").t("\n")
    if rng.random() < 0.5:
        d.t("2024-05-02 10:14:00 INFO  alert mail sent to ").p(V.email(rng), "email").t("\n")
    return d


def real_estate(rng: random.Random) -> EvalDoc:
    d = EvalDoc("real_estate")
    d.t(f"[매매] {rng.choice(['역세권', '남향', '올수리', '급매'])} {rng.randint(18, 45)}평, {rng.randint(3, 20)}억 {rng.randint(0, 9)}천\n")
    d.t("소재지: ")
    _address(d, rng)
    d.t(f"\n{rng.randint(2, 25)}층/{rng.randint(15, 35)}층, 준공 {rng.randint(1990, 2022)}년, 지하철역 도보 {rng.randint(3, 15)}분\n")
    agent = V.name(rng)
    d.t(f"{rng.choice(['행복', '미래', '한빛', '으뜸'])}공인중개사사무소 ").p(agent, "name", "name_professional").t(" 대표\n")
    d.t("문의 ")
    _phone(d, rng, rng.choice(["hyphen", "landline", "middot", "space"]))
    d.t("\n인근: 서울 강남구 테헤란로에서 5분 거리, 학교 3개")
    return d


def hr_form(rng: random.Random) -> EvalDoc:
    d = EvalDoc("hr_form")
    d.t("입사지원서\n성명: ").p(V.name(rng), "name", "name_label").t("\n")
    d.t("주민등록번호: ").p(V.rrn(rng), "rrn").t("\n휴대폰: ")
    _phone(d, rng)
    d.t("\n이메일: ").p(V.email(rng), "email").t("\n주소: ")
    _address(d, rng)
    d.t("\n비상연락처(보호자): ").p(V.name(rng), "name", "name_label").t(" / ")
    _phone(d, rng, "hyphen")
    d.t(f"\n지원부문: {rng.choice(['데이터 엔지니어', '회계', '영업관리'])}  추천인: ")
    d.p(V.name(rng), "name", "name_rank").t(f" {rng.choice(['과장', '팀장', '부장', '대리'])}\n")
    d.t("작성일: ").n(f"{rng.randint(2020, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "date")
    d.t("\n면접관: ").p(V.name(rng), "name", "name_label").t(", ").p(V.name(rng), "name", "name_label")
    return d


def news(rng: random.Random) -> EvalDoc:
    d = EvalDoc("news")
    fig, title = rng.choice([f for f in V.PUBLIC_FIGURES if f[1]])
    reporter = V.name(rng)
    d.t("(서울=연합뉴스) ").n(reporter, "byline").t(" 기자 = ")
    d.n(fig, "public_figure").t(f" {title}{_topic(title)} {rng.randint(1, 28)}일 기자회견에서 \"민생 회복에 총력을 다하겠다\"고 밝혔다.\n")
    fig2, title2 = rng.choice([f for f in V.PUBLIC_FIGURES if f[1] and f[0] != fig])
    d.t("이에 대해 ").n(fig2, "public_figure").t(f" {title2}는 \"구체적인 계획이 필요하다\"고 말했다.\n")
    expert = V.name(rng)
    d.t(f"{rng.choice(['서울대', '고려대', '카이스트'])} ").n(expert, "public_expert").t(" 교수는 \"시장 반응을 지켜봐야 한다\"고 분석했다.\n")
    if rng.random() < 0.7:
        private, age = V.name(rng), rng.randint(25, 78)
        d.t(f"한편 {rng.choice(['서울 마포구', '부산 해운대구', '경기 수원시'])}에 사는 ").p(private, "name", "name_news_private")
        d.t(f"({age})씨는 \"생활비 부담이 크다\"고 전했다.\n")
    d.t("/ ").n(reporter, "byline").t(" 기자 ").p(V.email(rng), "email")
    return d


def community_post(rng: random.Random) -> EvalDoc:
    d = EvalDoc("community")
    d.t(f"제목: {rng.choice(['중고거래 사기 조심하세요', '택배 분실 후기', '개인정보 유출된 것 같아요'])}\n")
    d.t("작성자: ").p(V.name(rng), "name", "name_label").t(f" | 조회 {rng.randint(10, 9999)}\n")
    d.t("판매자가 알려준 번호가 ")
    _phone(d, rng, "masked")
    d.t(" 이었고 (마지막 자리 가림), 주민번호도 ").p(V.masked_rrn(rng), "rrn", "rrn_masked").t(" 이렇게 보냈더라고요.\n")
    d.t("입금은 ").p(V.account(rng), "bank_account").t(f" {rng.choice(['국민은행', '신한', '카카오뱅크'])}으로 했습니다.\n")
    d.t(f"{rng.choice(['다들', '여러분'])} 조심하세요. 혹시 같은 사람한테 당하신 분은 ")
    _phone(d, rng, rng.choice(["space", "dot", "middot"]))
    d.t(" 로 연락 주세요. 댓글: ").p(V.name(rng), "name", "name_honorific").t("님 힘내세요 ㅠㅠ\n")
    d.t(f"({rng.randint(2020, 2025)}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d} 작성)")
    return d


def ocr_form(rng: random.Random) -> EvalDoc:
    d = EvalDoc("ocr_form")
    d.t("진 료 비  영 수 증\n환자명: ").p(V.name(rng), "name", "name_label").t("\n")
    v, tag = V.ocr_rrn(rng)
    d.t(rng.choice(["주민등록번호 ", "주민등록번호: ", "주민번호 "])).p(v, "rrn", tag).t("\n")
    d.t(f"진료기간 2024.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d}  진료과 {rng.choice(['내과', '정형외과', '피부과'])}\n")
    d.t("연 락 처 : ")
    _phone(d, rng, rng.choice(["middot", "spaced_hyphen", "paren", "space"]))
    d.t("\n영수증번호 ").n(V.rrn_shaped_order(rng), "rrn_shaped_order")
    d.t(f"\n합계 {rng.randint(10, 300)},{rng.randint(100, 999)}원  담당: ").p(V.name(rng), "name", "name_label")
    return d


def encyclopedia(rng: random.Random) -> EvalDoc:
    d = EvalDoc("encyclopedia")
    figs = rng.sample(V.PUBLIC_FIGURES, 3)
    for fig, title in figs:
        head = fig + (" " + title if title else "")
        d.n(fig, "public_figure").t(head[len(fig):] + rng.choice(
            [f"{_topic(head)} 역사에 이름을 남겼다. ", f"{_topic(head)} 대한민국의 인물이다. ",
             "의 생애는 여러 책에서 다루어졌다. "]))
    d.t(f"\n{rng.randint(1392, 1910)}년에 편찬된 기록에 따르면 인구는 약 {rng.randint(1, 900)}만 명이었다. ")
    d.t("ISBN ").n(f"978-89-{V.digits(rng, 4)}-{V.digits(rng, 3)}-{V.digits(rng, 1)}", "isbn").t(". ")
    d.t("좌표: ").n(f"37.{V.digits(rng, 4)}, 126.{V.digits(rng, 4)}", "coordinate").t("\n")
    return d


GENRES: dict[str, Callable[[random.Random], EvalDoc]] = {
    "cs_chat": customer_chat, "shopping_order": shopping_order, "bank_notice": bank_notice, "it_log": it_log,
    "real_estate": real_estate, "hr_form": hr_form, "news": news, "community": community_post,
    "ocr_form": ocr_form, "encyclopedia": encyclopedia,
}


def generate(n_per_genre: int = 36, seed: int = 0) -> list[EvalDoc]:
    """``n_per_genre`` documents of every genre; the same seed gives the same documents."""
    docs = []
    for genre, fn in GENRES.items():
        rng = random.Random(f"{seed}-{genre}")
        docs.extend(fn(rng) for _ in range(n_per_genre))
    return docs
