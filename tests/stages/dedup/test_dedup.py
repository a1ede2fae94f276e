"""Deduplication: shingling, MinHash, LSH, components, and the exact / near dedup stages."""

from __future__ import annotations

import hashlib
import json
import random
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.stage import RunContext
from pipeline.registry import registry
from stages.dedup import ExactDedup, MinHashDedup
from stages.dedup.components import iterate_stars, local_components
from stages.dedup.exact_dedup import normalize_url
from stages.dedup.hashing import hash_strings
from stages.dedup.lsh import star_edges
from stages.dedup.minhash import MinHasher, band_hashes, detection_probability
from stages.dedup.scratch import BAND_DTYPE
from stages.dedup.shingles import ShingleSpec, normalize, shingle_batch, unique_sets

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


class SeqContext(RunContext):
    """Sequential in-process context."""

    def __init__(self, scratch: Path, seed: int = 7, workers: int = 2) -> None:
        self.workers, self.seed, self.scratch_dir = workers, seed, scratch

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "") -> list[Any]:
        return [fn(it) for it in items]


# ------------------------------------------------------------------ corpus helpers

_RNG = random.Random(1234)
_SYL = [chr(0xAC00 + i) for i in range(0, 11172, 29)]
_VOCAB = ["".join(_RNG.choice(_SYL) for _ in range(_RNG.randint(1, 4))) + _RNG.choice(["은", "를", "에서", "의", ""])
          for _ in range(5000)]


def _doc(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_VOCAB) for _ in range(n))


def _variant(rng: random.Random, text: str, edits: int) -> str:
    w = text.split()
    for _ in range(edits):
        w[rng.randrange(len(w))] = rng.choice(_VOCAB)
    return " ".join(w)


def _exact_jaccard(x: str, y: str, n: int = 5) -> float:
    def grams(t: str) -> set[tuple[str, ...]]:
        w = t.split()
        return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}
    a, b = grams(x), grams(y)
    return len(a & b) / len(a | b)


def _write_shards(root: Path, texts: list[str | None], n_shards: int, **extra: list) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    bounds = np.linspace(0, len(texts), n_shards + 1).astype(int)
    for k in range(n_shards):
        lo, hi = bounds[k], bounds[k + 1]
        cols = {"id": [f"doc-{i}" for i in range(lo, hi)], "text": texts[lo:hi]}
        cols.update({name: vals[lo:hi] for name, vals in extra.items()})
        p = root / f"part-{k:05d}.parquet"
        pq.write_table(pa.table(cols), p)
        paths.append(p)
    return paths


def _read_dir(d: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted(d.glob("*.parquet"))])


