"""PackedLoader: packing, document segments, blending, determinism, DP sharding, exact resume, refusals."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from core.indexed import ShardError, open_shard
from tests.tokenizer.test_pack_fixtures import EOS, english_texts, korean_texts, train_tokenizer, write_corpus
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


def _write_many_shards(root: Path, n_shards: int, seed: int = 0) -> list[tuple[int, ...]]:
    """Shards of small documents; document ``j`` is ``[j + 1] * length + [0]`` (0 plays EOS)."""
    from core.indexed import MegatronWriter

    rng = np.random.default_rng(seed)
    docs, j = [], 0
    root.mkdir(parents=True, exist_ok=True)
    for s in range(n_shards):
        w = MegatronWriter(root / f"part-{s:05d}", np.int32)
        lengths = rng.integers(1, 40, int(rng.integers(3, 12)))
        shard_docs = [tuple([j + i + 1] * int(n) + [0]) for i, n in enumerate(lengths)]
        j += len(lengths)
        w.add(np.concatenate([np.asarray(d, np.int32) for d in shard_docs]),
              np.asarray([len(d) for d in shard_docs], np.int64))
        w.close()
        docs += shard_docs
    return docs


def test_many_shards_each_epoch_serves_every_document_once_whatever_the_cache_size(tmp_path):
    docs = _write_many_shards(tmp_path / "src", 15)
    total = sum(map(len, docs))
    rows_needed = -(-total // L) + 1

    def rows(**cache) -> np.ndarray:
        loader = PackedLoader([str(tmp_path / "src")], [1.0], L, 1, seed=9, shuffle_window=1)
        stream = loader._streams[0]
        stream.src._max_open = cache.get("max_open", 4)
        stream._cache_docs = cache.get("cache_docs", 4_000_000)
        got = np.concatenate([b["tokens"][0, :-1].numpy() for b in _take(loader, 2 * rows_needed)])
        assert len(stream.src._open) <= stream.src._max_open
        return got

    big, tiny = rows(), rows(max_open=1, cache_docs=1)
    assert np.array_equal(big, tiny)  # eviction never changes what is served
    for epoch in (big[:total], big[total:2 * total]):
        served = [tuple(d) for d in np.split(epoch, np.flatnonzero(epoch == 0)[:-1] + 1)]
        assert Counter(served) == Counter(docs)
    assert not np.array_equal(big[:total], big[total:2 * total])  # each epoch has its own order


def test_opening_reads_no_document_index_and_a_corrupt_one_is_named_when_served(tmp_path):
    docs = _write_many_shards(tmp_path / "src", 6)
    loader = PackedLoader([str(tmp_path / "src")], [1.0], L, 2, seed=0)
    src = loader._streams[0].src
    assert not src._open and src.total == sum(map(len, docs))
    # break one index in the middle (pointers no longer contiguous): sizes still agree at open
    idx = tmp_path / "src" / "part-00003.idx"
    raw = bytearray(idx.read_bytes())
    head = 9 + 8 + 1 + 8 + 8  # magic, version, dtype code, sequence count, document count
    n_seq = int(np.frombuffer(bytes(raw[18:26]), "<u8")[0])
    assert n_seq >= 3
    raw[head + 4 * n_seq] ^= 0x10  # the first byte pointer (0) becomes 16; the last one is untouched
    idx.write_bytes(bytes(raw))
    loader = PackedLoader([str(tmp_path / "src")], [1.0], L, 2, seed=0)
    with pytest.raises(ShardError, match=r"part-00003\.idx"):
        _take(loader, 4 * len(docs))


def test_negative_document_lengths_are_refused(tmp_path):
    import struct

    from core.indexed import MEGATRON_MAGIC

    lengths = np.array([5, -2, 3], np.int64)  # pointers and .bin size still agree with the lengths
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    with open(tmp_path / "part-00000.idx", "wb") as fh:
        fh.write(MEGATRON_MAGIC)
        fh.write(struct.pack("<QBQQ", 1, 4, 3, 4))
        fh.write(lengths.astype("<i4").tobytes())
        fh.write((offsets[:-1] * 4).astype("<i8").tobytes())
        fh.write(np.arange(4, dtype="<i8").tobytes())
    np.arange(1, 7, dtype="<i4").tofile(tmp_path / "part-00000.bin")
    with pytest.raises(ShardError, match=r"negative document length.*part-00000\.idx"):
        _take(PackedLoader([str(tmp_path)], [1.0], 4, 1, seed=0), 4)
