"""Cluster id / representative columns of both dedup stages, and the Jaccard threshold option."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from stages.dedup import ExactDedup, MinHashDedup
from stages.dedup.bands import derive_bands, recall_at
from stages.dedup.minhash_dedup import MinHashDedupConfig
from tests.stages.dedup.test_dedup import SeqContext, _doc, _exact_jaccard, _read_dir, _variant, _write_shards


def _check_clusters(kept: pa.Table, rejects: pa.Table, size_col: str) -> dict[str, list[str]]:
    """Assert the audit invariants; return cluster id -> member ids."""
    kept_ids = set(kept.column("id").to_pylist())
    clusters: dict[str, list[str]] = {}
    reps: dict[str, str] = {}
    for table, is_kept in ((kept, True), (rejects, False)):
        for row in table.select(["id", size_col, "dup_cluster_id", "dup_representative_id"]).to_pylist():
            cid, rep = row["dup_cluster_id"], row["dup_representative_id"]
            if row[size_col] == 1:  # singletons carry no ids
                assert is_kept and cid is None and rep is None
                continue
            assert cid is not None and rep is not None
            assert rep in kept_ids  # every representative is a kept document
            assert reps.setdefault(cid, rep) == rep  # one representative per cluster
            if is_kept:
                assert rep == row["id"]  # a kept clustered row represents itself
            clusters.setdefault(cid, []).append(row["id"])
    for cid, members in clusters.items():
        assert cid in members  # the cluster is named after one of its members
        assert len(members) == len(set(members))
    sizes = {r["dup_cluster_id"]: r[size_col] for t in (kept, rejects)
             for r in t.select(["dup_cluster_id", size_col]).to_pylist() if r["dup_cluster_id"]}
    assert all(len(clusters[c]) == n for c, n in sizes.items())
    return clusters


def test_minhash_cluster_and_representative_columns(tmp_path: Path) -> None:
    rng = random.Random(3)
    texts: list[str | None] = []
    for _ in range(12):
        base = _doc(rng, 120)
        texts += [base, _doc(rng, 120), _variant(rng, base, 1), _variant(rng, base, 1)]
    texts += [None, ""]
    scores = [rng.random() for _ in texts]
    paths = _write_shards(tmp_path / "in", texts, 3, quality_score=scores)
    st = MinHashDedup({"keep": "score"}).run(paths, tmp_path / "out", tmp_path / "rej", SeqContext(tmp_path / "s"))
    kept, rejects = _read_dir(tmp_path / "out"), _read_dir(tmp_path / "rej")
    assert kept.num_rows + rejects.num_rows == len(texts) and all(s.balanced() for s in st)
    clusters = _check_clusters(kept, rejects, "dup_cluster_size")
    assert len(clusters) == 12 and all(len(m) == 3 for m in clusters.values())
    for cid, members in clusters.items():
        # named by its first document in input order (ids are doc-<position>)
        assert cid == min(members, key=lambda x: int(x.split("-")[1]))
        # the kept one has the highest score
        best = max(members, key=lambda x: scores[int(x.split("-")[1])])
        assert best in kept.column("id").to_pylist()
    assert set(rejects.column("reject_reason").to_pylist()) == {"near_duplicate"}


def test_exact_cluster_and_representative_columns(tmp_path: Path) -> None:
    texts = ["같은 문서", "다른 문서", "같은  문서 ", "세 번째", "같은 문서", "세 번째", "", None]
    paths = _write_shards(tmp_path / "in", texts, 3, quality_score=[0.1, 0.5, 0.9, 0.2, 0.3, 0.8, 0, 0])
    ExactDedup({"keep": "score"}).run(paths, tmp_path / "out", tmp_path / "rej", SeqContext(tmp_path / "s"))
    kept, rejects = _read_dir(tmp_path / "out"), _read_dir(tmp_path / "rej")
    clusters = _check_clusters(kept, rejects, "exact_dup_count")
    assert sorted(map(sorted, clusters.values())) == [["doc-0", "doc-2", "doc-4"], ["doc-3", "doc-5"]]
    by_id = {r["id"]: r for r in pa.concat_tables([kept, rejects.drop_columns(
        ["reject_stage", "reject_reason"])]).to_pylist()}
    assert by_id["doc-4"]["dup_cluster_id"] == "doc-0" and by_id["doc-4"]["dup_representative_id"] == "doc-2"
    assert by_id["doc-3"]["dup_representative_id"] == "doc-5"
    assert by_id["doc-1"]["dup_cluster_id"] is None


def test_rerun_replaces_cluster_columns_and_missing_ids_stay_null(tmp_path: Path) -> None:
    rng = random.Random(4)
    base = _doc(rng, 80)
    paths = _write_shards(tmp_path / "in", [base, base, _doc(rng, 80)], 1)
    ExactDedup({}).run(paths, tmp_path / "a", None, SeqContext(tmp_path / "s"))
    again = sorted((tmp_path / "a").glob("*.parquet"))
    ExactDedup({}).run(again, tmp_path / "b", None, SeqContext(tmp_path / "s"))
    out = _read_dir(tmp_path / "b")
    assert out.column_names.count("dup_cluster_id") == 1
    no_ids = _write_shards(tmp_path / "n", [base, base], 1)
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(no_ids[0]).drop_columns(["id"]), no_ids[0])
    ExactDedup({}).run(no_ids, tmp_path / "c", tmp_path / "cr", SeqContext(tmp_path / "s"))
    rej = _read_dir(tmp_path / "cr")
    assert rej.num_rows == 1 and rej.column("dup_representative_id").to_pylist() == [None]


def test_bands_derived_from_threshold() -> None:
    assert derive_bands(0.8, 112) == (16, 7)  # the documented default
    for t in (0.6, 0.7, 0.8, 0.9):
        b, r = derive_bands(t, 112)
        assert b * r <= 112 and recall_at(t, b, r) >= 0.95
        # one more row per band would miss more than 5 % at the threshold
        assert recall_at(t, 112 // (r + 1), r + 1) < 0.95
    assert MinHashDedupConfig(threshold=0.7).lsh_bands() == derive_bands(0.7, 112)
    assert MinHashDedupConfig(verify_threshold=0.7).jaccard_threshold() == 0.7
    with pytest.raises(ValidationError, match="num_bands=20, rows_per_band=13"):
        MinHashDedupConfig(threshold=0.6, num_bands=20, rows_per_band=13)
    with pytest.raises(ValidationError, match="together"):
        MinHashDedupConfig(num_bands=16)


def test_threshold_changes_decisions_as_documented(tmp_path: Path) -> None:
    """Pairs at J ~0.65-0.75 are duplicates at threshold 0.6 and not at the default 0.8."""
    rng = random.Random(8)
    texts, js = [], []
    for _ in range(20):
        base = _doc(rng, 200)
        var = _variant(rng, base, 7)
        texts += [base, var]
        js.append(_exact_jaccard(base, var))
    assert 0.6 < min(js) and max(js) < 0.8
    paths = _write_shards(tmp_path / "in", texts, 2)
    strict = MinHashDedup({}).run(paths, tmp_path / "o8", None, SeqContext(tmp_path / "s"))
    loose = MinHashDedup({"threshold": 0.6}).run(paths, tmp_path / "o6", None, SeqContext(tmp_path / "s"))
    assert sum(s.rejected_total for s in strict) == 0
    assert sum(s.rejected_total for s in loose) >= 19  # P(candidate | J >= 0.6) >= 0.95 at 28 x 4
    assert loose[0].extra["lsh_bands"] == 28 and loose[0].extra["lsh_rows_per_band"] == 4
