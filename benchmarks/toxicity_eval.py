"""A Korean toxicity evaluation set written for this project: comments and comment pages.

Three kinds of comment, all hand-written here (no text is copied from elsewhere):

* ``toxic``: profanity, insults and group slurs, a third of them obfuscated (spacing, digits, initials,
  Latin keyboard);
* ``clean``: ordinary comments, many of them negative or angry without abuse;
* ``hard``: clean text that looks toxic to a word list: news and research reporting on hate speech that
  quote a slur, medical and anatomical terms, and homographs (시발점, 병신년, 개 새끼 as a puppy,
  씹어 먹다, 보지 않다, 5개년, 시바견, 3시 발표).

Pages are an article followed by 12 comments, seeded: ``toxic`` pages have 4-8 toxic comments,
``clean`` pages none, ``hard`` pages are reports on hate speech with quoted terms. This is a small,
single-author set: it tests the mechanics and the obvious failure modes, not real-world rates.
"""

from __future__ import annotations

import random

TOXIC = [
    "아 씨발 이게 영화냐 돈 아깝다", "감독 병신인가 이걸 왜 만들었냐", "ㅅㅂ 시간 버렸네 진짜",
    "좆같은 결말 보고 욕 나옴", "주연 배우 연기 개좆망 ㅋㅋ", "이딴 걸 찍은 새끼들 다 미친놈들이다",
    "시1발 끝까지 본 내가 등신이지", "씨-발 광고에 속았다", "개새끼들아 환불해라", "tlqkf 이건 아니지",
    "ㅂㅅ같은 댓글 다는 놈들 뭐냐", "존나 지루해서 잠들었다", "지랄하고 자빠졌네 평점 조작 봐라",
    "니애미 평점 알바들 꺼져라", "씹새끼들이 리뷰 조작하네", "미친년 연기 보다가 토할 뻔",
    "김치녀들이나 좋아할 영화", "한남충 감독이 만든 쓰레기", "틀딱들이 극장 전세 냈더라",
    "짱깨 자본 들어간 영화 거르자", "쪽바리 배우 왜 나오냐", "홍어새끼들 또 몰려와서 별점 테러",
    "급식충들 떠들어서 관람 망침", "맘충이 애 데리고 와서 난리", "깜둥이 배역을 왜 저렇게 썼냐",
    "씨 발 놈 들 아 정신 차려라", "병 신 같은 각본", "ㅆㅂ 다신 안 본다", "개색기들 댓글 알바 티 난다",
    "또라이 감독 다음 작품도 망해라", "찐따 같은 주인공 때문에 답답해 죽겠네", "전라디언들 단체로 왔냐",
    "좆밥 같은 악역 하나도 안 무섭다", "개슬람 테러 영화 만들지 마라", "똥꼬충 영화 누가 보냐",
    "씨바 이 돈이면 치킨을 먹지", "병신새끼들 평점 10점 주지 마라", "메갈년들 별점 테러 수준",
    "꼴페미 영화 거릅니다", "쓰벌 주차비만 날렸다",
]
CLEAN = [
    "연출이 깔끔하고 배우들 연기가 좋았다", "결말이 조금 아쉽지만 볼 만했다", "음악이 장면과 잘 어울렸다",
    "두 시간이 금방 지나갔어요", "가족이랑 보기 좋은 영화입니다", "원작을 읽고 봐서 그런지 더 재밌었다",
    "중반부가 늘어져서 지루했다", "기대보다 별로였어요 다시 보지는 않을 듯", "돈이 아까운 영화다 각본이 엉성하다",
    "광고만 요란하고 내용이 없다", "배우는 좋은데 이야기가 산으로 간다", "이런 영화에 상을 주다니 이해가 안 된다",
    "평점이 너무 높게 나온 것 같다", "후반 반전이 억지스럽다", "조연들 덕분에 그나마 웃었다",
    "촬영지가 아름다워서 여행 가고 싶어졌다", "아이들이 좋아했어요", "자막 번역이 매끄럽지 않았다",
    "극장 음향이 좋아서 몰입이 잘 됐다", "시리즈 중에서 제일 약한 편", "감독 전작이 훨씬 나았다",
    "스토리는 뻔하지만 액션은 시원하다", "화가 날 정도로 답답한 전개였다", "정말 최악이었다 시간 낭비",
    "주인공이 왜 그런 선택을 했는지 모르겠다", "잔잔하고 따뜻한 영화", "엔딩 크레딧 뒤 장면 꼭 보세요",
    "다큐멘터리 같은 느낌이라 호불호가 갈릴 듯", "배경 설명이 부족해서 헷갈렸다", "재개봉하면 또 보러 갈래요",
    "캐릭터들이 하나같이 매력이 없다", "악역이 너무 평면적이다", "분량 조절 실패", "웃기려고 너무 애쓴다",
    "차라리 드라마로 만들었으면 좋았을 것", "의상이랑 미술이 훌륭하다", "연기는 어색한데 노래는 좋다",
    "출발은 좋았는데 뒤로 갈수록 힘이 빠진다", "개발 과정 다큐도 나오면 좋겠다", "오후 3시 발표 보고 예매했어요",
]
HARD = [
    "이번 학기 수업은 시발점부터 다시 정리하는 게 좋겠다", "1966년은 병신년으로 말띠 해였다",
    "우리 집 강아지가 어제 개 새끼를 네 마리 낳았다", "질긴 고기는 꼭꼭 씹어 먹어야 소화가 잘 된다",
    "그 영화는 아직 보지 않았다", "밤새 자지 않고 공부했더니 피곤하다", "정부는 경제개발 5개년 계획을 발표했다",
    "시바견은 일본 원산의 작은 사냥개다", "오후 3시 발표 이후 주가가 올랐다", "다시 발견된 유물은 박물관으로 옮겨졌다",
    "조각가는 등신대 크기의 청동상을 만들었다", "전립선 비대증은 중년 남성에게 흔하다",
    "자궁경부암 검진은 2년마다 받는 것이 좋다", "음경 해면체의 혈류가 줄면 발기부전이 생길 수 있다",
    "질 분비물의 변화는 감염의 신호일 수 있다", "항문 주위 농양은 수술로 치료한다",
    "보고서는 온라인에서 '김치녀' 같은 여성 혐오 표현이 늘고 있다고 지적했다",
    "전문가들은 '틀딱'이라는 표현이 노인 혐오를 부추긴다고 말했다",
    "법원은 특정 지역을 '홍어'에 빗대 비하한 게시물에 모욕죄를 인정했다",
    "인권위는 '짱깨' 등 이주민 비하 표현에 대한 실태 조사를 벌였다",
    "욕설 필터가 '시발점' 같은 단어까지 막는 문제가 제기됐다",
    "소설 속 인물은 분을 못 이겨 땅을 치며 울었다", "그 배우는 악역 연기로 욕을 많이 먹었다",
    "새끼손가락을 걸고 약속했다", "연어가 새끼를 낳으러 강을 거슬러 오른다", "존나이트라는 가수의 공연을 봤다",
    "미친 듯이 달려서 겨우 버스를 탔다", "병신정변 이후 정국이 혼란에 빠졌다",
    "혐오 표현 연구에 따르면 '맘충' 같은 신조어가 2015년 이후 급증했다",
    "장애인 비하 표현인 '병신'의 어원과 사용 실태를 분석한 논문이 나왔다",
]
_ARTICLE = [
    "개봉 첫 주 관객 수가 발표됐다. 배급사는 주말 동안 상영관을 늘릴 계획이라고 밝혔다.",
    "영화제 초청작 목록이 공개됐다. 올해는 신인 감독의 작품이 많이 포함됐다.",
    "새 드라마의 첫 회 시청률이 집계됐다. 제작진은 원작과 다른 결말을 예고했다.",
]
_REPORT = [
    "온라인 혐오 표현 실태 조사 결과가 나왔다. 연구진은 '{a}', '{b}' 같은 표현이 댓글에서 자주 쓰인다고 밝혔다.",
    "국가인권위원회는 '{a}'와 '{b}' 등 특정 집단을 비하하는 말이 늘고 있다며 대책을 권고했다.",
    "언어학자들은 '{a}'라는 말이 처음 쓰인 시기와 '{b}'로 번진 과정을 분석했다.",
]
_SLURS = ["김치녀", "한남충", "틀딱", "맘충", "짱깨", "급식충", "홍어"]


