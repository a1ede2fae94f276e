"""The statistics report over a run: manifest, corpus statistics against brute force, odd values."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core.io import write_parquet_atomic
from pipeline.job import parse_job
from pipeline.report import build_report
from pipeline.runner import run_job
from tests.stages.mix.test_mix import MIX, _corpus


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


def _stats_corpus(tmp: Path) -> Path:
    """Three shards, nine languages (some null), NaN and null signals; one shard without statistics."""
    import numpy as np

    rng = np.random.default_rng(5)
    langs = ["ko", "en", "ja", "zh", "fr", "de", "es", "vi", None]
    d = tmp / "curated"
    for s in range(3):
        n = 700
        q = rng.normal(0.5, 0.2, n)
        q[rng.random(n) < 0.05] = np.nan
        table = pa.table({
            "id": [f"{s}-{i}" for i in range(n)],
            "text": ["가" * int(k) for k in rng.integers(0, 3000, n)],
            "lang": pa.array([langs[k] for k in rng.choice(9, n, p=[.3, .2, .1, .1, .08, .08, .06, .04, .04])]),
            "quality_score": pa.array(q, mask=rng.random(n) < 0.05),
            "pii_total": pa.array(rng.integers(0, 7, n), pa.int32()),
            "dup_cluster_size": pa.array(rng.integers(1, 4, n), pa.int32()),
            "domain": [f"d{k}.kr" for k in rng.integers(0, 40, n)],
        })
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, d / f"part-{s:05d}.parquet", row_group_size=256, write_statistics=s != 1)
    return d


def test_corpus_stats_match_a_brute_force_computation(tmp_path):
    import numpy as np

    from pipeline.report_data import BINS, corpus_stats, signal_ranges

    d = _stats_corpus(tmp_path)
    got = corpus_stats(d, batch_rows=300)
    t = pq.read_table(sorted(d.glob("*.parquet")))
    lang = np.array(["und" if x is None else x for x in t.column("lang").to_pylist()], dtype=object)
    names, counts = np.unique(lang, return_counts=True)
    assert got["documents"] == t.num_rows
    assert got["languages"] == {str(k): int(v) for k, v in zip(names, counts)}
    top = [k for k, _ in sorted(got["languages"].items(), key=lambda kv: -kv[1])[:6]]
    group = np.where(np.isin(lang, top), lang, "other")
    lens = np.array([len(x) for x in t.column("text").to_pylist()])
    len_edges = np.linspace(0, np.log10(lens.max() + 1), BINS + 1)
    assert got["histograms"]["log10_chars"]["edges"] == len_edges.tolist()
    for g in [*top, "other"]:
        m = group == g
        assert got["histograms"]["log10_chars"]["counts"][g] == np.histogram(np.log10(lens[m] + 1.0), len_edges)[0].tolist()
        assert got["chars_by_group"][g] == int(lens[m].sum())
    for col in ("quality_score", "pii_total"):
        v = np.array([np.nan if x is None else x for x in t.column(col).to_pylist()], dtype=float)
        lo, hi = np.nanmin(v), np.nanmax(v)
        edges = np.linspace(lo, hi, BINS + 1)
        assert got["histograms"][col]["edges"] == edges.tolist()
        for g in [*top, "other"]:
            m = (group == g) & ~np.isnan(v)
            assert got["histograms"][col]["counts"][g] == np.histogram(v[m], edges)[0].tolist()
    # the range from footers (shards 0, 2) plus a scan (shard 1, no statistics) is the data's range
    lo, hi = signal_ranges(sorted(d.glob("*.parquet")), ["quality_score"])
    q = t.column("quality_score").to_numpy(zero_copy_only=False)
    assert (lo["quality_score"], hi["quality_score"]) == (np.nanmin(q), np.nanmax(q))
    sizes, n = np.unique(t.column("dup_cluster_size").to_numpy(), return_counts=True)
    assert got["dup_cluster_sizes"] == {int(k): int(c) for k, c in zip(sizes, n)}
    doms = pa.table({"d": t.column("domain")}).group_by("d").aggregate([("d", "count")])
    truth = dict(zip(doms["d"].to_pylist(), doms["d_count"].to_pylist()))
    assert all(truth[d] == c for d, c in got["top_domains"])
    assert [c for _, c in got["top_domains"]] == sorted(truth.values(), reverse=True)[:25]


def test_report_ignores_infinite_signal_values(tmp_path):
    from pipeline.report_data import corpus_stats

    rows = [{"id": str(i), "text": "x" * (10 + i), "lang": "en", "score": float(i)} for i in range(50)]
    rows[3]["score"] = float("inf")
    write_parquet_atomic(pa.Table.from_pylist(rows), tmp_path / "d" / "part-00000.parquet")
    stats = corpus_stats(tmp_path / "d")
    edges = stats["histograms"]["score"]["edges"]
    assert all(map(lambda e: e == e and abs(e) != float("inf"), edges)) and edges[-1] == 49.0
    assert sum(stats["histograms"]["score"]["counts"]["en"]) == 49
    json.dumps(stats, allow_nan=False)
