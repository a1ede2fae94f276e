"""Streaming statistics over a run's Parquet outputs for the report, in bounded memory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.io import parquet_shards

#: Columns that are identifiers or bookkeeping, never plotted as signals.
NOT_SIGNALS = {"id", "mix_repeats", "http_status", "fetch_time"}
MAX_SIGNALS = 14
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


#: Signals worth a histogram, in display order, when a run has them; other numeric columns fill up.
PREFERRED_SIGNALS = [
    "lang_score", "korean_fraction", "hangul_share", "quality_score", "gq_words", "gq_mean_word_length",
    "gq_stop_words", "gr_dup_line_frac", "gr_top_2_gram_frac", "gr_dup_5_gram_frac", "fw_line_punct_ratio",
    "fw_short_line_ratio", "spam_keyword_density", "pii_total",
]


def signal_columns(schema: pa.Schema) -> list[str]:
    """Numeric columns to plot: the preferred signals present, then other numeric columns."""
    numeric = {f.name for f in schema if pa.types.is_floating(f.type) or pa.types.is_integer(f.type)}
    cols = [c for c in PREFERRED_SIGNALS if c in numeric]
    for f in schema:
        if f.name in cols:
            continue
        if f.name in NOT_SIGNALS or f.name.startswith("_"):
            continue
        if pa.types.is_floating(f.type) or (pa.types.is_integer(f.type) and f.name != "dup_cluster_size"):
            cols.append(f.name)
    return cols[:MAX_SIGNALS]


class _LangIndex:
    """Dense ids for language values in order of first appearance (nulls count as "und")."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def encode(self, col: pa.ChunkedArray) -> np.ndarray:
        enc = pc.dictionary_encode(pc.fill_null(col.cast(pa.string()), "und")).combine_chunks()
        mapping = np.array([self.ids.setdefault(v, len(self.ids)) for v in enc.dictionary.to_pylist()],
                           dtype=np.int64)
        return mapping[enc.indices.to_numpy(zero_copy_only=False)] if len(mapping) else np.zeros(0, np.int64)


class _GroupHist:
    """Counts per (language id, bin), growing as new languages appear."""

    def __init__(self, bins: int) -> None:
        self.bins = bins
        self.counts = np.zeros((0, bins), dtype=np.int64)

    def add(self, lang: np.ndarray, bin_idx: np.ndarray, weights: np.ndarray | None = None) -> None:
        if lang.size == 0:
            return
        n_langs = int(lang.max()) + 1
        if n_langs > self.counts.shape[0]:
            self.counts = np.vstack([self.counts, np.zeros((n_langs - self.counts.shape[0], self.bins), np.int64)])
        flat = np.bincount(lang * self.bins + bin_idx, weights=weights, minlength=n_langs * self.bins)
        self.counts[:n_langs] += flat.reshape(n_langs, self.bins).astype(np.int64)


class _LengthCounts:
    """Exact counts of (language id, character length) pairs, compacted as they accumulate.

    Memory grows with the number of distinct pairs (bounded by languages x longest document), not
    with the number of documents, and the length histogram's edges can be fixed after the pass.
    """

    SHIFT = 40

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.int64)
        self.counts = np.zeros(0, dtype=np.int64)
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending_size = 0

    def add(self, lang: np.ndarray, lengths: np.ndarray) -> None:
        keys, counts = np.unique((lang << self.SHIFT) | lengths, return_counts=True)
        self.pending.append((keys, counts))
        self.pending_size += keys.size
        if self.pending_size > 1_000_000:
            self._compact()

    def _compact(self) -> None:
        if not self.pending:
            return
        keys = np.concatenate([self.keys, *(k for k, _ in self.pending)])
        counts = np.concatenate([self.counts, *(c for _, c in self.pending)])
        self.keys, inverse = np.unique(keys, return_inverse=True)
        self.counts = np.bincount(inverse, weights=counts, minlength=self.keys.size).astype(np.int64)
        self.pending, self.pending_size = [], 0

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(language ids, lengths, counts)."""
        self._compact()
        return self.keys >> self.SHIFT, self.keys & ((1 << self.SHIFT) - 1), self.counts


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """np.histogram's bins for explicit edges: [e_i, e_i+1), the last closed; -1 outside or NaN."""
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[values == edges[-1]] = len(edges) - 2
    idx[(idx < 0) | (idx >= len(edges) - 1) | np.isnan(values)] = -1
    return idx


