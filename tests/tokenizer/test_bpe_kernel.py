"""The compiled BPE merge loop equals HF ``tokenizers``' BPE exactly, and its tables are cached safely."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from tests.tokenizer.test_pack_fixtures import DATA, EOS, english_texts, korean_texts, train_tokenizer
from tokenizer import bpe_kernel
from tokenizer.fast_bpe import load_fast_bpe


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AXK1_CACHE_DIR", str(tmp_path / "cache"))


def _hand_model(merges: list[list[str]], vocab: list[str], **options) -> dict:
    """A tokenizer.json (as a dict) with a hand-written BPE model and a whitespace split."""
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
             "vocab": {v: i for i, v in enumerate(vocab)}, "merges": merges}
    model.update(options)
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
            "pre_tokenizer": {"type": "Split", "pattern": {"Regex": " *[^ ]+| +"}, "behavior": "Isolated",
                              "invert": False},
            "post_processor": None, "decoder": None, "model": model}


def _reference(tok: Tokenizer, words: list[str], byte_level: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """HF's own BPE on each word alone (the byte-level mapping kept where the tokenizer has it)."""
    from tokenizers import pre_tokenizers

    tok.normalizer = None
    tok.pre_tokenizer = (pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False) if byte_level
                         else None)
    enc = tok.encode(words, is_pretokenized=True, add_special_tokens=False)
    return np.asarray(enc.ids, np.int32), np.bincount(np.asarray(enc.word_ids), minlength=len(words))


def test_every_short_word_matches_hf_including_conflicting_merge_orders():
    # merge ranks that disagree with creation order, a repeated pair (the last rank wins in HF),
    # overlapping pairs ("aaa") and merges whose result is built two ways
    vocab = ["a", "b", "c", "ab", "bc", "aa", "abc", "aab", "ca", "bca", "aaa"]
    merges = [["b", "c"], ["a", "b"], ["a", "a"], ["a", "bc"], ["aa", "b"], ["c", "a"], ["b", "ca"],
              ["a", "b"], ["aa", "a"], ["ab", "c"]]
    state = _hand_model(merges, vocab)
    tok = Tokenizer.from_str(json.dumps(state))
    tables = bpe_kernel.build_tables(state["model"], byte_level=False)
    assert tables is not None
    words = ["".join(p) for n in range(1, 8) for p in itertools.product("abc", repeat=n)]
    ids, counts, flagged = bpe_kernel.encode_word_list(tables, words)
    ref_ids, ref_counts = _reference(tok, words)
    assert not flagged.any()
    assert np.array_equal(counts, ref_counts) and np.array_equal(ids, ref_ids)


@pytest.mark.parametrize("kind", ["byte_level", "sentencepiece"])
def test_real_tokenizers_match_hf_on_real_words(tmp_path, kind):
    texts = korean_texts(300) + english_texts(60)
    extra = ["😀🙂", "\u200b", "ＦＵＬＬ", "ḱ̈", "\x00", "\u2581x", "a" * 200, "가" * 50, "ㅋㅋㅋㅋㅋ", "١٢٣", "🇰🇷"]
    if kind == "byte_level":
        path = train_tokenizer(tmp_path / "t.json", texts, vocab_size=2000)
        byte_level = True
    else:
        path = _sentencepiece_json(tmp_path, texts)
        byte_level = False
    tok = Tokenizer.from_file(str(path))
    fast = load_fast_bpe(path)
    assert fast is not None and fast._tables is not None
    words = list(dict.fromkeys(w for t in texts + extra for w in fast._words(t)))
    tables = bpe_kernel.load_tables(path, byte_level)
    ids, counts, flagged = bpe_kernel.encode_word_list(tables, words)
    ref_ids, ref_counts = _reference(Tokenizer.from_file(str(path)), words, byte_level)
    assert not flagged.any()
    assert np.array_equal(counts, ref_counts) and np.array_equal(ids, ref_ids)
    # and whole documents through the encoder equal the tokenizer, words too long for the kernel included
    docs = texts[:100] + extra + ["x" + "ab" * 400 + " tail", "한" * 300]
    got = fast.encode_batch(docs)
    ref = [e.ids for e in tok.encode_batch(docs, add_special_tokens=False)]
    assert got == ref


