"""Korean personal names: cues, particles, public figures, configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.stats import StageStats
from stages.pii import PiiStage, detect, scrub
from stages.pii.names import NameDetector, split_name


def _names(text: str) -> list[str]:
    return [text[s.start:s.end] for s in detect(text, types={"name"})]


@pytest.mark.parametrize(("text", "names"), [
    ("성명: 홍길동", ["홍길동"]),
    ("예금주 홍길동, 입금 확인", ["홍길동"]),
    ("비상연락처(보호자): 김미숙 / 010-1234-5678", ["김미숙"]),
    ("참석자: 김민수, 이영희, 남궁민수", ["김민수", "이영희", "남궁민수"]),
    ("수령인: 황보라", ["황보라"]),
    ("작성자: 김누리 | 조회 12", ["김누리"]),
    ("김지은 고객님, 안녕하세요", ["김지은"]),
    ("김민수님께서 요청하신", ["김민수"]),
    ("댓글: 김빈님 힘내세요", []),  # glued two-syllable words before 님 are mostly nicknames (지연님)
    ("한편 마포구에 사는 홍길동(35)씨는 말했다", ["홍길동"]),
    ("추천인: 김철수 과장", ["김철수"]),
    ("이 건은 박서준 팀장님께 문의", ["박서준"]),
    ("행복공인중개사 최영호 대표 010-1234-5678", ["최영호"]),
    ("김민수 교수님께 메일 드립니다", ["김민수"]),
])
def test_names_found(text: str, names: list[str]) -> None:
    assert _names(text) == names


@pytest.mark.parametrize(("text", "name"), [
    ("담당자 김민수가 연락드립니다", "김민수"),
    ("담당자 김민수는 휴가입니다", "김민수"),
    ("성명: 이지은을 호명", "이지은"),
    ("예금주 박소연의 계좌", "박소연"),
    ("보호자 최민준에게 연락", "최민준"),
    ("신청인: 정하윤께서 제출", "정하윤"),
    ("상담원 김민재입니다", "김민재"),
])
def test_particles_stay_outside(text: str, name: str) -> None:
    assert _names(text) == [name]


def test_names_ending_like_particles_kept_whole() -> None:
    assert split_name("김지은", strict=True) == 3  # 은 is part of the name, not a particle
    assert split_name("김지은이", strict=True) == 3
    assert split_name("김민에게", strict=True) == 2
    assert split_name("남궁민수가", strict=True) == 4


@pytest.mark.parametrize("text", [
    "이순신 장군은 명량에서 승리했다.",
    "세종대왕은 훈민정음을 창제했다.",
    "윤석열 대통령은 기자회견에서 밝혔다.",
    "(서울=연합뉴스) 홍길동 기자 = 이재명 대표는 10일 \"민생\"을 강조했다고 밝혔다.",
    "손흥민 선수가 골을 넣었다.",
    "서울대 김민수 교수는 \"지켜봐야 한다\"고 밝혔다.",
    "이재명 대표는 대한민국의 정치인이다.",
    "날씨가 좋다. 마음씨 고운 솜씨",
    "고객님, 하느님, 선생님, 부모님, 조상님께 감사",
    "담당자 연락처 없음",
    "이름 모를 꽃",
    "문학을 대표하고 공장 사장을 만났다",
    "김씨 성을 가진 사람",
])
def test_public_figures_and_nouns_stay(text: str) -> None:
    assert _names(text) == []


def test_byline_is_opt_in() -> None:
    text = "(서울=연합뉴스) 홍길동 기자 = 발표가 있었다."
    assert _names(text) == []
    assert [text[s.start:s.end] for s in NameDetector(["byline"])(text)] == ["홍길동"]


def test_placeholder_and_stage_config() -> None:
    assert scrub("성명: 홍길동, 연락처 010-1234-5678") == "성명: <|pii:name|>, 연락처 <|pii:phone|>"
    import pyarrow as pa
    batch = pa.table({"text": ["김지은 고객님 성명: 이영희"]})
    out = PiiStage({"name_cues": ["label"]}).process(batch, StageStats("pii"))
    assert out.column("text").to_pylist() == ["김지은 고객님 성명: <|pii:name|>"]
    out = PiiStage({"actions": {"name": "off"}}).process(batch, StageStats("pii"))
    assert out.column("pii_name").to_pylist() == [0]
    with pytest.raises(ValidationError, match="unknown name cues"):
        PiiStage({"name_cues": ["nickname"]})
    with pytest.raises(ValueError, match="unknown name cues"):
        NameDetector(["nickname"])


def test_prefilter_is_sound_for_names() -> None:
    """Skipping documents by the RE2 name prefilter never changes the result."""
    import pyarrow as pa

    from tests.stages.pii.test_pii_cases import FOUND, STAYS
    docs = [t for t, _ in _NAME_TEXTS] + [f[0] for f in FOUND] + STAYS + [
        "담당: 김민수", "담당 : 이영희", "보낸분 김경호", "김지은(28) 씨", "박서준 팀장님", "안녕 김민수님"]
    batch = pa.table({"text": docs})
    fast = PiiStage().process(batch, StageStats("pii"))
    slow = PiiStage({"prefilter": False}).process(batch, StageStats("pii"))
    assert fast.equals(slow)
    assert fast.column("pii_name").to_numpy().sum() >= len(_NAME_TEXTS) + 5


_NAME_TEXTS = [("성명: 홍길동", 1), ("예금주 홍길동, 입금 확인", 1), ("김지은 고객님, 안녕하세요", 1),
               ("홍길동(35)씨는", 1), ("추천인: 김철수 과장", 1), ("참석자: 김민수, 이영희", 2)]
