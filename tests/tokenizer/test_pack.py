"""``axk1 pack``: shards read back by megatron-core's and datatrove's own readers, token for token."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.indexed import ShardError, open_shard
from tests.tokenizer.test_pack_fixtures import (
    DATA,
    EOS,
    english_texts,
    korean_texts,
    train_tokenizer,
    write_corpus,
)
from tokenizer.fast_bpe import load_fast_bpe
from tokenizer.pack import HFTokenizer, PackConfig, main, pack


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tok")
    return train_tokenizer(d / "tokenizer.json", korean_texts(300) + english_texts(60))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("corpus")
    return root, write_corpus(root)


def _cfg(corpus_root: Path, out: Path, tok: Path, **kw) -> PackConfig:
    base = {"inputs": [str(corpus_root)], "output_dir": str(out), "tokenizer": str(tok), "eos_token": EOS,
            "workers": 1, "token_dtype": "int32", "batch_rows": 16}
    return PackConfig(**{**base, **kw})


def _expected(tok: Path, texts: list[str]) -> list[list[int]]:
    hf = HFTokenizer(tok, EOS)
    return [ids + [hf.eos_id] for ids in hf.encode_batch(texts)]


@pytest.fixture(scope="module")
def packed(tmp_path_factory, corpus, tok_path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("packed")
    manifest = pack(_cfg(corpus[0], out, tok_path, write_ds=True))
    return out, manifest


def test_megatron_core_reads_every_document(packed, corpus, tok_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from megatron.core.datasets.indexed_dataset import IndexedDataset
    out, manifest = packed
    texts = corpus[1]
    assert set(manifest["sources"]) == {"ko_web", "en_web", "en_news"}
    for source, entry in manifest["sources"].items():
        expected = _expected(tok_path, texts[source])
        got: list[list[int]] = []
        for f in entry["files"]:
            ds = IndexedDataset(str(out / f["prefix"]))
            assert ds.index.dtype == np.int32
            assert len(ds) == f["documents"]
            got += [ds[i].tolist() for i in range(len(ds))]
            assert ds.document_indices.tolist() == list(range(len(ds) + 1))
        assert got == expected, source
        assert entry["tokens"] == sum(map(len, expected))
    assert manifest["totals"]["empty"] == 8  # 4 x ("" and null)
    assert manifest["tokenizer"]["vocab_size"] == HFTokenizer(tok_path, EOS).vocab_size
    # a long document is kept whole in the shard; the loader splits it
    assert max(len(x) for x in _expected(tok_path, texts["ko_web"])) > 600


def test_datatrove_reads_every_document(packed, corpus, tok_path):
    from datatrove.utils.dataset import DatatroveFolderDataset

    out, manifest = packed
    for source, entry in manifest["sources"].items():
        expected = _expected(tok_path, corpus[1][source])
        f = entry["files"][0]
        n = f["tokens"]
        ds = DatatroveFolderDataset(str(out / source), seq_len=n - 1, token_size=4, return_positions=True)
        item = ds[0]
        ids, pos = item["input_ids"].numpy(), item["positions"].numpy()
        starts = np.flatnonzero(pos == 0).tolist() + [n]
        got = [ids[a:b].tolist() for a, b in zip(starts[:-1], starts[1:])]
        assert got == expected, source


def test_deterministic_and_parallel_equal(tmp_path, corpus, tok_path, packed):
    out2 = tmp_path / "p2"
    pack(_cfg(corpus[0], out2, tok_path, write_ds=True, workers=2))
    out1 = packed[0]
    files = sorted(p.relative_to(out1) for p in out1.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out2) for p in out2.rglob("*") if p.is_file())
    for rel in files:
        if rel.name == "manifest.json":  # records the output dir only via relative prefixes
            a, b = json.loads((out1 / rel).read_text()), json.loads((out2 / rel).read_text())
            assert a == b
        else:
            assert (out1 / rel).read_bytes() == (out2 / rel).read_bytes(), rel


def test_fast_encoder_matches_tokenizer_exactly(tok_path):
    hf = HFTokenizer(tok_path, EOS)
    fast = load_fast_bpe(tok_path)
    assert fast is not None
    tricky = ["", " ", "   leading", "trailing   ", "a  b   c\n\n\n  d\t\te", "x\r\ny", "it's I'LL we've",
              "123 4567 89.0", "연락처010-1234-5678", "😀😀 emoji 🙂", "\u200b zero width", "한국어와 English mixed",
              f"special {EOS} inside", "ＦＵＬＬ width", "ḱ̈ combining", "\x00 nul"]
    texts = tricky + korean_texts(400) + english_texts(120)
    ref = hf.encode_batch(texts)
    for _ in range(2):  # cold, then warm cache
        got = fast.encode_batch(texts)
        assert [i for i, x in enumerate(got) if x is None] == [tricky.index(f"special {EOS} inside")]
        assert [x if x is not None else r for x, r in zip(got, ref)] == ref


def test_auto_dtype_uint16_for_small_vocab(tmp_path, corpus, tok_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from megatron.core.datasets.indexed_dataset import IndexedDataset
    m = pack(_cfg(corpus[0], tmp_path / "o", tok_path, token_dtype="auto"))
    f = m["sources"]["en_news"]["files"][0]
    ds = IndexedDataset(str(tmp_path / "o" / f["prefix"]))
    assert ds.index.dtype == np.uint16
    assert [ds[i].tolist() for i in range(len(ds))] == _expected(tok_path, corpus[1]["en_news"])


def test_bad_inputs_are_counted_not_fatal(tmp_path, tok_path):
    src = tmp_path / "in" / "web"
    src.mkdir(parents=True)
    pq.write_table(pa.table({"text": ["좋은 문서입니다.", "Another good one."]}), src / "good.parquet")
    data = (src / "good.parquet").read_bytes()
    (src / "truncated.parquet").write_bytes(data[: len(data) // 2])
    pq.write_table(pa.table({"body": ["no text column"]}), src / "wrong.parquet")
    out = tmp_path / "out"
    rc = main([str(tmp_path / "in"), str(tmp_path / "missing.parquet"), "-o", str(out), "-t", str(tok_path),
               "--eos-token", EOS, "--workers", "1"])
    assert rc == 1
    m = json.loads((out / "manifest.json").read_text())
    assert m["totals"]["documents"] == 2
    assert m["totals"]["errors"] == 3
    kinds = m["totals"]["errors_by_kind"]
    assert kinds.get("unreadable_input:FileNotFoundError") == 1 and kinds.get("unreadable_input:KeyError") == 1
    msgs = " ".join(i.get("error_message") or "" for i in m["inputs"])
    assert "truncated.parquet" in msgs and "missing.parquet" in msgs
    assert sorted(p.name for p in (out / "web").iterdir()) == ["manifest.json", "part-00000.bin", "part-00000.idx"]


def test_other_tokenizer_refused_on_existing_output(tmp_path, corpus, tok_path):
    out = tmp_path / "o"
    pack(_cfg(corpus[0], out, tok_path))
    other = train_tokenizer(tmp_path / "other.json", english_texts(30), vocab_size=700)
    with pytest.raises(ValueError, match="another tokenizer"):
        pack(_cfg(corpus[0], out, other))
    pack(_cfg(corpus[0], out, other, overwrite=True))


def test_shard_reader_names_missing_and_truncated_files(packed, tmp_path):
    out, manifest = packed
    prefix = out / manifest["sources"]["en_web"]["files"][0]["prefix"]
    for ext in (".bin", ".idx"):
        (tmp_path / f"x{ext}").write_bytes(Path(f"{prefix}{ext}").read_bytes())
    assert len(open_shard(tmp_path / "x")) == manifest["sources"]["en_web"]["documents"]
    data = (tmp_path / "x.bin").read_bytes()
    (tmp_path / "x.bin").write_bytes(data[:-4])
    with pytest.raises(ShardError, match=r"x\.bin"):
        open_shard(tmp_path / "x")
    (tmp_path / "x.bin").unlink()
    with pytest.raises(ShardError, match=r"missing shard file: .*x\.bin"):
        open_shard(tmp_path / "x")
    (tmp_path / "x.bin").write_bytes(data)
    idx = (tmp_path / "x.idx").read_bytes()
    (tmp_path / "x.idx").write_bytes(idx[:-8])
    with pytest.raises(ShardError, match=r"x\.idx"):
        open_shard(tmp_path / "x")


def test_project_tokenizer_folder(tmp_path, corpus):
    """The A.X K1 tokenizer folder (sentencepiece BPE + exported tokenizer.json) packs exactly."""
    pytest.importorskip("sentencepiece")
    if not DATA.exists():
        pytest.skip("training a 4,096-entry tokenizer needs the real text in ../shared/data")
    from tokenizer.api import load_tokenizer
    from tokenizer.config import TrainConfig
    from tokenizer.train import train_tokenizer as train_project_tokenizer

    texts = korean_texts(400) + english_texts(60)
    pq.write_table(pa.table({"text": texts, "lang": ["ko"] * 400 + ["en"] * (len(texts) - 400)}),
                   tmp_path / "c.parquet")
    tok_dir = tmp_path / "tok"
    train_project_tokenizer(TrainConfig(inputs=[str(tmp_path / "c.parquet")], output_dir=str(tok_dir),
                                        vocab_size=4096, character_coverage=0.995, sample_bytes=2_000_000,
                                        holdout_fraction=0.0))
    tok = load_tokenizer(tok_dir)
    fast = load_fast_bpe(tok_dir / "tokenizer.json")
    assert fast is not None
    tricky = ["a  b   c\n\n  d", "\u2581literal marker\u2581", "  lead", "trail  ", f"{EOS} in text", "😀 ê 😀"]
    got, ref = fast.encode_batch(tricky + texts), tok.encode_batch(tricky + texts)
    assert [g if g is not None else r for g, r in zip(got, ref)] == ref
    m = pack(_cfg(corpus[0], tmp_path / "out", tok_dir, eos_token=None))
    assert m["tokenizer"]["fingerprint"] == tok.fingerprint and m["tokenizer"]["eos_id"] == tok.eos_id
    for source, entry in m["sources"].items():
        shard = open_shard(tmp_path / "out" / entry["files"][0]["prefix"])
        got_docs = [shard[i].tolist() for i in range(len(shard))]
        assert got_docs == [ids + [tok.eos_id] for ids in tok.encode_batch(corpus[1][source])]


def test_ray_executor_matches_local(ray_session, tmp_path, corpus, tok_path, packed):
    pack(_cfg(corpus[0], tmp_path / "r", tok_path, write_ds=True, executor="ray"))
    out1 = packed[0]
    for p in sorted(out1.rglob("part-*")):
        assert (tmp_path / "r" / p.relative_to(out1)).read_bytes() == p.read_bytes(), p