def _parquet_index(pf: pq.ParquetFile) -> dict[str, int]:
    md = pf.metadata
    return {md.schema.column(j).path: j for j in range(md.num_columns)}


def signal_ranges(files: list[Path], signals: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Min and max of each signal column from the row-group statistics of the Parquet footers.

    A row group without usable statistics for a column is scanned (that column only). NaN and
    nulls are ignored, as ``pc.min_max`` does.
    """
    lo = {c: np.inf for c in signals}
    hi = {c: -np.inf for c in signals}

    def update(c: str, mn: Any, mx: Any) -> bool:
        """Take a (min, max); False when they are not finite and the values must be scanned."""
        if mn is None or mx is None or np.isnan(float(mn)) or np.isnan(float(mx)):
            return True
        if not (np.isfinite(float(mn)) and np.isfinite(float(mx))):
            return False
        lo[c] = min(lo[c], float(mn))
        hi[c] = max(hi[c], float(mx))
        return True

    for f in files:
        pf = pq.ParquetFile(f)
        index = _parquet_index(pf)
        for r in range(pf.metadata.num_row_groups):
            rg = pf.metadata.row_group(r)
            scan = []
            for c in signals:
                if c not in index:
                    continue
                st = rg.column(index[c]).statistics
                if st is not None and st.has_min_max:
                    if not update(c, st.min, st.max):
                        scan.append(c)
                elif not (st is not None and st.has_null_count and st.null_count == rg.num_rows):
                    scan.append(c)
            if scan:
                t = pf.read_row_group(r, columns=scan)
                for c in scan:
                    col = t.column(c)
                    if pa.types.is_floating(col.type):  # infinities would make every bin edge infinite
                        col = pc.filter(col, pc.is_finite(col))
                    mm = pc.min_max(col)
                    update(c, mm["min"].as_py(), mm["max"].as_py())
    return lo, hi


class _Accumulator:
    """Per-language counts and histograms of one streaming pass."""

    def __init__(self, lang_col: str | None, edges: dict[str, np.ndarray]) -> None:
        self.lang_col = lang_col
        self.edges = edges
        self.langs = _LangIndex()
        self.lang_docs = _GroupHist(1)
        self.lengths = _LengthCounts()
        self.hist = {c: _GroupHist(BINS) for c in edges}
        self.dup_sizes: Counter = Counter()
        self.domains = TopK()

    def add(self, t: pa.Table) -> None:
        if self.lang_col and self.lang_col in t.column_names:
            lang = self.langs.encode(t.column(self.lang_col))
        else:  # one group: "all" without a lang column, "und" in a file that lacks it
            lang = self.langs.encode(pa.chunked_array([pa.nulls(t.num_rows, pa.string())]))
        self.lang_docs.add(lang, np.zeros_like(lang))
        if "text" in t.column_names:
            lens = pc.fill_null(pc.utf8_length(t.column("text")), 0).to_numpy(zero_copy_only=False)
        else:
            lens = np.zeros(t.num_rows, dtype=np.int64)
        self.lengths.add(lang, lens.astype(np.int64))
        for c, e in self.edges.items():
            if c not in t.column_names:
                continue
            vals = pc.fill_null(t.column(c).cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
            idx = _bin_index(vals, e)
            ok = idx >= 0
            self.hist[c].add(lang[ok], idx[ok])
        if "dup_cluster_size" in t.column_names:
            self.dup_sizes.update(_value_counts(t.column("dup_cluster_size")))
        if "domain" in t.column_names:
            self.domains.update(_value_counts(t.column("domain")))


def corpus_stats(directory: Path, batch_rows: int = 4096) -> dict[str, Any]:
    """Language counts, length and signal histograms per language, dup clusters, top domains.

    One streaming pass over the columns it needs: signal ranges come from the Parquet footers,
    histograms are kept per language (all of them) and folded into the top languages plus
    "other" at the end; lengths are kept as exact (language, length) counts so the length
    histogram's range can follow the longest document.
    """
    files = parquet_shards(directory)
    if not files:
        return {"documents": 0}
    schema = pq.read_schema(files[0])
    signals = signal_columns(schema)
    has = set(schema.names)
    lang_col = "lang" if "lang" in has else None
    lo, hi = signal_ranges(files, signals)
    edges = {c: np.linspace(lo[c], hi[c] if hi[c] > lo[c] else lo[c] + 1, BINS + 1)
             for c in signals if np.isfinite(lo[c])}
    acc = _Accumulator(lang_col, edges)
    n_docs = 0
    for f in files:
        pf = pq.ParquetFile(f)
        names = pf.schema_arrow.names
        cols = [c for c in ["text", *edges, lang_col, "dup_cluster_size", "domain"] if c and c in names]
        for rb in pf.iter_batches(batch_size=batch_rows, columns=cols):
            n_docs += rb.num_rows
            acc.add(pa.Table.from_batches([rb]))
            del rb  # free this batch before the reader decodes the next one
    # fold per-language results into the reported groups
    langs, lang_docs, lengths, hist = acc.langs, acc.lang_docs, acc.lengths, acc.hist
    dup_sizes, domains = acc.dup_sizes, acc.domains
    lang_names = list(langs.ids)
    per_lang = lang_docs.counts[:, 0] if lang_docs.counts.size else np.zeros(0, np.int64)
    lang_counts = Counter({lang_names[i]: int(per_lang[i]) for i in range(len(lang_names))})
    if lang_col:
        top_langs = [lang for lang, _ in lang_counts.most_common(TOP_LANGS)]
        groups = [*top_langs, "other"]
        group_of = np.array([top_langs.index(x) if x in top_langs else len(top_langs) for x in lang_names],
                            dtype=np.int64)
    else:
        groups = ["all"]
        group_of = np.zeros(len(lang_names), dtype=np.int64)
    len_lang, len_value, len_count = lengths.result()
    max_len = max(1, int(len_value.max(initial=1)))
    len_edges = np.linspace(0, np.log10(max_len + 1), BINS + 1)
    len_group = group_of[len_lang]
    len_bins = _bin_index(np.log10(len_value + 1.0), len_edges)
    ok = len_bins >= 0
    len_hist = np.zeros((len(groups), BINS), dtype=np.int64)
    np.add.at(len_hist, (len_group[ok], len_bins[ok]), len_count[ok])
    chars = np.bincount(len_group, weights=len_value * len_count, minlength=len(groups)).astype(np.int64)
    group_docs = np.bincount(len_group, weights=len_count, minlength=len(groups))
    folded = {"log10_chars": len_hist}
    for c, h in hist.items():
        g = np.zeros((len(groups), BINS), dtype=np.int64)
        np.add.at(g, group_of[: h.counts.shape[0]], h.counts)
        folded[c] = g
    all_edges = {"log10_chars": len_edges, **edges}
    return {
        "documents": n_docs,
        "languages": dict(lang_counts.most_common()) if lang_col else {},
        "chars_by_group": {g: int(chars[i]) for i, g in enumerate(groups) if group_docs[i] > 0},
        "histograms": {c: {"edges": all_edges[c].tolist(),
                           "counts": {g: by[i].tolist() for i, g in enumerate(groups)}}
                       for c, by in folded.items()},
        "dup_cluster_sizes": {int(k): int(v) for k, v in sorted(dup_sizes.items()) if k is not None},
        "top_domains": [(d, int(n)) for d, n in domains.top(25) if d],
    }
