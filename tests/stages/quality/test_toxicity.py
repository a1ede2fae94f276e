"""Korean toxicity: lexicon signal with obfuscations and hard negatives, the classifier, the filter."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from core.stage import apply_stage
from core.stats import StageStats
from stages.quality.stage import QualityConfig, QualityStage
from stages.quality.text import split_korean
from stages.quality.toxicity import keyboard_form, load_lexicon, toxicity_signals
from stages.quality.toxicity_model import ToxicityModel, parse_label, train_toxicity_main

OBFUSCATED = ["아 씨발 진짜", "시1발 뭐야", "씨-발 광고에 속았다", "씨 발 놈들아", "ㅅㅂ 짜증나", "ㅆ발 또 지연",
              "tlqkf 이게 뭐냐", "이 개새끼야", "개색기들", "병ㅅ 같은 각본", "ㅂㅅ 인증", "좆같네", "씨**발",
              "김치녀", "한남충들", "틀딱 꺼져라", "짱깨 자본", "qudtls 같은"]
HARD_NEGATIVES = ["강아지가 개 새끼를 네 마리 낳았다", "다시 발견된 유물", "오후 3시 발표", "시발점부터 다시",
                  "1966년은 병신년이다", "경제개발 5개년 계획", "시바견은 사냥개다", "꼭꼭 씹어 먹어라",
                  "영화를 보지 않았다", "밤새 자지 않았다", "전립선 비대증과 자궁경부암 검진", "출발 시간",
                  "개발자 회의", "새끼손가락 약속", "등신대 청동상", "미친 듯이 달렸다"]


def _hits(texts: list[str]) -> np.ndarray:
    return toxicity_signals(pa.array(texts))["toxic_lexicon_hits"]


def test_lexicon_matches_obfuscated_variants() -> None:
    hits = _hits(OBFUSCATED)
    missed = [t for t, h in zip(OBFUSCATED, hits) if h < 1]
    assert not missed
    signals = toxicity_signals(pa.array(["김치녀 한남충 틀딱", "씨발 씨발", ""]))
    assert signals["toxic_hate_hits"].tolist() == [3, 0, 0]
    assert signals["toxic_lexicon_hits"].tolist() == [3, 2, 0]
    assert signals["toxic_lexicon_ratio"].tolist() == [1.0, 1.0, 0.0]
    assert keyboard_form("시발") == "tlqkf"


def test_lexicon_ignores_hard_negatives() -> None:
    flagged = [t for t, h in zip(HARD_NEGATIVES, _hits(HARD_NEGATIVES)) if h]
    assert not flagged


def test_lexicon_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "lex.txt"
    bad.write_text("# comment\n씨발\tswear\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lex.txt:2"):
        load_lexicon(bad)
    assert {t.category for t in load_lexicon()} == {"profanity", "insult", "hate"}


def _page(comments: list[str]) -> str:
    return "\n".join(["개봉 첫 주 관객 수가 발표됐다. 배급사는 주말 동안 상영관을 늘릴 계획이라고 밝혔다.", *comments])


def test_quality_stage_columns_and_conservative_filter() -> None:
    clean = ["연출이 깔끔하고 배우들 연기가 좋았다", "결말이 조금 아쉽지만 볼 만했다", "음악이 장면과 잘 어울렸다",
             "가족이랑 보기 좋은 영화입니다"]
    toxic_page = _page(clean + OBFUSCATED[:8])
    report = _page(clean + ["연구진은 '김치녀' 같은 혐오 표현이 늘고 있다고 밝혔다"])
    stage = QualityStage({"filters": ["toxicity"]})
    res = apply_stage(stage, pa.table({"id": ["a", "b"], "text": [toxic_page, report]}), StageStats("quality"))
    assert res.kept.column("id").to_pylist() == ["b"]
    assert res.rejected.column("reject_reason").to_pylist() == ["toxic_lexicon"]
    assert res.kept.column("toxic_lexicon_hits").to_pylist() == [0.0]  # a quoted mention
    assert res.kept.column("toxicity_score").to_pylist() == [None]  # no model configured
    off = QualityStage({"filters": ["toxicity"], "languages": {"ko": {"toxicity": {"max_lexicon_ratio": None}}}})
    res = apply_stage(off, pa.table({"id": ["a"], "text": [toxic_page]}), StageStats("quality"))
    assert res.kept.num_rows == 1 and res.kept.column("toxic_lexicon_hits").to_pylist()[0] >= 8


def _generated_comments(n: int, seed: int) -> list[dict]:
    """Comments built from a few subjects, verbs and slurs (toxic) or neutral remarks (clean)."""
    rng = random.Random(seed)
    subjects = ["감독", "배우", "작가", "제작진", "평론가", "관객"]
    clean_tails = ["연기가 좋았다", "이야기가 탄탄하다", "음악이 아름답다", "다음 작품이 기대된다", "조금 지루했다",
                   "결말이 아쉽다", "화면이 멋지다", "두 시간이 금방 갔다"]
    toxic_tails = ["씨발 돈 아깝다", "병신 같은 짓 했네", "개새끼들 꺼져라", "좆같은 결말", "미친놈 아니냐",
                   "존나 지루하다", "지랄하고 있네", "ㅅㅂ 최악"]
    rows = []
    for i in range(n):
        toxic = i % 2 == 0
        tail = rng.choice(toxic_tails if toxic else clean_tails)
        rows.append({"text": f"{rng.choice(subjects)} {tail} {rng.choice(['', '진짜', '정말', '오늘'])}".strip(),
                     "label": "toxic" if toxic else 0})
    return rows


def test_toxicity_classifier_trains_scores_and_filters(tmp_path: Path) -> None:
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _generated_comments(400, 1)), "utf-8")
    model = tmp_path / "tox.bin"
    fast = ["--epoch", "10", "--bucket", "5000", "--dim", "8", "--no-quantize"]
    assert train_toxicity_main(["--input", str(data), "--output", str(model), *fast]) == 0
    held_out = _generated_comments(60, 2)
    scores = ToxicityModel(model).score([r["text"] for r in held_out])
    toxic = np.array([r["label"] == "toxic" for r in held_out])
    assert scores[toxic].mean() > 0.8 > 0.2 > scores[~toxic].mean()
    # deterministic: same data, same bytes
    again = tmp_path / "tox2.bin"
    train_toxicity_main(["--input", str(data), "--output", str(again), *fast])
    assert again.read_bytes() == model.read_bytes()
    # in the stage: a column, and a filter once a threshold is set
    cfg = {"filters": ["toxicity"], "toxicity_model_path": str(model),
           "languages": {"ko": {"toxicity": {"max_lexicon_ratio": None, "model_threshold": 0.5}}}}
    texts = [r["text"] for r in held_out[:10]]
    res = apply_stage(QualityStage(cfg), pa.table({"id": [str(i) for i in range(10)], "text": texts}),
                      StageStats("quality"))
    assert res.rejected is not None and res.kept.num_rows + res.rejected.num_rows == 10
    assert set(res.rejected.column("reject_reason").to_pylist()) == {"toxicity_model_above_threshold"}
    assert all(s < 0.5 for s in res.kept.column("toxicity_score").to_pylist())


def test_label_parsing_names_the_row() -> None:
    assert parse_label("Toxic", "x") and not parse_label(0, "x") and parse_label(True, "x")
    with pytest.raises(ValueError, match="f.jsonl:3"):
        parse_label("maybe", "f.jsonl:3")


def test_korean_tokenizer_shorthand_selects_kiwi() -> None:
    cfg = QualityConfig(korean_tokenizer="kiwi")
    assert cfg.languages["ko"].tokenizer == "kiwi"
    assert QualityConfig().languages["ko"].tokenizer == "korean"


def test_numbers_stay_one_token_as_in_kiwi() -> None:
    kiwipiepy = pytest.importorskip("kiwipiepy")
    text = "인구는 1,000명이고 2015-16 시즌에 3.5% 늘었다. 2020.05.01 오전 12:30에 1/2 정도 발표"
    ours = [t for t in split_korean(pa.array([text])).values.to_pylist() if any(c.isdigit() for c in t)]
    kiwi = kiwipiepy.Kiwi(model_type="sbg")
    theirs = [text[t.start:t.end] for t in kiwi.tokenize(text) if any(c.isdigit() for c in text[t.start:t.end])]
    assert ours == theirs == ["1,000", "2015-16", "3.5", "2020.05.01", "12:30", "1/2"]


def test_kiwi_path_matches_fast_path_on_alpha_ratio_where_tokens_agree() -> None:
    pytest.importorskip("kiwipiepy")
    text = "시민 1,000 명 2015-16 시즌 3.5 %"  # every eojeol is one morpheme for both splitters
    rows = {}
    for tok in ("korean", "kiwi"):
        st = QualityStage({"filters": ["gopher_quality"], "korean_tokenizer": tok, "annotate_only": True})
        out = apply_stage(st, pa.table({"id": ["x"], "text": [text]}), StageStats("quality")).kept
        rows[tok] = out.column("gq_alpha_words_ratio").to_pylist()[0]
    assert rows["korean"] == pytest.approx(rows["kiwi"]) == pytest.approx(3 / 7)


def test_quoted_mentions_are_not_counted() -> None:
    texts = ["보고서는 '김치녀' 같은 혐오 표현이 늘었다고 밝혔다", "「틀딱」이라는 말은 노인 비하다", "김치녀 꺼져"]
    assert _hits(texts).tolist() == [0, 0, 1]


def test_cli_spelling_reaches_the_trainer(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "좋은 영화", "label": "maybe"}\n', encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "quality", "train-toxicity", "--input", str(bad),
                        "--output", str(tmp_path / "m.bin")], cwd=Path(__file__).resolve().parents[3],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "bad.jsonl:1" in r.stderr
