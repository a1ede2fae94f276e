"""Streaming, memory-bounded sampling of training / held-out text from Parquet shards.

Two passes over the corpus, each holding one Arrow batch at a time:

1. count UTF-8 bytes per language (vectorised over the batch);
2. keep each document when a seeded hash of its text falls below that language's keep rate,
   chosen so each language contributes ``share * sample_bytes`` bytes (or all it has).

The hash also carves out a fixed hold-out slice (``u < holdout_fraction``) that training never
sees and evaluation reads, so both commands agree on the split without storing it.
"""

from __future__ import annotations

import glob
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash
from tqdm import tqdm

from tokenizer.config import OTHER, SampleConfig

log = logging.getLogger(__name__)

#: Language label for documents without one (or shards without a language column).
UNKNOWN_LANG = "und"
_U64 = float(2**64)


def resolve_inputs(patterns: list[str]) -> list[Path]:
    """Expand files, directories (recursively, ``*.parquet``) and glob patterns; sorted, unique."""
    found: set[Path] = set()
    for pattern in patterns:
        p = Path(pattern)
        if p.is_dir():
            found.update(q for q in p.rglob("*.parquet") if q.is_file())
        elif p.is_file():
            found.add(p)
        else:
            found.update(Path(q) for q in glob.glob(pattern, recursive=True) if Path(q).is_file())
    if not found:
        raise FileNotFoundError(f"no Parquet input matched {patterns}")
    return sorted(found)


@dataclass
class SampleReport:
    """What the sampler saw and kept, per language group."""

    available_bytes: Counter = field(default_factory=Counter)
    available_docs: Counter = field(default_factory=Counter)
    target_bytes: dict[str, float] = field(default_factory=dict)
    keep_rate: dict[str, float] = field(default_factory=dict)
    sampled_bytes: Counter = field(default_factory=Counter)
    sampled_docs: Counter = field(default_factory=Counter)
    files: int = 0
    has_lang_column: bool = True

    def to_dict(self) -> dict:
        total = sum(self.sampled_bytes.values()) or 1
        return {
            "files": self.files,
            "has_lang_column": self.has_lang_column,
            "available_bytes": dict(self.available_bytes),
            "available_docs": dict(self.available_docs),
            "target_bytes": {k: int(v) for k, v in self.target_bytes.items()},
            "keep_rate": {k: round(v, 6) for k, v in self.keep_rate.items()},
            "sampled_bytes": dict(self.sampled_bytes),
            "sampled_docs": dict(self.sampled_docs),
            "sampled_share": {k: round(v / total, 4) for k, v in self.sampled_bytes.items()},
        }


def _group(lang: str | None, shares: dict[str, float], has_lang: bool) -> str:
    if not has_lang:
        return OTHER
    lang = lang or UNKNOWN_LANG
    return lang if lang in shares else OTHER


def _iter_batches(files: list[Path], columns: list[str], batch_rows: int,
                  desc: str) -> Iterator[pa.RecordBatch]:
    """Yield batches of ``columns`` (those present; the first is required) over every file."""
    for path in tqdm(files, desc=desc, unit="file", disable=len(files) < 4):
        try:
            pf = pq.ParquetFile(path)
        except (OSError, pa.ArrowInvalid) as exc:
            log.warning("skipping unreadable Parquet file %s: %s", path, exc)
            continue
        names = set(pf.schema_arrow.names)
        if columns[0] not in names:
            log.warning("skipping %s: no %r column", path, columns[0])
            continue
        try:
            yield from pf.iter_batches(batch_size=batch_rows, columns=[c for c in columns if c in names])
        except (OSError, pa.ArrowInvalid) as exc:  # a corrupt page: keep what was read, go on
            log.warning("stopped reading damaged Parquet file %s: %s", path, exc)


def _batch_langs(batch: pa.RecordBatch, cfg: SampleConfig, has_lang: bool) -> tuple[list[str], list[str]]:
    """(language label, sampling group) of every row."""
    if not has_lang:
        return [UNKNOWN_LANG] * batch.num_rows, [OTHER] * batch.num_rows
    langs = [x or UNKNOWN_LANG for x in batch.column(cfg.lang_column).to_pylist()]
    return langs, [_group(x, cfg.language_shares, True) for x in langs]


