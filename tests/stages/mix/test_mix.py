"""Mixing arithmetic, the mix stage's shares and determinism, and its corpus census."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.executors import LocalContext
from core.io import write_parquet_atomic
from stages.mix.stage import Mix, MixConfig, repeat_counts, solve_epoch_factor


def test_epoch_factor_meets_target_exactly_when_feasible():
    e, got = solve_epoch_factor({1.0: 1000.0, 2.0: 500.0}, target=1500.0, cap=4.0)
    assert got == pytest.approx(1500.0, rel=1e-9)
    assert e == pytest.approx(0.75, rel=1e-9)  # 1000*0.75 + 500*1.5


def test_epoch_cap_limits_and_reports_shortfall():
    e, got = solve_epoch_factor({1.0: 1000.0, 2.0: 500.0}, target=10_000.0, cap=2.0)
    assert got == pytest.approx(1000 * 2 + 500 * 2)
    assert e == pytest.approx(2.0)


def test_shares_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        MixConfig(budget_tokens=10, sources=[{"name": "a", "share": 0.5}, {"name": "b", "share": 0.4}])
    with pytest.raises(ValueError, match="quality_column"):
        MixConfig(budget_tokens=10, sources=[{"name": "a", "share": 1.0, "quality_edges": [0.5],
                                               "quality_weights": [1, 2]}])


def test_repeat_counts_are_unbiased_and_deterministic():
    ids = [f"d{i}" for i in range(20_000)]
    exp = pa.array([1.3] * len(ids)).to_numpy()
    reps = repeat_counts(ids, exp, seed=7)
    assert set(reps.tolist()) <= {1, 2}
    assert abs(reps.mean() - 1.3) < 0.02
    assert (repeat_counts(ids, exp, seed=7) == reps).all()
    assert not (repeat_counts(ids, exp, seed=8) == reps).all()


def _corpus(tmp: Path, n_shards: int = 3) -> list[Path]:
    paths = []
    for s in range(n_shards):
        rows = []
        for i in range(400):
            lang = ["ko", "en", "ja"][i % 3]
            rows.append({"id": f"{s}-{i}", "text": ("가나다라 " if lang == "ko" else "word ") * (20 + i % 50),
                         "source": "web", "lang": lang, "dup_cluster_size": 1 + (i % 9 == 0) * 4,
                         "quality_score": (i % 10) / 10})
        p = tmp / "in" / f"part-{s:05d}.parquet"
        write_parquet_atomic(pa.Table.from_pylist(rows), p)
        paths.append(p)
    return paths


MIX = {"budget_tokens": 200_000, "sources": [
    {"name": "ko_web", "where": {"lang": ["ko"]}, "share": 0.6, "max_epochs": 3,
     "dup_cluster_weights": [[2, 2.0]], "quality_column": "quality_score", "quality_edges": [0.5],
     "quality_weights": [0.5, 1.5]},
    {"name": "en_web", "where": {"lang": ["en"]}, "share": 0.4, "max_epochs": 1}]}


def test_mix_stage_hits_shares_reports_shortfall_and_is_deterministic(tmp_path):
    inputs = _corpus(tmp_path)
    outs = []
    for run in ("a", "b"):
        ctx = LocalContext(2 if run == "a" else 1, seed=3, scratch_dir=tmp_path / "scratch")
        stats = Mix(MIX).run(inputs, tmp_path / run, None, ctx)
        assert all(s.balanced() for s in stats)
        assert sum(s.rejected["mix_unmatched"] for s in stats) == 3 * 133  # the Japanese third
        outs.append({p.relative_to(tmp_path / run): p.read_bytes() for p in (tmp_path / run).rglob("*.parquet")})
    assert outs[0] == outs[1]
    plan = json.loads((tmp_path / "a" / "_mix_plan.json").read_text())
    ko, en = plan["sources"]
    assert ko["satisfied"] and ko["achieved_tokens"] == pytest.approx(ko["target_tokens"], rel=0.05)
    assert not en["satisfied"] and en["shortfall_tokens"] > 0 and en["epoch_factor"] == 1.0
    assert plan["unsatisfied"] == ["en_web"]
    # the corpus is readable by DuckDB and Polars as-is, partitioned by source
    import duckdb
    import polars as pl

    glob = str(tmp_path / "a" / "**" / "*.parquet")
    n_duck = duckdb.sql(f"select count(*) from read_parquet('{glob}', hive_partitioning=true)").fetchall()[0][0]
    df = pl.scan_parquet(glob, hive_partitioning=True).group_by("mix_source", "source").agg(pl.len()).collect()
    assert n_duck == sum(pq.read_metadata(p).num_rows for p in (tmp_path / "a").rglob("*.parquet"))
    assert set(df["mix_source"].to_list()) == {"ko_web", "en_web"}
    assert set(df["source"].to_list()) == {"web"}  # provenance survives the partitioning


def test_repeat_counts_take_arrow_ids_and_survive_null_ids():
    import numpy as np

    ids = [f"doc-{i}" for i in range(1000)]
    exp = np.full(len(ids), 0.5)
    assert (repeat_counts(pa.chunked_array([pa.array(ids[:300]), pa.array(ids[300:])]), exp, 1)
            == repeat_counts(ids, exp, 1)).all()
    assert repeat_counts(pa.array(["a", None]), np.array([2.0, 2.0]), 1).tolist() == [2, 2]


def test_census_sums_match_per_document_arithmetic(tmp_path):
    """The census reads only the columns it needs and aggregates tokens per (source, weight)."""
    from collections import defaultdict

    from stages.mix.stage import _census, assign_sources, count_tokens, doc_weights

    path = _corpus(tmp_path, 1)[0]
    table = pq.read_table(path)
    table = table.set_column(table.schema.get_field_index("source"), "source",
                             pa.array(["news" if i % 4 == 0 else "web" for i in range(table.num_rows)]))
    pq.write_table(table, path)
    cfg = MixConfig(budget_tokens=1000, batch_rows=97, sources=[
        {"name": "news", "where": {"source": ["news"]}, "share": 0.3, "dup_cluster_weights": [[2, 3.0]]},
        {"name": "ko", "where": {"lang": ["ko"]}, "share": 0.7, "quality_column": "quality_score",
         "quality_edges": [0.5], "quality_weights": [0.5, 1.5]}])
    got = _census((str(path), cfg.model_dump(mode="json")))
    src = assign_sources(table, cfg.sources)
    tokens = count_tokens(table, cfg, None)
    weights = doc_weights(table, src, cfg.sources)
    want: dict[int, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for s, w, t in zip(src.tolist(), weights.tolist(), tokens.tolist()):
        want[s][w] += t
    assert got["tokens"] == {s: dict(d) for s, d in want.items()}
    assert got["docs"] == {s: int((src == s).sum()) for s in set(src.tolist())}
    assert set(got["tokens"]) == {-1, 0, 1} and set(got["tokens"][0]) == {1.0, 3.0}
