"""Quality signals against datatrove's reference implementations, and the word splitters."""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import pyarrow as pa
import pytest

from stages.quality.ngrams import NgramIndex, dup_ngram_chars, top_ngram_chars
from stages.quality.rules import KO_STOP_WORDS
from stages.quality.stage import QualityStage
from stages.quality.text import Tokens, korean_stop_hits, split_korean, split_latin
from tests.conftest import shared_path

EN_DOC = (
    "The city council voted on Tuesday to study new measures on childcare costs. Mr. Smith, who chairs "
    "the committee, said the plan would cost an estimated $7 million over five years.\n"
    "Economists note that the trend began well before the pandemic... It's not clear whether the "
    "well-known proposal will pass.\n- first item\n- second item\n"
)


def test_latin_split_matches_spacy_style():
    toks = split_latin(pa.array(["Mr. Smith didn't go. U.S. costs 5% (est.), well-known 45-17!"])).values.to_pylist()
    assert toks == ["Mr.", "Smith", "did", "n't", "go", ".", "U.S.", "costs", "5", "%", "(", "est", ".", ")", ",",
                    "well", "-", "known", "45", "-", "17", "!"]


def test_korean_split_and_stop_hits():
    text = pa.array(["2024년 3월에 학교에서 공부했다."])
    toks = split_korean(text).values.to_pylist()
    assert toks[:6] == ["2024", "년", "3", "월", "에", "학교"]
    assert "에서" in toks and "다" in toks and "." in toks and toks.count("했") == 2
    hits = korean_stop_hits(text, KO_STOP_WORDS)
    assert hits["했"][0] and not hits["되"][0]


def test_ngram_repetition_exact_vs_datatrove():
    gr = pytest.importorskip("datatrove.pipeline.filters.gopher_repetition_filter")
    rng = np.random.default_rng(7)
    vocab = ["a", "bb", "ccc", "dddd", "e", "ffff", "gg"]
    docs = [[vocab[k] for k in rng.integers(0, rng.integers(1, 8), rng.integers(0, 50))] for _ in range(400)]
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in docs])])
    idx = NgramIndex(Tokens(pa.array([w for d in docs for w in d], pa.string()), offsets))
    for n in (2, 3, 4, 5, 8, 10):
        top, dup = top_ngram_chars(idx, n), dup_ngram_chars(idx, n)
        for i, d in enumerate(docs):
            grams = gr.get_n_grams(d, n)
            assert top[i] == (gr.find_top_duplicate(grams) if grams else 0), (n, d)
            assert dup[i] == gr.find_all_duplicate(d, n), (n, d)


def _ours(texts: list[str], lang: str, filters: list[str], tokenizer: str | None = None) -> list[dict]:
    cfg: dict = {"filters": filters, "default_language": lang, "guess_language": False}
    if tokenizer:
        cfg["languages"] = {lang: {"tokenizer": tokenizer}}
    st = QualityStage(cfg)
    st.ensure_setup()
    from core.stats import StageStats

    return st.process(pa.table({"id": [str(i) for i in range(len(texts))], "text": texts}), StageStats("q")).to_pylist()


def _dt_keep(f, text: str) -> bool:
    from datatrove.data import Document

    r = f.filter(Document(text=text, id="x"))
    return r[0] if isinstance(r, tuple) else r


PREFIX = {"gopher_quality": "gopher_", "gopher_repetition": "gopher_rep_", "c4": "c4_", "fineweb": "fineweb_"}


def _our_keep(row: dict, name: str) -> bool:
    for r in (row["quality_failed"] or "").split(","):
        if r.startswith(PREFIX[name]) and not (name == "gopher_quality" and r.startswith("gopher_rep_")):
            return False
    return True


def _en_filters():
    f = pytest.importorskip("datatrove.pipeline.filters")
    return {"gopher_repetition": f.GopherRepetitionFilter(), "gopher_quality": f.GopherQualityFilter(),
            "c4": f.C4QualityFilter(filter_no_terminal_punct=False), "fineweb": f.FineWebQualityFilter()}


def test_english_signals_equal_datatrove_on_a_document():
    filters = _en_filters()
    docs = [EN_DOC * 3, EN_DOC, "\n".join(EN_DOC.split(". ")), EN_DOC.replace(".", "") * 2]
    rows = _ours(docs, "en", list(filters))
    for name, f in filters.items():
        for d, row in zip(docs, rows):
            assert _our_keep(row, name) == _dt_keep(f, d), (name, d[:60])


def test_english_agreement_on_b1_articles():
    filters = _en_filters()
    gt = json.loads(shared_path("B1_scrapinghub_article_extraction_benchmark", "ground-truth.json").read_text())
    base = [v["articleBody"] for _, v in sorted(gt.items()) if v.get("articleBody")][:60]
    docs = base + ["\n".join(d.split("\n") * 2) for d in base[:20]] + [" ".join(d.split()[:60]) for d in base[:20]]
    rows = _ours(docs, "en", list(filters))
    for name, f in filters.items():
        agree = np.mean([_our_keep(r, name) == _dt_keep(f, d) for d, r in zip(docs, rows)])
        assert agree >= 0.97, (name, agree)


def test_korean_kiwi_mode_equals_datatrove_and_nfd_breaks_datatrove():
    pytest.importorskip("kiwipiepy")
    f = pytest.importorskip("datatrove.pipeline.filters")
    gq = f.GopherQualityFilter(language="kor_Hang", max_avg_word_length=6, min_avg_word_length=1,
                               stop_words=KO_STOP_WORDS, max_non_alpha_words_ratio=0.791, min_stop_words=2)
    text = ("서울시는 올해 하반기부터 시민들의 생활 여건을 개선하기 위한 새로운 교통 정책을 시행한다고 밝혔다. "
            "이번 정책은 버스 노선을 조정하고 지하철 배차 간격을 줄이는 내용을 담고 있다.\n") * 2
    row = _ours([text], "ko", ["gopher_quality"], tokenizer="kiwi")[0]
    assert _dt_keep(gq, text) and row["reject_reason"] is None
    nfd = unicodedata.normalize("NFD", text)
    assert not _dt_keep(gq, nfd)  # datatrove on jamo: no stop word is ever found
    assert _ours([nfd], "ko", ["gopher_quality"], tokenizer="kiwi")[0]["reject_reason"] is None
