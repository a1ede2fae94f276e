"""Mixing arithmetic, determinism, the corpus readers, and the report over a run."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.executors import LocalContext
from pipeline.io import write_parquet_atomic
from pipeline.job import parse_job
from pipeline.report import build_report
from pipeline.runner import run_job
from stages.mix import Mix, MixConfig, repeat_counts, solve_epoch_factor


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
    df = pl.scan_parquet(glob, hive_partitioning=True).group_by("source").agg(pl.len()).collect()
    assert n_duck == sum(pq.read_metadata(p).num_rows for p in (tmp_path / "a").rglob("*.parquet"))
    assert set(df["source"].to_list()) == {"ko_web", "en_web"}


def test_job_with_mix_writes_manifest_and_report(tmp_path):
    inputs = _corpus(tmp_path, 2)
    job = parse_job({"name": "m", "output_dir": str(tmp_path / "run"), "workers": 1,
                     "inputs": [{"paths": [str(p) for p in inputs], "format": "parquet", "source": "web"}],
                     "stages": [{"name": "mix", **MIX}]})
    res = run_job(job)
    manifest = json.loads((res.run_dir / "manifest.json").read_text())
    assert manifest["mix"]["sources"][0]["name"] == "ko_web" and manifest["estimated_tokens"] > 0
    assert manifest["rows"] == sum(f["rows"] for f in manifest["files"]) > 0
    page = build_report(res.run_dir)
    text = page.read_text(encoding="utf-8")
    assert "Mixture achieved vs target" in text and "data:image/png;base64," in text
    report = json.loads((page.parent / "report.json").read_text())
    assert report["curated"]["languages"] == {"ko": 2 * 134, "en": 2 * 133, "ja": 2 * 133}
    assert report["curated"]["dup_cluster_sizes"] == {"1": 2 * (400 - 45), "5": 2 * 45}
    assert sum(report["curated"]["histograms"]["log10_chars"]["counts"]["ko"]) == 2 * 134
