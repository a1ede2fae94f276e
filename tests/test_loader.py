"""PackedLoader: packing, document segments, blending, determinism, DP sharding, exact resume, refusals."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.test_pack_fixtures import EOS, english_texts, korean_texts, train_tokenizer, write_corpus
from tokenizer.indexed import ShardError, open_shard
from tokenizer.pack import HFTokenizer, PackConfig, pack
from trainer.data import PackedLoader, blend_schedule

L = 64


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> tuple[Path, dict, HFTokenizer]:
    root = tmp_path_factory.mktemp("loader")
    tok_path = train_tokenizer(root / "tok.json", korean_texts(300) + english_texts(60))
    write_corpus(root / "corpus")
    cfg = PackConfig(inputs=[str(root / "corpus")], output_dir=str(root / "out"), tokenizer=str(tok_path),
                     eos_token=EOS, workers=1, token_dtype="int32", write_ds=True)
    return root / "out", pack(cfg), HFTokenizer(tok_path, EOS)


def _docs(out: Path, manifest: dict, source: str) -> list[tuple[int, ...]]:
    docs = []
    for f in manifest["sources"][source]["files"]:
        shard = open_shard(out / f["prefix"])
        docs += [tuple(shard[i].tolist()) for i in range(len(shard))]
    return docs


def _take(loader: PackedLoader, n: int) -> list[dict[str, torch.Tensor]]:
    it = iter(loader)
    return [next(it) for _ in range(n)]


def test_contract_shapes_and_first_epoch_is_a_permutation_of_documents(packed):
    out, manifest, tok = packed
    loader = PackedLoader([str(out / "ko_web")], [1.0], seq_len=L, micro_batch=4, seed=3, shuffle_window=1)
    total = manifest["sources"]["ko_web"]["tokens"]
    n_batches = -(-total // (4 * L)) + 1
    batches = _take(loader, n_batches)
    b = batches[0]
    assert b["tokens"].dtype == torch.int64 and b["tokens"].shape == (4, L + 1)
    assert b["segment_ids"].dtype == torch.int32 and b["segment_ids"].shape == (4, L)
    rows = torch.cat([x["tokens"] for x in batches]).numpy()
    # consecutive samples overlap by one token: the stream is row[:-1] of every row
    assert (rows[1:, 0] == rows[:-1, -1]).all()
    stream = rows[:, :-1].reshape(-1)[:total]
    ends = np.flatnonzero(stream == tok.eos_id) + 1
    assert ends[-1] == total
    docs = [tuple(d) for d in np.split(stream, ends[:-1])]
    assert Counter(docs) == Counter(_docs(out, manifest, "ko_web"))  # every document exactly once
    assert max(map(len, docs)) > L  # the long document was split across rows


def test_segment_ids_follow_document_starts(packed):
    out, _, tok = packed
    loader = PackedLoader([str(out / "ko_web"), str(out / "en_web")], [0.5, 0.5], seq_len=L, micro_batch=8)
    for b in _take(loader, 6):
        t, seg = b["tokens"].numpy(), b["segment_ids"].numpy()
        starts = np.zeros_like(seg)
        starts[:, 1:] = t[:, : L - 1] == tok.eos_id  # a document starts right after an EOS
        assert (seg == np.cumsum(starts, axis=1)).all()
        assert (seg[:, 0] == 0).all()


def test_deterministic_seeded_and_sharded(packed):
    out, _, _ = packed
    prefixes, weights = [str(out / "ko_web"), str(out / "en_news")], [0.7, 0.3]
    a = _take(PackedLoader(prefixes, weights, L, 4, seed=1), 5)
    b = _take(PackedLoader(prefixes, weights, L, 4, seed=1), 5)
    c = _take(PackedLoader(prefixes, weights, L, 4, seed=2), 5)
    assert all(torch.equal(x["tokens"], y["tokens"]) for x, y in zip(a, b))
    assert not all(torch.equal(x["tokens"], y["tokens"]) for x, y in zip(a, c))
    full = _take(PackedLoader(prefixes, weights, L, 4, dp_world=1, seed=1), 3)
    r0 = _take(PackedLoader(prefixes, weights, L, 2, dp_rank=0, dp_world=2, seed=1), 3)
    r1 = _take(PackedLoader(prefixes, weights, L, 2, dp_rank=1, dp_world=2, seed=1), 3)
    for f, x, y in zip(full, r0, r1):
        for key in ("tokens", "segment_ids", "source_ids"):
            assert torch.equal(f[key], torch.cat([x[key], y[key]]))


def test_resume_yields_the_uninterrupted_batches(packed):
    out, _, _ = packed
    args = ([str(out / "ko_web"), str(out / "en_web"), str(out / "en_news")], [0.5, 0.2, 0.3], L, 3)
    straight = _take(PackedLoader(*args, dp_rank=1, dp_world=2, seed=7), 12)
    first = PackedLoader(*args, dp_rank=1, dp_world=2, seed=7)
    _take(first, 5)
    state = first.state_dict()
    resumed = PackedLoader(*args, dp_rank=1, dp_world=2, seed=7)
    resumed.load_state_dict(state)
    for x, y in zip(straight[5:], _take(resumed, 7)):
        assert torch.equal(x["tokens"], y["tokens"]) and torch.equal(x["segment_ids"], y["segment_ids"])
    other = PackedLoader(*args[:2], 32, 3, seed=7)
    with pytest.raises(ValueError, match="seq_len"):
        other.load_state_dict(state)


def test_blend_follows_weights_in_every_prefix():
    w = np.array([0.6, 0.3, 0.1])
    counts = np.zeros(3, np.int64)
    src, idx = blend_schedule(w, counts, 0, 500)
    src2, _ = blend_schedule(w, counts, 500, 500)  # continuing in chunks gives the same schedule
    whole, _ = blend_schedule(w, np.zeros(3, np.int64), 0, 1000)
    assert (np.concatenate([src, src2]) == whole).all()
    running = np.stack([np.cumsum(whole == d) for d in range(3)], 1)
    expected = np.arange(1, 1001)[:, None] * w
    assert np.abs(running - expected).max() <= 1.0
    for d in range(3):  # per-source sample ids count up from 0
        assert (idx[src == d] == np.arange((src == d).sum())).all()


def test_loader_source_ids_follow_weights(packed):
    out, _, _ = packed
    loader = PackedLoader([str(out / "ko_web"), str(out / "en_news")], [0.75, 0.25], L, 16, seed=0)
    ids = torch.cat([b["source_ids"] for b in _take(loader, 10)]).numpy()
    assert abs((ids == 0).mean() - 0.75) < 0.01


def test_reads_datatrove_files_and_single_prefixes(packed):
    out, manifest, _ = packed
    prefix = out / manifest["sources"]["en_news"]["files"][0]["prefix"]
    mega = _take(PackedLoader([str(prefix)], [1.0], L, 2, seed=5), 3)
    ds = _take(PackedLoader([str(prefix) + ".ds"], [1.0], L, 2, seed=5), 3)
    assert all(torch.equal(x["tokens"], y["tokens"]) for x, y in zip(mega, ds))


def test_tokenizer_mismatch_refused(packed):
    out, _, tok = packed
    p = [str(out / "ko_web")]
    PackedLoader(p, [1.0], L, 2, vocab_size=tok.vocab_size, tokenizer_fingerprint=tok.fingerprint)
    with pytest.raises(ValueError, match="vocab size"):
        PackedLoader(p, [1.0], L, 2, vocab_size=163_840)
    with pytest.raises(ValueError, match="fingerprint"):
        PackedLoader(p, [1.0], L, 2, tokenizer_fingerprint="0" * 32)


def test_missing_or_truncated_shards_name_the_file(packed, tmp_path):
    out, manifest, _ = packed
    copy = tmp_path / "en_web"
    shutil.copytree(out / "en_web", copy)
    part = Path(manifest["sources"]["en_web"]["files"][0]["prefix"]).name
    PackedLoader([str(copy)], [1.0], L, 2)
    data = (copy / f"{part}.bin").read_bytes()
    (copy / f"{part}.bin").write_bytes(data[:100])
    with pytest.raises(ShardError, match=rf"{part}\.bin"):
        PackedLoader([str(copy)], [1.0], L, 2)
    (copy / f"{part}.bin").unlink()
    with pytest.raises(ShardError, match=rf"missing shard file: .*{part}\.bin"):
        PackedLoader([str(copy)], [1.0], L, 2)
    with pytest.raises(ShardError, match="nope"):
        PackedLoader([str(tmp_path / "nope")], [1.0], L, 2)


def test_bad_arguments():
    with pytest.raises(ValueError):
        PackedLoader(["a", "b"], [1.0], L, 2)
    with pytest.raises(ValueError):
        PackedLoader(["a"], [-1.0], L, 2)
    with pytest.raises(ValueError):
        PackedLoader(["a"], [1.0], L, 2, dp_rank=2, dp_world=2)


def test_source_smaller_than_a_row_wraps_epochs(packed):
    out, manifest, tok = packed
    total = manifest["sources"]["en_news"]["tokens"]
    seq = 3 * total  # each row holds three full epochs
    b = next(iter(PackedLoader([str(out / "en_news")], [1.0], seq, 2, seed=4)))
    row = b["tokens"][0].numpy()
    docs = Counter(tuple(d) for d in np.split(row[:total * 3], np.flatnonzero(row[:total * 3] == tok.eos_id)[:-1] + 1))
    assert docs == Counter({d: 3 for d in _docs(out, manifest, "en_news")})
    assert int(b["segment_ids"][0].max()) == 3 * manifest["sources"]["en_news"]["documents"] - 1
