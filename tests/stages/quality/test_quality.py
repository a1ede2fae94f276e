"""Quality stage: decisions, per-language config, columns, and bad input."""

from __future__ import annotations

import pickle
import time
import unicodedata

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from core.schema import REJECT_COLUMN
from core.stage import apply_stage
from core.stats import StageStats
from pipeline.registry import build_stage
from stages.quality.stage import SIGNALS, QualityConfig, QualityStage
from stages.quality.synth import clean_english, clean_korean, low_quality_korean

KO_CLEAN = (
    "서울시는 올해 하반기부터 시민들의 생활 여건을 개선하기 위한 새로운 교통 정책을 시행한다고 밝혔다. "
    "이번 정책은 버스 노선을 조정하고 지하철 배차 간격을 줄이는 내용을 담고 있다.\n"
    "시 관계자는 지난해 실시한 설문 조사에서 많은 주민들이 출퇴근 시간의 혼잡을 가장 큰 불편으로 꼽았다고 설명했다. "
    "전문가들은 이번 조치가 교통 체증을 줄이는 데 도움이 될 것으로 보고 있다.\n"
    "한편 시는 다음 달부터 공청회를 열어 시민들의 의견을 추가로 듣고, 필요하면 계획을 보완할 예정이다. "
    "관련 예산은 약 120억 원 규모로 알려졌다."
)
KO_SPAM = "\n".join(
    ["토토사이트 안전놀이터 먹튀검증 메이저놀이터 카지노사이트 바카라사이트"] * 2
    + [f"무직자대출 당일대출 소액대출 상담 010-1234-5678 가입머니 꽁머니 {i}" for i in range(8)]
)


def run(texts: list[str | None], config: dict | None = None, lang: list[str | None] | None = None) -> list[dict]:
    cols = {"id": [str(i) for i in range(len(texts))], "text": texts}
    if lang is not None:
        cols["lang"] = lang
    stage = QualityStage(config or {})
    stage.ensure_setup()
    return stage.process(pa.table(cols), StageStats("quality")).to_pylist()


def test_clean_korean_kept_spam_dropped():
    rows = run([KO_CLEAN, KO_SPAM])
    assert rows[0]["quality_lang"] == "ko"
    assert rows[0][REJECT_COLUMN] is None, rows[0]["quality_failed"]
    assert rows[1][REJECT_COLUMN] is not None
    failed = rows[1]["quality_failed"].split(",")
    assert {"spam_keyword_density", "spam_repeated_phone", "spam_stuffed_lines"} <= set(failed)
    assert rows[1]["spam_phone_max_repeat"] == 8
    assert rows[0]["quality_score"] > rows[1]["quality_score"]


def test_generated_pages_mostly_dropped_and_prose_kept():
    rng = np.random.default_rng(3)
    clean = [clean_korean(rng) for _ in range(40)]
    bad = [t for _, t in low_quality_korean(50, seed=9)]
    rows = run(clean + bad)
    kept = [r[REJECT_COLUMN] is None for r in rows]
    assert sum(kept[:40]) >= 37  # template prose repeats some 5-grams, as the repetition filter sees
    assert sum(kept[40:]) <= 2


def test_columns_types_and_annotate_only():
    rows_table = QualityStage({"annotate_only": True})
    rows_table.ensure_setup()
    out = rows_table.process(pa.table({"id": ["a"], "text": [KO_SPAM]}), StageStats("quality"))
    assert REJECT_COLUMN not in out.column_names
    for f in QualityStage.output_fields:
        assert out.schema.field(f.name).type == f.type
    assert set(SIGNALS) <= set(out.column_names)
    assert out.column("quality_failed")[0].as_py()


def test_bad_input_never_crashes_and_gets_a_reason():
    long_line = "가나다라마바사 " * 150_000  # ~1.8 MB on one line
    texts = ["", None, "   \n\t ", "!!! ??? ### ... ★★★ ◆◆", long_line, "x" * 1_200_000,
             "Hello 안녕하세요 こんにちは 你好 Привет مرحبا 😀 " * 20, "\x00\x01\x02 \ufffd\ufffd"]
    t0 = time.perf_counter()
    rows = run(texts)
    assert time.perf_counter() - t0 < 30
    assert [r[REJECT_COLUMN] for r in rows[:3]] == ["empty_text"] * 3
    for r in rows[3:]:
        assert r[REJECT_COLUMN], r
    assert rows[4]["gr_top_2_gram_frac"] > 0.5


