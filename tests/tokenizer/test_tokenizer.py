"""Tokenizer: special-token layout, sampling, training, lossless round trip, HF export, eval."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from core.schema import document_id
from tokenizer.api import load_tokenizer
from tokenizer.cli import eval_main, train_main
from tokenizer.config import SampleConfig, TrainConfig, load_config
from tokenizer.sample import chunk_text, iter_documents, plan, resolve_inputs, scan
from tokenizer.specials import (
    EOS,
    FULL_VOCAB_SIZE,
    PAD,
    PII_PLACEHOLDERS,
    SPECIAL_BLOCK_SIZE,
    special_ids,
    special_tokens,
)
from tokenizer.spm_model import VocabularyTooLargeError
from tokenizer.stress import stress_corpus
from tokenizer.train import train_tokenizer

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
STDLIB = Path(os.__file__).parent
VOCAB = 4096


def _korean_lines() -> list[str]:
    if not DATA.is_dir():
        pytest.skip("shared test data not available")
    lines: list[str] = []
    for f in sorted((DATA / "D3_nsmc_raw_sample" / "raw").glob("*.json"))[:60]:
        lines += [r["review"] for r in json.loads(f.read_text(encoding="utf-8")) if r.get("review")]
    nli = DATA / "D7_klue_nli_dev" / "klue_benchmark" / "klue-nli-v1.1" / "klue-nli-v1.1_dev.json"
    for r in json.loads(nli.read_text(encoding="utf-8"))[:1500]:
        lines += [r["premise"], r["hypothesis"]]
    return lines


def _english_docs() -> list[str]:
    gt = DATA / "B1_scrapinghub_article_extraction_benchmark" / "ground-truth.json"
    return [r["articleBody"] for r in json.loads(gt.read_text(encoding="utf-8")).values()][:120]


def _code_docs() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(STDLIB.glob("*.py"))[:40]]


def _write_corpus(path: Path, seed: int = 0, with_lang: bool = True) -> Path:
    """A real mixed corpus: Korean reviews/news sentences as ~20-line documents, English, code."""
    rng = random.Random(seed)
    ko = _korean_lines()
    texts, langs = [], []
    for i in range(0, len(ko), 20):
        texts.append(("\n" if rng.random() < 0.5 else " ").join(ko[i:i + 20]))
        langs.append("ko")
    for d in _english_docs():
        texts.append(d)
        langs.append("en")
    for d in _code_docs():
        texts.append(d)
        langs.append("code")
    cols = {"id": [document_id("test", str(i)) for i in range(len(texts))], "text": texts}
    if with_lang:
        cols["lang"] = langs
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _write_corpus(tmp_path_factory.mktemp("corpus") / "part-0.parquet")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus) -> Path:
    out = tmp_path_factory.mktemp("tok")
    train_tokenizer(TrainConfig(inputs=[str(corpus)], output_dir=str(out), vocab_size=VOCAB,
                                sample_bytes=50_000_000, holdout_fraction=0.05))
    return out


# ---------------------------------------------------------------- layout and config ----------
def test_special_layout_full_vocabulary():
    ids = special_ids(FULL_VOCAB_SIZE)
    assert ids[EOS] == 163_691  # the released A.X K1 BOS = EOS id
    assert ids[PAD] == 163_692
    assert len(ids) == SPECIAL_BLOCK_SIZE == len(set(ids.values()))
    assert min(ids.values()) == 163_691 and max(ids.values()) == FULL_VOCAB_SIZE - 1
    for name in ("<think>", "</think>", "<|user|>", "<|assistant|>", "<|system|>", "<tool_call>",
                 "<|reserved_0|>", *PII_PLACEHOLDERS):
        assert name in ids
    # offsets are fixed: growing a group only consumes reserved slots, never moves ids
    assert [t.offset for t in special_tokens()] == list(range(SPECIAL_BLOCK_SIZE))


def test_pii_placeholders_match_pii_stage():
    pii = pytest.importorskip("stages.pii")
    assert tuple(pii.PII_PLACEHOLDERS) == PII_PLACEHOLDERS


def test_config_validation(tmp_path):
    with pytest.raises(ValidationError):
        TrainConfig(inputs=["x"], output_dir="o", vocab_size=5000)  # not a multiple of 64
    with pytest.raises(ValidationError):
        TrainConfig(inputs=["x"], output_dir="o", vocab_sise=4096)  # unknown key
    with pytest.raises(ValidationError):
        TrainConfig(inputs=["x"], output_dir="o", language_shares={"ko": -1.0})
    cfg = TrainConfig(**{"inputs": ["x"], "output_dir": "o", "language_shares": {"ko": 3, "*": 1}})
    assert cfg.language_shares == {"ko": 0.75, "*": 0.25} and cfg.vocab_size == FULL_VOCAB_SIZE
    y = tmp_path / "job.yaml"
    y.write_text("tokenizer:\n  inputs: [a.parquet]\n  output_dir: out\n  vocab_size: 8192\n")
    assert load_config(TrainConfig, y, "tokenizer", {"seed": 3}).model_dump()["vocab_size"] == 8192


# ---------------------------------------------------------------- sampling -------------------
def test_chunk_text_is_lossless_and_bounded():
    rng = random.Random(1)
    for _ in range(200):
        doc = "".join(rng.choice(["가나다 ", "word ", "\n", "  ", "x" * 50, "\n\n"]) for _ in range(rng.randint(0, 400)))
        chunks = list(chunk_text(doc, 128))
        assert "".join(chunks) == doc
        assert all(len(c) <= 128 for c in chunks)


def test_sampling_deterministic_disjoint_and_weighted(tmp_path):
    ko = _korean_lines()
    en = [p for d in _english_docs() for p in d.split("\n") if p.strip()]
    path = tmp_path / "lines.parquet"
    pq.write_table(pa.table({"text": ko + en, "lang": ["ko"] * len(ko) + ["en"] * len(en)}), path)
    files = resolve_inputs([str(tmp_path)])
    cfg = SampleConfig(inputs=[str(path)], sample_bytes=200_000, holdout_fraction=0.1,
                       language_shares={"ko": 0.7, "en": 0.3})

    def run(split):
        report = scan(files, cfg)
        plan(report, cfg, split)
        return list(iter_documents(files, cfg, report, split)), report

    train, rep = run("train")
    again, _ = run("train")
    hold, _ = run("holdout")
    assert train == again
    assert not {t for _, t in train} & {t for _, t in hold}
    got = rep.sampled_bytes
    assert sum(got.values()) == pytest.approx(200_000, rel=0.1)
    assert got["ko"] / sum(got.values()) == pytest.approx(0.7, abs=0.05)
    seeded = SampleConfig(**{**cfg.model_dump(), "seed": 7})
    r2 = scan(files, seeded)
    plan(r2, seeded, "train")
    assert [t for _, t in iter_documents(files, seeded, r2, "train")] != [t for _, t in train]


def test_missing_lang_column_is_one_language(tmp_path):
    path = _write_corpus(tmp_path / "nolang.parquet", with_lang=False)
    cfg = SampleConfig(inputs=[str(path)], sample_bytes=10**9, holdout_fraction=0.0)
    report = scan([path], cfg)
    plan(report, cfg, "train")
    docs = list(iter_documents([path], cfg, report, "train"))
    assert not report.has_lang_column
    assert len(docs) == pq.read_metadata(path).num_rows


# ---------------------------------------------------------------- trained tokenizer ----------
def test_layout_fingerprint_and_api(trained):
    tok = load_tokenizer(trained)
    assert tok.vocab_size == VOCAB
    assert tok.eos_id == tok.bos_id == VOCAB - SPECIAL_BLOCK_SIZE
    assert tok.pad_id == tok.eos_id + 1 and tok.unk_id == 0
    assert tok.id_to_token(1) == "<0x00>" and tok.id_to_token(256) == "<0xFF>"
    model = (trained / "tokenizer.model").read_bytes()
    assert tok.fingerprint == "sha256:" + hashlib.sha256(model).hexdigest()
    assert load_tokenizer(trained, backend="sentencepiece").fingerprint == tok.fingerprint
    meta = json.loads((trained / "axk1_tokenizer.json").read_text())
    assert meta["layout"]["eos_id"] == tok.eos_id and meta["fingerprint"] == tok.fingerprint
    assert tok.encode_batch([None, ""]) == [[], []]
    assert tok.decode(tok.encode("a\ud800b")) == "a\ufffdb"  # a lone surrogate cannot crash a batch


def test_training_is_deterministic(tmp_path, corpus, trained):
    train_tokenizer({"inputs": [str(corpus)], "output_dir": str(tmp_path), "vocab_size": VOCAB,
                     "sample_bytes": 50_000_000, "holdout_fraction": 0.05})  # a job file's dict
    assert (tmp_path / "tokenizer.model").read_bytes() == (trained / "tokenizer.model").read_bytes()
    assert (tmp_path / "tokenizer.json").read_bytes() == (trained / "tokenizer.json").read_bytes()


@pytest.mark.parametrize("backend", ["hf", "sentencepiece"])
def test_round_trip_stress_corpus(trained, backend):
    tok = load_tokenizer(trained, backend=backend)
    texts = stress_corpus(1500, seed=11)
    for text, ids in zip(texts, tok.encode_batch(texts)):
        assert tok.decode(ids) == text, repr(text[:60])


def test_both_formats_give_identical_ids(trained, corpus):
    hf = load_tokenizer(trained, backend="hf")
    sp = load_tokenizer(trained, backend="sentencepiece")
    texts = pq.read_table(corpus).column("text").to_pylist() + stress_corpus(500, seed=3)
    a, b = hf.encode_batch(texts), sp.encode_batch(texts)
    assert sum(map(len, a)) > 100_000
    assert [i for i in range(len(texts)) if a[i] != b[i]] == []


def test_special_tokens_in_raw_text(trained):
    tok = load_tokenizer(trained)
    ids = tok.encode("전화 <|pii:phone|> 끝 <|endoftext|> <think>")
    assert tok.special_ids["<|pii:phone|>"] in ids  # placeholders from the PII stage: one token
    assert tok.eos_id not in ids and tok.special_ids["<think>"] not in ids  # control: plain text
    assert tok.decode([tok.eos_id]) == EOS
    assert load_tokenizer(trained, backend="sentencepiece").encode(
        "전화 <|pii:phone|> 끝 <|endoftext|> <think>") == ids


def test_korean_compresses(trained):
    tok = load_tokenizer(trained)
    text = "대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다."
    ids = tok.encode(text)
    assert len(text.encode("utf-8")) / len(ids) > 3.0  # far better than UTF-8 bytes


def test_hf_folder_loads_in_transformers_with_chat_template(trained, corpus):
    transformers = pytest.importorskip("transformers")
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(trained))
    tok = load_tokenizer(trained)
    assert hf_tok.eos_token_id == tok.eos_id and hf_tok.pad_token_id == tok.pad_id
    fast = transformers.PreTrainedTokenizerFast.from_pretrained(str(trained))
    assert len(fast) == VOCAB and fast.bos_token_id == tok.bos_id
    sample = pq.read_table(corpus).column("text").to_pylist()[:20]
    assert [hf_tok.encode(t, add_special_tokens=False) for t in sample] == tok.encode_batch(sample)
    msgs = [{"role": "system", "content": "간결하게 답하세요."}, {"role": "user", "content": "1+1은?"}]
    off = hf_tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    on = hf_tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True, enable_thinking=True)
    assert off.endswith("<|assistant|>\n<think>\n\n</think>\n\n")
    assert on.endswith("<|assistant|>\n") and "<think>" not in on
    assert off.startswith("<|system|>\n간결하게 답하세요.<|end_of_turn|>\n<|user|>\n1+1은?<|end_of_turn|>\n")
    ids = hf_tok.apply_chat_template(msgs, tokenize=True, add_generation_prompt=True, enable_thinking=False)
    ids = ids["input_ids"] if not isinstance(ids, list) else ids
    for name in ("<|system|>", "<|user|>", "<|assistant|>", "<think>", "</think>", "<|end_of_turn|>"):
        assert tok.special_ids[name] in ids
    history = msgs + [{"role": "assistant", "content": "2", "reasoning_content": "더하면 2"},
                      {"role": "user", "content": "고마워"}]
    text = hf_tok.apply_chat_template(history, tokenize=False)
    assert "<|assistant|>\n<think>\n더하면 2\n</think>\n\n2<|end_of_turn|>\n" in text
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
    calls = [{"role": "user", "content": "서울 날씨"},
             {"role": "assistant", "tool_calls": [{"function": {"name": "weather", "arguments": {"city": "서울"}}}]},
             {"role": "tool", "content": "맑음"}]
    text = hf_tok.apply_chat_template(calls, tools=tools, tokenize=False)
    assert text.startswith("<|system|>\n<tools>\n") and "</tools><|end_of_turn|>\n<|user|>\n" in text
    assert '<tool_call>\n{"name": "weather", "arguments": {"city": "서울"}}\n</tool_call>' in text
    assert text.endswith("<|tool|>\n<tool_response>\n맑음\n</tool_response><|end_of_turn|>\n")


def test_eval_cli_reports_metrics(trained, corpus, tmp_path):
    out = tmp_path / "eval.json"
    assert eval_main(["--tokenizer", str(trained), "--input", str(corpus), "--output", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["split"] == "holdout"  # seed and hold-out fraction inherited from training
    assert set(r["languages"]) <= {"ko", "en", "code"} and "ko" in r["languages"]
    ko = r["languages"]["ko"]
    assert ko["bytes_per_token"] > 2.0 and ko["chars_per_token"] > 1.0
    assert r["korean_fertility_tokens_per_eojeol"] == ko["tokens_per_word"] > 1.0
    assert r["vocabulary"]["by_script"]["hangul"]["pieces"] > 500
    assert 0 < r["unused"]["learned_pieces_unused"] < r["unused"]["learned_pieces"]
    assert r["round_trip"]["stress"]["failures"] == 0 and r["round_trip"]["stress"]["backend_mismatches"] == 0
    assert out.with_suffix(".md").read_text().startswith("## Tokenizer")


def test_too_small_corpus_fails_clearly(tmp_path, caplog):
    path = tmp_path / "tiny.parquet"
    pq.write_table(pa.table({"text": _korean_lines()[:300], "lang": ["ko"] * 300}), path)
    with pytest.raises(VocabularyTooLargeError, match=r"supports at most [\d,]+ vocabulary entries") as exc:
        train_tokenizer(TrainConfig(inputs=[str(path)], output_dir=str(tmp_path / "o"), holdout_fraction=0.0))
    assert exc.value.requested == FULL_VOCAB_SIZE and exc.value.supported < FULL_VOCAB_SIZE
    assert not (tmp_path / "o" / "tokenizer.model").exists()  # nothing half-written
    rc = train_main(["--input", str(path), "--output", str(tmp_path / "o"), "--holdout-fraction", "0"])
    assert rc == 2 and "163,840" in caplog.text
    # the suggested size really trains
    train_tokenizer(TrainConfig(inputs=[str(path)], output_dir=str(tmp_path / "o"), holdout_fraction=0.0,
                                vocab_size=min(exc.value.supported, 4096)))
    assert load_tokenizer(tmp_path / "o").vocab_size == min(exc.value.supported, 4096)


def test_damaged_and_foreign_files_do_not_stop_sampling(tmp_path, caplog):
    good = _write_corpus(tmp_path / "good.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    pq.write_table(pa.table({"body": ["no text column"]}), tmp_path / "other.parquet")
    cfg = SampleConfig(inputs=[str(tmp_path)], sample_bytes=10**9, holdout_fraction=0.0)
    files = resolve_inputs(cfg.inputs)
    report = scan(files, cfg)
    plan(report, cfg, "train")
    assert len(list(iter_documents(files, cfg, report, "train"))) == pq.read_metadata(good).num_rows
    assert "broken.parquet" in caplog.text and "other.parquet" in caplog.text


def test_vocabulary_smaller_than_the_alphabet_is_a_clear_error():
    from tokenizer.spm_model import VocabularyTooSmallError, train_spm

    rng = __import__("random").Random(0)
    alphabet = [chr(0xAC00 + i) for i in range(1500)]  # 1,500 distinct Hangul syllables
    sentences = ["".join(rng.choice(alphabet) for _ in range(60)) for _ in range(3000)]
    with pytest.raises(VocabularyTooSmallError, match="too small for this text"):
        train_spm(iter(sentences), 1024, input_sentence_size=10_000, character_coverage=1.0,
                  max_piece_length=16, max_sentence_chars=256, num_threads=1, seed=0)


def test_mixer_token_counts_match_the_tokenizer(trained, tmp_path):
    """The mix stage reads the folder's ``tokenizer.json`` itself; its ids equal this package's."""
    from stages.mix.token_count import TokenCounter

    texts = ["한국어 문장과 English words 123", "", "<|eos|> 제어 토큰은 글자로", "def f(x):\n\treturn x"]
    assert TokenCounter(trained).encode_batch(texts) == load_tokenizer(trained).encode_batch(texts)
    with pytest.raises(FileNotFoundError, match="not a trained tokenizer folder"):
        TokenCounter(tmp_path)