def comments() -> list[dict]:
    """Every comment with its kind and label (1 = toxic)."""
    return ([{"text": t, "kind": "toxic", "label": 1} for t in TOXIC]
            + [{"text": t, "kind": "clean", "label": 0} for t in CLEAN]
            + [{"text": t, "kind": "hard", "label": 0} for t in HARD])


def pages(n_per_kind: int = 40, seed: int = 0) -> list[dict]:
    """Comment pages: an article and 12 comments; hard pages are reports quoting two slurs."""
    rng = random.Random(seed)
    out = []
    for i in range(n_per_kind):
        k = rng.randint(4, 8)
        body = rng.sample(TOXIC, k) + rng.sample(CLEAN, 12 - k)
        rng.shuffle(body)
        out.append({"text": "\n".join([rng.choice(_ARTICLE), *body]), "kind": "toxic", "label": 1})
        out.append({"text": "\n".join([rng.choice(_ARTICLE), *rng.sample(CLEAN, 12)]), "kind": "clean", "label": 0})
        a, b = rng.sample(_SLURS, 2)
        report = rng.choice(_REPORT).format(a=a, b=b)
        extra = rng.sample(HARD + CLEAN, 10)
        out.append({"text": "\n".join([report, *extra]), "kind": "hard", "label": 0, "page": i})
    return out