def test_nfd_input_measured_like_nfc():
    nfd = unicodedata.normalize("NFD", KO_CLEAN)
    assert nfd != KO_CLEAN
    a, b = run([KO_CLEAN, nfd])
    for s in SIGNALS:
        assert a[s] == pytest.approx(b[s], nan_ok=True), s
    assert b[REJECT_COLUMN] is None


def test_language_column_aliases_guess_and_unknown():
    en = clean_english(np.random.default_rng(1))
    rows = run([KO_CLEAN, en, KO_CLEAN, en, "日本語の文章です。" * 40],
               lang=["kor_Hang", "__label__en", None, None, "ja"])
    assert [r["quality_lang"] for r in rows] == ["ko", "en", "ko", "en", "ja"]
    assert rows[4][REJECT_COLUMN] is None and rows[4]["gq_words"] is None  # no rules for ja: kept
    rows = run(["日本語の文章です。" * 40], {"unknown_language": "reject"}, lang=["ja"])
    assert rows[0][REJECT_COLUMN] == "quality_unconfigured_language"
    rows = run(["日本語の文章です。" * 40], {"unknown_language": "default"}, lang=["ja"])
    assert "gopher_enough_stop_words" in rows[0]["quality_failed"]  # held to the Korean rules
    rows = run([en], {"guess_language": False, "default_language": "ko"})
    assert rows[0]["quality_lang"] == "ko"


def test_config_partial_override_keeps_korean_defaults():
    cfg = QualityConfig(languages={"ko": {"fineweb": {"line_punct_thr": 0.5}}})
    ko = cfg.languages["ko"]
    assert ko.fineweb.line_punct_thr == 0.5
    assert ko.fineweb.new_line_ratio == 0.196 and ko.fineweb.char_duplicates_ratio == 0.1
    assert ko.gopher_repetition.top_n_grams == {2: 0.282, 3: 0.228, 4: 0.185}
    assert ko.c4 is None and ko.tokenizer == "korean"
    assert cfg.languages["en"].gopher_quality.stop_words[0] == "the"
    # FineWeb-2 yaml style n-gram pairs
    cfg = QualityConfig(languages={"ko": {"gopher_repetition": {"top_n_grams": [[2, 0.3], [3, 0.2]]}}})
    assert cfg.languages["ko"].gopher_repetition.top_n_grams == {2: 0.3, 3: 0.2}
    with pytest.raises(ValidationError):
        QualityConfig(languages={"ko": {"fineweb": {"no_such_key": 1}}})
    with pytest.raises(ValidationError):
        QualityConfig(default_language="xx")
    with pytest.raises(ValidationError):
        QualityConfig(languages={"ko": {"gopher_repetition": {"top_n_grams": {7: 0.1}}}})


def test_threshold_change_changes_decision():
    base = run([KO_CLEAN])[0]
    assert base[REJECT_COLUMN] is None
    strict = run([KO_CLEAN], {"languages": {"ko": {"gopher_quality": {"min_doc_words": 5000}}}})[0]
    assert strict[REJECT_COLUMN] == "gopher_short_doc"
    model = run([KO_CLEAN], {"model_threshold": 1.01})[0]
    assert model[REJECT_COLUMN] == "quality_model_below_threshold"
    off = run([KO_SPAM], {"filters": ["gopher_quality"]})[0]
    assert off["spam_keyword_hits"] is None and off["gr_top_2_gram_frac"] is None


def test_apply_stage_accounting_and_pickle():
    stage = build_stage("quality", {})
    stage = pickle.loads(pickle.dumps(stage))
    stats = StageStats("quality")
    batch = pa.table({"id": ["a", "b", "c"], "text": [KO_CLEAN, KO_SPAM, ""]})
    res = apply_stage(stage, batch, stats)
    assert res.kept.column("id").to_pylist() == ["a"]
    assert sorted(res.rejected.column("id").to_pylist()) == ["b", "c"]
    assert stats.balanced() and stats.rejected["empty_text"] == 1
    assert stats.extra["lang_ko"] == 2


def test_script_guess_and_empty_batch():
    rows = run(["日本語の文章です。" * 40, "!!! ###", "Hello 안녕하세요 반갑습니다 여러분 오늘 날씨가 좋네요"])
    assert [r["quality_lang"] for r in rows] == ["und", "ko", "ko"]
    assert rows[0]["reject_reason"] and rows[0]["gq_words"] is not None  # held to the default (ko) rules
    stage = QualityStage({})
    stage.ensure_setup()
    out = stage.process(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}),
                        StageStats("quality"))
    assert out.num_rows == 0 and "quality_score" in out.column_names
