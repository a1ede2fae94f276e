"""Word lists and cue words for Korean name detection (data only; used by ``names`` and ``patterns``)."""

from __future__ import annotations

NAME_CUES: tuple[str, ...] = ("label", "honorific", "rank", "professional", "byline")
DEFAULT_NAME_CUES: tuple[str, ...] = ("label", "honorific", "rank", "professional")

#: Two-syllable surnames (checked before single-syllable ones).
SURNAMES_2 = frozenset("남궁 황보 제갈 선우 독고 사공 서문 동방 남곽 망절".split())
#: Single-syllable surnames: the ~80 most common, ~99 % of the population.
SURNAMES_1 = frozenset(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함"
    "변염여추도소석선설마길연위표명기반라왕금옥육인맹제모탁국어은편용예경봉")
#: Syllables common in given names: cues weaker than ``label:`` need every given syllable from here.
GIVEN_SYLLABLES = frozenset(
    "가각간갑강개건걸겸경계고곤공관광교구국군권규균근금기길나난남녀노늘다단달담대덕도돈동두득라란람랑래"
    "려련렬령례로록론룡루류륜률름리린림립마만매명모목몽무묵문미민밀바박반방배백범법벽별병보복본봉부분비빈빛"
    "사산삼상새샘생서석선설섭성세소솔송수숙순숭슬승시식신실심아안애야양언업엽여연열염영예오옥온완왕요욱용우"
    "운울웅원월위유육윤율융은을음응의이익인일임자장재저전정제조종주준중지직진찬창채천철청초총추춘충치칠탁태택"
    "평표풍필하학한함해행향헌혁현협형혜호홍화환활황회효후훈휘흠흥희"
    "누겨레롱잎옹봄솜름람별늘결빛샘얼")  # native-Korean names (보람, 누리, 겨레, 초롱, 솔잎)
#: Words of name shape that are ordinary nouns, most of them seen right before 님/씨 or a title.
NOT_NAMES = frozenset("""
고객 선생 이모 고모 주인 공주 왕자 하나 하느 임금 조상 신부 기사 강사 반장 소장 국장 차장 원장 부장 이사
사장 회장 교장 방장 사모 부모 장모 장인 조카 손자 손녀 동생 언니 오빠 누나 형수 제수 어머 아버 할머 유저
구독 이웃 회원 작가 교수 박사 석사 의사 간호 약사 대리 주임 과장 팀장 실장 전무 상무 감독 코치 선수 관리자
운영자 진행자 담당자 전문가 주민 시민 국민 여러분 우리 저희 모두 다들 남편 아내 부인 신랑 도련 아가 아기
학생 학부모 직원 사원 인턴 선임 책임 수석 이사장 조합장 형님 동지 전하 대감 영감 정도 이제 전화 문의 정말
안녕 감사 진심 고생 수고 조언 도움 주문 배송 상담 안내 확인 연락 민원 신청 이번 지난 다음 위원 의원 대표
성도 신도 장로 권사 집사 목사 전도사 수녀 주지 보호자 신청인 수령인 예금주 작성자 환자 가족 부모님 선배
후배 동기 친구 지인 연인 애인 남친 여친 형제 자매 남매 본인 당사자 상대 상대방 주최 주관 주민센터
이후 이전 이상 이하 이외 이내 이용 이유 이름 이해 이미 정보 정리 전체 전부 전국 진행 유지 유형 우선 우편
주소 주의 주요 주간 한번 한국 한편 조회 조건 조정 성공 성별 신규 신고 기존 기간 기본 기타 고유 고정 공유
공지 공개 안전 안정 연결 문자 문서 변경 변화 방문 방법 배정 서명 소개 송금 수정 수신 시간 시작 양식 여부
오늘 오전 오후 완료 원본 은행 인증 임시 장소 전송 전달 접수 제출 제목 조사 종류 지정 지급 직접 진단 차량
채용 처리 최종 추가 표시 필수 하단 해당 현재 현금 형식 홍보 확정 황금 예정 예약 예금 명의 명단 명시 남성
여성 남자 여자 모집 목록 본문 부서 비고 상태 상세 선택 설명 성인 소속 승인 실명 심사 양도 연도 영업 용도
운영 원래 위치 유의 응답 의견 인원 일반 일정 자동 자료 작성 장기 재직 전자 정상 제공 조합 중요 지역 지원
직위 직급 천원 최대 최소 추후 한도 합계 항목 허가 현황 혜택 이자 하고 선교사 선장 기자 용사 마루 가수 배우 연기 주연 조연 연출 연락처 미정 미상 무명 익명 비공개 없음 모름 동일 공장 마음 원내 문학 민주 국회 정당 본부 지점 회사 학교 병원
""".split())
#: Particles and copulas that may follow a name (longest first); they stay outside the span.
PARTICLES = tuple(sorted(set("""
이 가 은 는 을 를 의 에게 께서 께 도 와 과 랑 이랑 한테 에게서 이가 이는 이를 이의 이와 이도 이다 이고
입니다 이에요 이었다 이며 이나 로 으로 에 만 야 아 님 씨 님께 님이 님의 님은 님을 씨가 씨는 씨의 씨를 외
""".split()), key=len, reverse=True))


LABELS = ("성명|이름|성함|담당자|예금주|작성자|신청인|신청자|보호자|수령인|수령자|수취인|받는\\s?분|"
           "보내는\\s?분|고객명|주문자|구매자|입금자|송금인|예약자|가입자|계약자|임차인|임대인|의뢰인|피보험자|"
           "세대주|참석자|지원자|환자명|문의자|상담원|배송기사|면접관|추천인|보낸\\s?분|입금자명|대리인|신고인|"
          "피해자|학생명|담당(?=\\s*[:：])")
HONORIFICS = "고객님|회원님|선생님|어머님|아버님|님|씨"
RANKS = "본부장|과장|부장|팀장|차장|대리|주임|사원|실장|매니저|선임|책임|수석|인턴|상무|전무|센터장|지점장|점장"
PROFESSIONAL = "교수|대표|원장|사장|회장|이사|변호사|세무사|노무사|간호사|약사|원무과장"
BYLINE = "기자|특파원"
#: RE2 prefilter for the stage: documents without any cue word hold no name.
_LABELS_RE2 = LABELS.replace("(?=\\s*[:：])", "\\s*[:：]")  # RE2 has no look-ahead
NAME_PREFILTER = (f"(?:{_LABELS_RE2})|[가-힣]\\s?(?:\\([^)]{{1,8}}\\)\\s?)?"
                  f"(?:{HONORIFICS}|{RANKS}|{PROFESSIONAL}|{BYLINE})")