def _sentencepiece_json(tmp_path: Path, texts: list[str]) -> Path:
    """The project's tokenizer (sentencepiece BPE with byte fallback) exported to tokenizer.json."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tokenizer.config import TrainConfig
    from tokenizer.train import train_tokenizer as train_project

    pq.write_table(pa.table({"text": texts}), tmp_path / "c.parquet")
    out = tmp_path / "sp"
    vocab = 3008 if DATA.is_dir() else 1024 # a fresh checkout has only the few fallback sentences
    train_project(TrainConfig(inputs=[str(tmp_path / "c.parquet")], output_dir=str(out), vocab_size=vocab,
                              character_coverage=0.995, sample_bytes=2_000_000, holdout_fraction=0.0))
    return out / "tokenizer.json"


def test_words_it_cannot_reproduce_are_flagged_and_encoded_by_the_tokenizer(tmp_path, monkeypatch):
    # no byte fallback, an unk token: characters outside the vocabulary take HF's unk path
    vocab = ["<unk>", "a", "b", "ab", " ", " a", " ab", EOS]
    state = _hand_model([["a", "b"], [" ", "a"], [" a", "b"]], vocab, unk_token="<unk>", fuse_unk=True)
    path = tmp_path / "tok.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    fast = load_fast_bpe(path)
    assert fast is not None and fast._tables is not None
    tok = Tokenizer.from_file(str(path))
    texts = ["ab abxyz ab", "zz ab", "ab", "ab ab ab" + " ab" * 20]
    monkeypatch.setattr(bpe_kernel, "MAX_SYMBOLS", 5)  # the last text's long words go to the tokenizer too
    words = list(dict.fromkeys(w for t in texts for w in fast._words(t)))
    _, _, flagged = bpe_kernel.encode_word_list(fast._tables, words)
    assert flagged.any() and not flagged.all()
    assert fast.encode_batch(texts) == [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]


@pytest.mark.parametrize("option", [{"ignore_merges": True}, {"continuing_subword_prefix": "##"},
                                    {"end_of_word_suffix": "</w>"}, {"dropout": 0.1}])
def test_models_with_options_it_does_not_reproduce_get_no_tables(option):
    state = _hand_model([["a", "b"]], ["a", "b", "ab"], **option)
    assert bpe_kernel.build_tables(state["model"], byte_level=False) is None


def test_tables_are_cached_by_content_and_a_damaged_entry_is_rebuilt(tmp_path, caplog):
    path = tmp_path / "tok.json"
    path.write_text(json.dumps(_hand_model([["a", "b"]], ["a", "b", "ab"])), encoding="utf-8")
    first = bpe_kernel.load_tables(path, byte_level=False)
    entries = list(bpe_kernel.cache_dir().glob("*.npz"))
    assert len(entries) == 1
    second = bpe_kernel.load_tables(path, byte_level=False)
    for name in ("char_ids", "byte_ids", "merges"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
    entries[0].write_bytes(b"not an npz file")
    with caplog.at_level(logging.WARNING):
        third = bpe_kernel.load_tables(path, byte_level=False)
    assert "rebuilding BPE tables" in caplog.text
    assert np.array_equal(third.merges, first.merges)
    # another tokenizer (different content) gets its own entry
    path.write_text(json.dumps(_hand_model([["b", "a"]], ["a", "b", "ba"])), encoding="utf-8")
    bpe_kernel.load_tables(path, byte_level=False)
    assert len(list(bpe_kernel.cache_dir().glob("*.npz"))) == 2


def test_an_unwritable_cache_only_costs_a_rebuild(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("AXK1_CACHE_DIR", str(blocker / "sub"))  # a path under a regular file
    path = tmp_path / "tok.json"
    path.write_text(json.dumps(_hand_model([["a", "b"]], ["a", "b", "ab"])), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        tables = bpe_kernel.load_tables(path, byte_level=False)
    assert tables is not None and "cannot cache BPE tables" in caplog.text


def test_word_table_restarts_at_its_token_bound_and_stays_exact(tmp_path):
    texts = korean_texts(200) + english_texts(20)
    path = train_tokenizer(tmp_path / "t.json", texts, vocab_size=1500)
    tok = Tokenizer.from_file(str(path))
    ref = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    fast = load_fast_bpe(path)
    fast._max_tokens = 200  # restarts on nearly every batch
    got = [ids for i in range(0, len(texts), 7) for ids in fast.encode_batch(texts[i:i + 7])]
    assert got == ref
    assert fast._n_toks < 200 + sum(map(len, ref[-7:])) + 1


def _variant(tmp_path: Path, base: Path, name: str, **changes) -> Path:
    state = json.loads(base.read_text(encoding="utf-8"))
    state.update(changes)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    return path


def _same_as_hf(path: Path, texts: list[str]) -> None:
    fast, tok = load_fast_bpe(path), Tokenizer.from_file(str(path))
    assert fast is not None
    got = fast.encode_batch(texts)
    ref = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    assert [g if g is not None else r for g, r in zip(got, ref)] == ref


@pytest.fixture(scope="module")
def byte_level_json(tmp_path_factory) -> Path:
    return train_tokenizer(tmp_path_factory.mktemp("bl") / "t.json", korean_texts(200) + english_texts(30), 2000)


def test_code_points_the_split_engines_disagree_on_go_to_the_tokenizer(byte_level_json):
    # the regex module's Unicode tables are newer than HF's engine: these letters split differently
    texts = ["\U0002B73A's", "\u0558's wow", "x \u0c5c'll", "plain text", "\x1c\x1d sep"]
    fast = load_fast_bpe(byte_level_json)
    got = fast.encode_batch(texts)
    assert got[0] is None and got[1] is None and got[3] is not None
    _same_as_hf(byte_level_json, texts)


def test_normalisation_and_normalised_added_tokens_follow_hf(tmp_path, byte_level_json):
    nfkc = _variant(tmp_path, byte_level_json, "nfkc", normalizer={"type": "NFKC"})
    _same_as_hf(nfkc, ["\u32ff is Reiwa", "\ua7f2", "ﬁne café", "plain"])
    nfc = _variant(tmp_path, byte_level_json, "nfc", normalizer={"type": "NFC"})
    _same_as_hf(nfc, ["\U00011935\U00011930 x", "cafe\u0301"])
    state = json.loads(nfkc.read_text(encoding="utf-8"))
    added = state["added_tokens"] + [{"id": 2000, "content": "<s>", "single_word": False, "lstrip": False,
                                      "rstrip": False, "normalized": True, "special": False}]
    with_added = _variant(tmp_path, nfkc, "added", added_tokens=added)
    texts = ["hi \uff1cs\uff1e there", "hi <s> there", "no marker"]
    assert load_fast_bpe(with_added).encode_batch(texts)[0] is None
    _same_as_hf(with_added, texts)


def test_tokenizers_it_cannot_reproduce_are_refused(tmp_path, byte_level_json):
    trunc = {"direction": "Right", "max_length": 4, "strategy": "LongestFirst", "stride": 0}
    assert load_fast_bpe(_variant(tmp_path, byte_level_json, "trunc", truncation=trunc)) is None
    for name, pattern in [("caret", "^[a-z]|[a-z]+|[^a-z]+"), ("dollar", "[a-z]+$|[a-z]+|[^a-z]+"),
                          ("empty", "x*|[a-z]+| +|[^a-z ]+"), ("posix", "[[:alpha:]]+|[^[:alpha:]]+")]:
        pre = {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}
        assert load_fast_bpe(_variant(tmp_path, byte_level_json, name, pre_tokenizer=pre)) is None, name
    assert load_fast_bpe(byte_level_json).encode_batch([]) == []