def _digest(d: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(d.glob("*.parquet")):
        h.update(json.dumps(pq.read_table(p).to_pylist(), sort_keys=True, default=str).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict[int, int]]:
    """Shards with 40 originals each followed by a near copy (1 word changed of 150) and noise."""
    rng = random.Random(5)
    texts: list[str | None] = []
    pair_of: dict[int, int] = {}
    for _ in range(40):
        base = _doc(rng, 150)
        texts.append(base)
        texts.append(_variant(rng, base, 1))
        pair_of[len(texts) - 1] = len(texts) - 2
        texts.append(_doc(rng, 150))  # unrelated
    texts += ["", "", None, "하나", "하나", "   "]
    paths = _write_shards(tmp_path_factory.mktemp("planted") / "in", texts, 3)
    return paths, pair_of


# ------------------------------------------------------------------ unit tests

def test_registered() -> None:
    reg = registry()
    assert reg["minhash_dedup"] is MinHashDedup and reg["exact_dedup"] is ExactDedup


def test_hash_strings_matches_across_offsets() -> None:
    arr = pa.array(["가나다", "abc", "", None, "가나다", "abd"])
    h = hash_strings(arr)
    assert h[0] == h[4] and h[1] != h[5] and h[2] == h[3]
    np.testing.assert_array_equal(hash_strings(arr.slice(4, 2)), h[4:6])


def test_nfc_and_korean_normalisation() -> None:
    composed = "한국어 문서는 정규화 후에 비교한다 오늘"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    spec = ShingleSpec()
    sh = shingle_batch(pa.array([composed, decomposed]), spec)
    np.testing.assert_array_equal(sh.values[sh.offsets[0]:sh.offsets[1]], sh.values[sh.offsets[1]:sh.offsets[2]])
    assert normalize(pa.array(["Hello, WORLD!! 2024년 12월"]), spec)[0].as_py().split() == ["hello", "world", "0년", "0월"]
    # char mode ignores spacing differences, common in Korean
    spaced = shingle_batch(pa.array(["아버지가 방에 들어가신다", "아버지가방에 들어 가신다"]),
                           ShingleSpec(mode="char", n=3))
    a, b = (set(spaced.values[spaced.offsets[i]:spaced.offsets[i + 1]].tolist()) for i in range(2))
    assert a == b and len(a) == 9


def test_shingles_bad_input_and_boundaries() -> None:
    texts = ["", None, "하나", "둘 셋", "a b c d e f g", "  ...  "]
    sh = shingle_batch(pa.array(texts), ShingleSpec(n=5))
    assert sh.counts().tolist() == [0, 0, 0, 1, 3, 0]
    alone = shingle_batch(pa.array(["a b c d e f g"]), ShingleSpec(n=5))
    np.testing.assert_array_equal(alone.values, sh.values[sh.offsets[4]:sh.offsets[5]])
    trunc = shingle_batch(pa.array(["x " * 100]), ShingleSpec(max_chars=20))
    assert trunc.truncated == 1 and trunc.counts()[0] == 10 - 5 + 1


def test_minhash_estimates_jaccard() -> None:
    rng = random.Random(3)
    texts, truth = [], []
    for _ in range(60):
        base = _doc(rng, 200)
        var = _variant(rng, base, rng.randint(1, 25))
        texts += [base, var]
        truth.append(_exact_jaccard(base, var))
    sh = shingle_batch(pa.array(texts), ShingleSpec())
    sig = MinHasher(256, seed=11).signatures(sh.values, sh.offsets)
    est = (sig[0::2] == sig[1::2]).mean(axis=1)
    err = est - np.array(truth)
    assert abs(err.mean()) < 0.02 and np.abs(err).max() < 0.15
    vals, offs = unique_sets(sh)
    for i in range(0, 10, 2):  # verification sets give the exact Jaccard
        a = set(vals[offs[i]:offs[i + 1]].tolist())
        b = set(vals[offs[i + 1]:offs[i + 2]].tolist())
        assert len(a & b) / len(a | b) == pytest.approx(truth[i // 2])


def test_long_document_signature_is_blocked_exactly() -> None:
    rng = random.Random(4)
    texts = [_doc(rng, 3000), _doc(rng, 20), _doc(rng, 5000)]
    sh = shingle_batch(pa.array(texts), ShingleSpec())
    big = MinHasher(64, 1).signatures(sh.values, sh.offsets)
    small = MinHasher(64, 1, max_block=64 * 100).signatures(sh.values, sh.offsets)
    np.testing.assert_array_equal(big, small)


def test_star_edges_never_all_pairs() -> None:
    e = np.zeros(6, dtype=BAND_DTYPE)
    e["band"] = [0, 0, 0, 0, 1, 1]
    e["hash"] = [9, 9, 9, 9, 9, 5]
    e["doc"] = [40, 10, 30, 20, 30, 10]
    a, b, st = star_edges(e)
    assert list(zip(a.tolist(), b.tolist())) == [(10, 20), (10, 30), (10, 40)]
    assert st.buckets == 1 and st.max_bucket == 4


def test_components_local_equals_distributed_kernels() -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        n, m = int(rng.integers(2, 200)), int(rng.integers(1, 300))
        a = rng.integers(0, n, m).astype(np.uint64) * 13 + 5
        b = rng.integers(0, n, m).astype(np.uint64) * 13 + 5
        sel = a != b
        n1, l1 = local_components(a[sel], b[sel])
        n2, l2 = iterate_stars(a[sel], b[sel])
        o = np.argsort(n2)
        np.testing.assert_array_equal(n1, n2[o])
        np.testing.assert_array_equal(l1, l2[o])
    # a path is one component labelled with its minimum
    nodes, labels = local_components(np.arange(1, 50, dtype=np.uint64), np.arange(2, 51, dtype=np.uint64))
    assert set(labels.tolist()) == {1} and len(nodes) == 50


def test_band_detection_curve_matches_theory() -> None:
    rng = random.Random(8)
    pairs = []
    for _ in range(150):
        base = _doc(rng, 120)
        pairs.append((base, _variant(rng, base, 8)))
    texts = [t for p in pairs for t in p]
    sh = shingle_batch(pa.array(texts), ShingleSpec())
    sig = MinHasher(112, 2).signatures(sh.values, sh.offsets)
    bh = band_hashes(sig, 16, 7)
    hit = (bh[0::2] == bh[1::2]).any(axis=1)
    j = np.array([_exact_jaccard(x, y) for x, y in pairs])
    expected = detection_probability(j, 16, 7).mean()
    assert abs(hit.mean() - expected) < 0.12


def test_normalize_url() -> None:
    assert normalize_url("HTTPS://Example.COM:443/a/b/#frag") == normalize_url("http://example.com/a/b")
    assert normalize_url("http://x.kr/p?q=1") != normalize_url("http://x.kr/p?q=2")
    assert normalize_url("http://x.kr") == normalize_url("http://x.kr/")


# ------------------------------------------------------------------ stage tests

def test_minhash_stage_removes_planted_pairs(planted: tuple[list[Path], dict[int, int]], tmp_path: Path) -> None:
    paths, pair_of = planted
    out, rej = tmp_path / "out", tmp_path / "rej"
    stats = MinHashDedup({}).run(paths, out, rej, SeqContext(tmp_path / "scratch"))
    assert len(stats) == len(paths) and all(s.balanced() for s in stats)
    kept = _read_dir(out)
    rejected = _read_dir(rej)
    removed_ids = set(rejected.column("id").to_pylist())
    assert removed_ids == {f"doc-{i}" for i in pair_of}  # the later copy of each pair goes
    assert set(rejected.column("reject_reason").to_pylist()) == {"near_duplicate"}
    sizes = dict(zip(kept.column("id").to_pylist(), kept.column("dup_cluster_size").to_pylist()))
    assert all(sizes[f"doc-{j}"] == 2 for j in pair_of.values())
    assert sum(1 for v in sizes.values() if v == 1) == kept.num_rows - len(pair_of)
    # empty / one-token documents have no signature and are never clustered together
    assert sum(s.extra["no_signature"] for s in stats) == 6
    for t in ("", "하나", "   "):
        assert t in kept.column("text").to_pylist()
    assert not list((tmp_path / "scratch").iterdir())  # scratch cleaned


def test_minhash_deterministic_and_distributed_components(planted: tuple[list[Path], dict[int, int]],
                                                         tmp_path: Path) -> None:
    paths, _ = planted
    ctx = SeqContext(tmp_path / "s")
    MinHashDedup({}).run(paths, tmp_path / "a", None, ctx)
    MinHashDedup({}).run(paths, tmp_path / "b", None, ctx)
    st = MinHashDedup({"local_components_max_edges": 0}).run(paths, tmp_path / "c", None,
                                                             SeqContext(tmp_path / "s", workers=5))
    assert st[0].extra["cc_rounds"] >= 1 and st[0].extra["partitions"] == 5
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") == _digest(tmp_path / "c")


def test_verification_drops_low_jaccard_candidates(tmp_path: Path) -> None:
    rng = random.Random(9)
    texts = []
    for _ in range(30):
        base = _doc(rng, 200)
        texts += [base, _variant(rng, base, 4)]  # J ~ 0.82
    paths = _write_shards(tmp_path / "in", texts, 2)
    loose = MinHashDedup({"verify": False}).run(paths, tmp_path / "o1", None, SeqContext(tmp_path / "s"))
    strict = MinHashDedup({"threshold": 0.95, "num_bands": 16, "rows_per_band": 7}).run(paths, tmp_path / "o2", None, SeqContext(tmp_path / "s"))
    assert sum(s.rejected_total for s in loose) >= 25
    assert sum(s.rejected_total for s in strict) == 0
    assert strict[0].extra["dropped_by_verification"] == strict[0].extra["candidate_pairs"] > 0


def test_chain_becomes_one_cluster_over_distributed_rounds(tmp_path: Path) -> None:
    rng = random.Random(11)
    chain = [_doc(rng, 300)]
    for _ in range(11):
        chain.append(_variant(rng, chain[-1], 2))
    texts = chain + [_doc(rng, 300) for _ in range(5)]
    order = list(range(len(texts)))
    rng.shuffle(order)
    paths = _write_shards(tmp_path / "in", [texts[i] for i in order], 3)
    assert _exact_jaccard(chain[0], chain[-1]) < 0.8
    st = MinHashDedup({"local_components_max_edges": 0}).run(paths, tmp_path / "out", None,
                                                             SeqContext(tmp_path / "s", workers=3))
    kept = _read_dir(tmp_path / "out")
    sizes = sorted(kept.column("dup_cluster_size").to_pylist())
    assert sizes == [1] * 5 + [12] and st[0].extra["max_cluster"] == 12
    shuffled = [texts[i] for i in order]
    first_member = min(k for k, t in enumerate(shuffled) if t in chain)
    kept_chain = [t for t in kept.column("text").to_pylist() if t in chain]
    assert kept_chain == [shuffled[first_member]]  # keep rule "first": smallest (shard, row)


def test_char_shingles_catch_korean_spacing_variants(tmp_path: Path) -> None:
    rng = random.Random(12)
    texts = []
    for _ in range(10):
        base = _doc(rng, 120)
        words = base.split()
        # same text with a third of the spaces removed: eojeol shingles change, characters do not
        respaced = "".join(w + ("" if i % 3 == 0 else " ") for i, w in enumerate(words)).strip()
        texts += [base, respaced]
    paths = _write_shards(tmp_path / "in", texts, 2)
    word = MinHashDedup({}).run(paths, tmp_path / "w", None, SeqContext(tmp_path / "s"))
    char = MinHashDedup({"shingle": "char", "ngram": 8}).run(paths, tmp_path / "c", None,
                                                             SeqContext(tmp_path / "s"))
    assert sum(s.rejected_total for s in word) == 0
    assert sum(s.rejected_total for s in char) == 10


def test_keep_rules_and_duplicate_ids(tmp_path: Path) -> None:
    rng = random.Random(10)
    base = _doc(rng, 150)
    texts = [base, base + " 추가 문장 하나", _variant(rng, base, 1), _doc(rng, 150)]
    scores = [0.1, 0.5, 0.9, 0.3]
    paths = _write_shards(tmp_path / "in", texts, 2, quality_score=scores)
    # duplicate ids: same id in both shards
    t = pq.read_table(paths[1])
    pq.write_table(t.set_column(0, "id", pa.array(["doc-0", "doc-1"])), paths[1])
    for keep, want in [("first", 0), ("longest", 1), ("score", 2)]:
        out = tmp_path / keep
        st = MinHashDedup({"keep": keep}).run(paths, out, None, SeqContext(tmp_path / "s"))
        kept = _read_dir(out)
        texts_kept = kept.column("text").to_pylist()
        assert texts[want] in texts_kept and texts_kept.count(texts[3]) == 1
        assert kept.num_rows == 2
        assert kept.column("dup_cluster_size").to_pylist()[texts_kept.index(texts[want])] == 3
        assert st[0].extra["duplicate_ids"] == 2


def test_exact_dedup_content_and_url(tmp_path: Path) -> None:
    texts = ["같은 문서", "같은  문서 ", "다른 문서", "같은 문서", "", ""]
    urls = ["https://a.kr/x/", "http://a.kr/x", "https://a.kr/y", None, "https://b.kr", "https://b.kr#top"]
    paths = _write_shards(tmp_path / "in", texts, 2, url=urls, quality_score=[0.1, 0.2, 0.3, 0.9, 0.0, 0.0])
    st = ExactDedup({}).run(paths, tmp_path / "c", tmp_path / "cr", SeqContext(tmp_path / "s"))
    kept = _read_dir(tmp_path / "c")
    assert kept.column("id").to_pylist() == ["doc-0", "doc-2", "doc-4", "doc-5"]
    assert kept.column("exact_dup_count").to_pylist() == [3, 1, 1, 1]
    assert sum(s.extra["empty_text"] for s in st) == 2
    assert all(s.balanced() for s in st)
    st = ExactDedup({"key": "url", "keep": "score"}).run(paths, tmp_path / "u", tmp_path / "ur",
                                                         SeqContext(tmp_path / "s"))
    kept = _read_dir(tmp_path / "u")
    assert kept.column("id").to_pylist() == ["doc-1", "doc-2", "doc-3", "doc-4"]
    assert sum(s.extra["no_url"] for s in st) == 1
    assert set(_read_dir(tmp_path / "ur").column("reject_reason").to_pylist()) == {"url_duplicate"}


def test_real_korean_and_english_near_duplicates(tmp_path: Path) -> None:
    nli = DATA / "D7_klue_nli_dev" / "klue_benchmark" / "klue-nli-v1.1" / "klue-nli-v1.1_dev.json"
    gt = DATA / "B1_scrapinghub_article_extraction_benchmark" / "ground-truth.json"
    if not nli.exists() or not gt.exists():
        pytest.skip("shared data not available")
    rng = random.Random(0)
    rows = json.loads(nli.read_text(encoding="utf-8"))
    sentences = sorted({r["premise"] for r in rows} | {r["hypothesis"] for r in rows})
    korean = [" ".join(sentences[i:i + 12]) for i in range(0, 1200, 12)]
    english = [v["articleBody"] for v in json.loads(gt.read_text(encoding="utf-8")).values()
               if len(v["articleBody"].split()) > 150][:60]
    originals = korean + english
    texts, planted = list(originals), set()
    for i in range(0, len(originals), 4):  # boilerplate appended + one word dropped
        w = originals[i].split()
        del w[rng.randrange(len(w))]
        texts.append(" ".join(w) + " 저작권자 ⓒ 무단전재 및 재배포 금지")
        planted.add(len(texts) - 1)
    truth = {k for k in planted if _exact_jaccard(texts[k], originals[(k - len(originals)) * 4]) >= 0.8}
    paths = _write_shards(tmp_path / "in", texts, 4)
    MinHashDedup({}).run(paths, tmp_path / "out", tmp_path / "rej", SeqContext(tmp_path / "s"))
    removed = {int(x.split("-")[1]) for x in _read_dir(tmp_path / "rej").column("id").to_pylist()}
    assert removed <= planted
    assert len(removed & truth) >= 0.95 * len(truth) and len(truth) >= 30


# ------------------------------------------------------------------ executors

def _executors():
    return pytest.importorskip("core.executors")


def test_local_and_ray_executors_agree(planted: tuple[list[Path], dict[int, int]], tmp_path: Path,
                                       ray_session: Any) -> None:
    ex = _executors()
    paths, _ = planted
    MinHashDedup({}).run(paths, tmp_path / "seq", None, SeqContext(tmp_path / "s"))
    local = ex.LocalContext(workers=2, seed=7, scratch_dir=tmp_path / "s")
    MinHashDedup({"local_components_max_edges": 0}).run(paths, tmp_path / "loc", None, local)
    ray_ctx = ex.RayContext(workers=2, seed=7, scratch_dir=tmp_path / "s")
    MinHashDedup({}).run(paths, tmp_path / "ray", None, ray_ctx)
    ExactDedup({}).run(paths, tmp_path / "ex_ray", None, ray_ctx)
    ExactDedup({}).run(paths, tmp_path / "ex_loc", None, local)
    assert _digest(tmp_path / "seq") == _digest(tmp_path / "loc") == _digest(tmp_path / "ray")
    assert _digest(tmp_path / "ex_ray") == _digest(tmp_path / "ex_loc")