def scan(files: list[Path], cfg: SampleConfig) -> SampleReport:
    """Pass 1: bytes and documents per language group (text lengths computed in Arrow)."""
    report = SampleReport(files=len(files))
    cols = [cfg.text_column, cfg.lang_column]
    for batch in _iter_batches(files, cols, cfg.batch_rows, "scan"):
        has_lang = cfg.lang_column in batch.schema.names
        report.has_lang_column &= has_lang
        lengths = pc.fill_null(pc.binary_length(batch.column(cfg.text_column)), 0)
        if has_lang:
            langs = pc.fill_null(batch.column(cfg.lang_column).cast(pa.string()), UNKNOWN_LANG)
            table = pa.table({"lang": langs, "n": lengths})
            agg = table.group_by("lang").aggregate([("n", "sum"), ("n", "count")])
            for lang, n, c in zip(agg.column("lang").to_pylist(), agg.column("n_sum").to_pylist(),
                                  agg.column("n_count").to_pylist()):
                g = _group(lang, cfg.language_shares, True)
                report.available_bytes[g] += int(n or 0)
                report.available_docs[g] += int(c)
        else:
            report.available_bytes[OTHER] += int(pc.sum(lengths).as_py() or 0)
            report.available_docs[OTHER] += batch.num_rows
    return report


def plan(report: SampleReport, cfg: SampleConfig, split: str) -> None:
    """Set per-group keep rates so each group yields ``share * sample_bytes`` bytes (or all)."""
    shares = dict(cfg.language_shares) if report.has_lang_column else {OTHER: 1.0}
    if not report.has_lang_column:
        log.warning("some inputs lack a %r column: sampling them as one language", cfg.lang_column)
    frac = {"holdout": cfg.holdout_fraction, "train": 1.0 - cfg.holdout_fraction}.get(split, 1.0)
    for g, avail in report.available_bytes.items():
        target = shares.get(g, 0.0) * cfg.sample_bytes
        report.target_bytes[g] = target
        pool = avail * frac
        report.keep_rate[g] = min(1.0, target / pool) if pool > 0 else 0.0
        if pool < target:
            log.info("language %s: %.1f MB available for %s, below the %.1f MB target",
                     g, pool / 1e6, split, target / 1e6)


def unit_hash(texts: list[str | None], seed: int) -> np.ndarray:
    """Seeded hash of each text mapped to [0, 1); deterministic across runs and machines."""
    out = np.empty(len(texts), dtype=np.float64)
    for i, t in enumerate(texts):
        out[i] = xxhash.xxh3_64_intdigest(t or "", seed=seed) / _U64
    return out


def iter_documents(files: list[Path], cfg: SampleConfig, report: SampleReport,
                   split: str = "train") -> Iterator[tuple[str, str]]:
    """Pass 2: yield ``(language, text)`` for the sampled documents of ``split``.

    ``split`` is ``"train"`` (documents outside the hold-out), ``"holdout"`` or ``"all"``. The
    selection hash is taken over ``key_column`` (the document id) when the shard has it, else over
    the text; only selected texts are turned into Python strings.
    """
    h = cfg.holdout_fraction
    cols = [cfg.text_column, cfg.lang_column] + ([cfg.key_column] if cfg.key_column else [])
    for batch in _iter_batches(files, cols, cfg.batch_rows, f"sample:{split}"):
        names = batch.schema.names
        has_lang = cfg.lang_column in names and report.has_lang_column
        text_col = batch.column(cfg.text_column)
        if cfg.key_column and cfg.key_column in names:
            keys = batch.column(cfg.key_column).cast(pa.string()).to_pylist()
        else:
            keys = text_col.to_pylist()
        u = unit_hash(keys, cfg.seed)
        langs, groups = _batch_langs(batch, cfg, has_lang)
        rate = np.array([report.keep_rate.get(g, 0.0) for g in groups])
        if split == "train":
            keep = (u >= h) & ((u - h) / (1.0 - h) < rate)
        elif split == "holdout":
            keep = (u < h) & (u / h < rate) if h > 0 else np.zeros(len(keys), bool)
        else:
            keep = u < rate
        idx = np.flatnonzero(keep)
        if not idx.size:
            continue
        texts = text_col.take(pa.array(idx)).to_pylist()
        for i, text in zip(idx, texts):
            if not text:
                continue
            g = groups[i]
            report.sampled_docs[g] += 1
            report.sampled_bytes[g] += len(text.encode("utf-8", "surrogatepass"))
            yield langs[i], text


def chunk_text(text: str, max_chars: int) -> Iterator[str]:
    """Cut a document into training sentences of at most ``max_chars`` characters.

    Cuts fall after line breaks (kept, so newline pieces are learned), else before a space,
    else anywhere; concatenating the chunks gives back the document.
    """
    if len(text) <= max_chars:
        yield text
        return
    start, n = 0, len(text)
    while start < n:
        end = min(start + max_chars, n)
        if end < n:
            cut = text.rfind("\n", start, end)
            if cut >= start + max_chars // 4:
                end = cut + 1
            else:
                cut = text.rfind(" ", start + max_chars // 4, end)
                if cut > start:
                    end = cut
        yield text[start:end]
        start = end
