"""Streaming statistics over a run's Parquet outputs for the report, in bounded memory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.io import parquet_shards

#: Columns that are identifiers or bookkeeping, never plotted as signals.
NOT_SIGNALS = {"id", "mix_repeats", "http_status", "fetch_time"}
MAX_SIGNALS = 16
BINS = 40
TOP_LANGS = 6


class TopK:
    """Space-saving heavy hitters: bounded memory top-k counts over a stream."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.counts: Counter = Counter()

    def update(self, counts: dict[Any, int]) -> None:
        self.counts.update(counts)
        if len(self.counts) > 2 * self.capacity:
            self.counts = Counter(dict(self.counts.most_common(self.capacity)))

    def top(self, k: int) -> list[tuple[Any, int]]:
        return self.counts.most_common(k)


def _value_counts(col: pa.ChunkedArray) -> dict[Any, int]:
    vc = pc.value_counts(col)
    return dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()))


def signal_columns(schema: pa.Schema) -> list[str]:
    cols = []
    for f in schema:
        if f.name in NOT_SIGNALS or f.name.startswith("_"):
            continue
        if pa.types.is_floating(f.type) or (pa.types.is_integer(f.type) and f.name != "dup_cluster_size"):
            cols.append(f.name)
    return cols[:MAX_SIGNALS]


def corpus_stats(directory: Path, batch_rows: int = 16_384) -> dict[str, Any]:
    """Language counts, length and signal histograms per language, dup clusters, top domains."""
    files = parquet_shards(directory)
    if not files:
        return {"documents": 0}
    schema = pq.read_schema(files[0])
    signals = signal_columns(schema)
    has = set(schema.names)
    lang_col = "lang" if "lang" in has else None
    # pass 1: ranges and language counts
    lo = {c: np.inf for c in signals}
    hi = {c: -np.inf for c in signals}
    langs: Counter = Counter()
    n_docs = 0
    max_len = 1
    read_cols = [c for c in ["text", *signals, lang_col] if c]
    for f in files:
        for rb in pq.ParquetFile(f).iter_batches(batch_size=batch_rows, columns=[c for c in read_cols if c in pq.read_schema(f).names]):
            t = pa.Table.from_batches([rb])
            n_docs += t.num_rows
            if lang_col and lang_col in t.column_names:
                langs.update(_value_counts(t.column(lang_col)))
            lens = pc.utf8_length(t.column("text"))
            mx = pc.max(lens).as_py()
            max_len = max(max_len, mx or 1)
            for c in signals:
                if c in t.column_names:
                    mm = pc.min_max(t.column(c))
                    if mm["min"].as_py() is not None:
                        lo[c] = min(lo[c], float(mm["min"].as_py()))
                        hi[c] = max(hi[c], float(mm["max"].as_py()))
    top_langs = [lang for lang, _ in langs.most_common(TOP_LANGS)]
    groups = [*top_langs, "other"] if lang_col else ["all"]
    len_edges = np.linspace(0, np.log10(max_len + 1), BINS + 1)
    edges = {c: np.linspace(lo[c], hi[c] if hi[c] > lo[c] else lo[c] + 1, BINS + 1) for c in signals if np.isfinite(lo[c])}
    hist = {c: {g: np.zeros(BINS, dtype=np.int64) for g in groups} for c in ["log10_chars", *edges]}
    dup_sizes: Counter = Counter()
    domains = TopK()
    chars_by_lang: Counter = Counter()
    # pass 2: histograms
    for f in files:
        names = pq.read_schema(f).names
        cols = [c for c in ["text", *edges, lang_col, "dup_cluster_size", "domain"] if c and c in names]
        for rb in pq.ParquetFile(f).iter_batches(batch_size=batch_rows, columns=cols):
            t = pa.Table.from_batches([rb])
            if lang_col and lang_col in t.column_names:
                lang_arr = np.array(pc.fill_null(t.column(lang_col), "und").to_pylist(), dtype=object)
                group = np.where(np.isin(lang_arr, top_langs), lang_arr, "other")
            else:
                group = np.full(t.num_rows, "all", dtype=object)
            lens = pc.fill_null(pc.utf8_length(t.column("text")), 0).to_numpy(zero_copy_only=False)
            loglen = np.log10(lens + 1.0)
            for g in groups:
                m = group == g
                if m.any():
                    hist["log10_chars"][g] += np.histogram(loglen[m], bins=len_edges)[0]
                    chars_by_lang[g] += int(lens[m].sum())
            for c, e in edges.items():
                vals = pc.fill_null(t.column(c).cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
                for g in groups:
                    m = (group == g) & ~np.isnan(vals)
                    if m.any():
                        hist[c][g] += np.histogram(vals[m], bins=e)[0]
            if "dup_cluster_size" in t.column_names:
                dup_sizes.update(_value_counts(t.column("dup_cluster_size")))
            if "domain" in t.column_names:
                domains.update(_value_counts(t.column("domain")))
    all_edges = {"log10_chars": len_edges, **edges}
    return {
        "documents": n_docs,
        "languages": dict(langs.most_common()),
        "chars_by_group": dict(chars_by_lang),
        "histograms": {c: {"edges": all_edges[c].tolist(), "counts": {g: v.tolist() for g, v in by.items()}}
                       for c, by in hist.items()},
        "dup_cluster_sizes": {int(k): int(v) for k, v in sorted(dup_sizes.items()) if k is not None},
        "top_domains": [(d, int(n)) for d, n in domains.top(25) if d],
    }
