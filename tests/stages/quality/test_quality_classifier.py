"""fastText quality model (training CLI, determinism, shipped model) and Korean spam signals."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stages.quality.classifier import DEFAULT_MODEL_PATH, QualityModel, read_documents, train_main
from stages.quality.spam import DEFAULT_LISTS, max_phone_repeats, read_word_list, spam_signals
from stages.quality.synth import clean_korean, spam_page, synthetic_training_set

pytest.importorskip("fasttext")


def test_shipped_model_small_and_separates():
    assert DEFAULT_MODEL_PATH.exists() and DEFAULT_MODEL_PATH.stat().st_size < 2_000_000
    model = QualityModel.load(DEFAULT_MODEL_PATH)
    rng = np.random.default_rng(42)
    clean = model.score([clean_korean(rng) for _ in range(20)])
    spam = model.score([spam_page(rng) for _ in range(20)])
    assert clean.min() > 0.5 > spam.max()
    real = model.score(["서울시는 올해 하반기부터 새로운 교통 정책을 시행한다고 밝혔다. 이번 정책은 버스 노선을 조정하는 "
                        "내용을 담고 있으며, 시민들의 의견을 추가로 들을 예정이다."])
    assert real[0] > 0.1


def test_train_cli_deterministic_from_parquet_and_text(tmp_path):
    pos, neg = synthetic_training_set(150, seed=5)
    pq.write_table(pa.table({"text": pos}), tmp_path / "pos.parquet")
    (tmp_path / "neg.txt").write_text("\n\n".join(neg), encoding="utf-8")
    (tmp_path / "neg.jsonl").write_text("\n".join(json.dumps({"text": t}) for t in neg[:5]), encoding="utf-8")
    assert len(list(read_documents(tmp_path / "neg.txt", blocks=True))) == len(neg)
    assert len(list(read_documents(tmp_path / "neg.jsonl"))) == 5
    outs = []
    for i in range(2):
        out = tmp_path / f"m{i}.ftz"
        assert train_main(["--positive", str(tmp_path / "pos.parquet"), "--negative", str(tmp_path / "neg.txt"),
                           "--blocks", "--output", str(out), "--epoch", "5", "--dim", "8", "--bucket", "20000"]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    model = QualityModel.load(tmp_path / "m0.ftz")
    s = model.score(pos[:10] + neg[:10])
    assert s[:10].mean() > s[10:].mean() + 0.5
    with pytest.raises(SystemExit):
        train_main(["--output", str(tmp_path / "x.ftz")])


def test_spam_lists_and_signals():
    for path in DEFAULT_LISTS.values():
        words = read_word_list(path)
        assert words and all(w == w.strip() and not w.startswith("#") for w in words)
    texts = pa.array([
        "토토사이트 안전놀이터 먹튀검증 카지노 바카라\n상담 010-1234-5678\n문의 010 1234 5678\n연락 01012345678\n"
        "대출 상담 02-123-4567",
        "정부는 가계 대출 규제를 완화한다고 밝혔다. 전문가들은 부동산 시장에 미칠 영향을 분석하고 있다.",
        "",
    ])
    s = spam_signals(texts, DEFAULT_LISTS)
    assert s["spam_gambling_hits"][0] == 5 and s["spam_loan_hits"][0] == 1
    assert s["spam_phone_max_repeat"][0] == 3
    assert s["spam_stuffed_line_frac"][0] > 0.15
    assert s["spam_keyword_hits"][1] == 1 and s["spam_keyword_density"][1] < 10
    assert s["spam_stuffed_line_frac"][1] == 0 and s["spam_phone_max_repeat"][1] == 0
    assert s["spam_keyword_hits"][2] == 0
    # digit boundaries: a number inside a longer digit run is no phone number
    assert max_phone_repeats(["123010-1234-56789", "연락처010-1234-5678"]).tolist() == [0, 1]
