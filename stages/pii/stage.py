"""The ``pii`` stage: replace personal identifiers with typed placeholders, count them per type.

Per batch: RE2 prefilters (``pyarrow.compute``, one linear pass per detector over the whole
column) mark which documents can hold a candidate for which detector; only those documents and
detectors run in Python, where candidates are validated (dates, checksums, context words).
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from core.schema import REJECT_COLUMN
from core.stage import Stage, StageConfig
from core.stats import StageStats
from stages.pii.detectors import Detector, detectors_for, fold, resolve
from stages.pii.name_cues import DEFAULT_NAME_CUES, NAME_CUES
from stages.pii.names import NameDetector
from stages.pii.patterns import FOLD_PREFILTER, PII_TYPES, PREFILTER_GROUPS, PREFILTERS
from stages.pii.replacement import Action, apply_spans

log = logging.getLogger(__name__)

#: Share of rows a prefilter group's union flags above which the union is not worth running.
DENSE_GROUP_RATE = 0.6
COUNT_COLUMNS: list[str] = [f"pii_{t}" for t in PII_TYPES]
TOTAL_COLUMN = "pii_total"


class PiiConfig(StageConfig):
    default_action: Action = Field("replace", description="action for every type not listed in `actions`")
    actions: dict[str, Action] = Field(
        default_factory=dict,
        description="per-type action: replace | mask | drop | count | off (keys: stages.pii.PII_TYPES)")
    prefilter: bool = Field(True, description="skip documents the batch-level RE2 prefilters rule out")
    name_cues: list[str] = Field(
        default_factory=lambda: list(DEFAULT_NAME_CUES),
        description=f"context cues that mark a Korean personal name; any of {list(NAME_CUES)}")

    @field_validator("actions")
    @classmethod
    def _known_types(cls, v: dict[str, Action]) -> dict[str, Action]:
        unknown = sorted(set(v) - set(PII_TYPES))
        if unknown:
            raise ValueError(f"unknown PII types {unknown}; known: {list(PII_TYPES)}")
        return v

    @field_validator("name_cues")
    @classmethod
    def _known_cues(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(NAME_CUES))
        if unknown:
            raise ValueError(f"unknown name cues {unknown}; known: {list(NAME_CUES)}")
        return v

    def action_for(self, pii_type: str) -> Action:
        return self.actions.get(pii_type, self.default_action)


def _texts(col: pa.ChunkedArray, stats: StageStats) -> tuple[list[str | None], pa.ChunkedArray]:
    """Python strings of the text column; invalid UTF-8 is repaired with U+FFFD and counted."""
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = col.cast(pa.string())  # an all-null column arrives typed null
    try:
        col.validate(full=True)
        return col.to_pylist(), col
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raw = col.cast(pa.binary()).to_pylist()
        texts = [None if b is None else b.decode("utf-8", "replace") for b in raw]
        bad = sum(1 for b, t in zip(raw, texts) if b is not None and t.encode("utf-8") != b)
        stats.add("pii.invalid_utf8_docs", bad)
        return texts, pa.chunked_array([pa.array(texts, pa.string())])


def _match(col: pa.ChunkedArray, pattern: str) -> np.ndarray:
    hits = pc.fill_null(pc.match_substring_regex(col, pattern), False)
    return hits.to_numpy() if isinstance(hits, pa.Array) else np.asarray(hits.to_numpy(), dtype=bool)


def _patterns(detector: str) -> tuple[str, ...]:
    pats = PREFILTERS[detector]
    return (pats,) if isinstance(pats, str) else pats


class PiiStage(Stage):
    """Find Korean and universal personal identifiers; replace, mask, count or drop per type."""

    name = "pii"
    Config = PiiConfig
    output_fields = [pa.field(c, pa.int32()) for c in COUNT_COLUMNS] + [pa.field(TOTAL_COLUMN, pa.int32())]

    def setup(self) -> None:
        cfg: PiiConfig = self.config  # type: ignore[assignment]
        self._actions: dict[str, Action] = {t: cfg.action_for(t) for t in PII_TYPES}
        self._types = {t for t, a in self._actions.items() if a != "off"}
        self._detectors: list[Detector] = detectors_for(self._types)
        if set(cfg.name_cues) != set(DEFAULT_NAME_CUES):
            self._detectors = [Detector(d.name, d.types, NameDetector(cfg.name_cues)) if d.name == "name" else d
                               for d in self._detectors]
        self._drop_types = [t for t in PII_TYPES if self._actions[t] == "drop"]
        self._type_index = {t: i for i, t in enumerate(PII_TYPES)}
        self._hit_rate: dict[str, float] = {}
        self._dense_batches = 0

    def candidates(self, col: pa.ChunkedArray) -> np.ndarray:
        """(detectors x docs) bool matrix: which detectors can find something in which document.

        Each prefilter group runs as one RE2 union over the batch; its members then run one by one
        on the flagged rows only. A group whose union flags most rows (PII-dense text) skips the
        union and runs its members over the whole batch; the result is the same either way.
        """
        n = len(col)
        if not self.config.prefilter or not n:  # type: ignore[attr-defined]
            return np.ones((len(self._detectors), n), bool)
        flags = np.zeros((len(self._detectors), n), bool)
        row_of = {det.name: k for k, det in enumerate(self._detectors)}
        for det in self._detectors:
            if det.name not in PREFILTERS:
                flags[row_of[det.name]] = True
        for group, members in PREFILTER_GROUPS.items():
            active = [m for m in members if m in row_of]
            if not active:
                continue
            dense = self._hit_rate.get(group, 0.0) > DENSE_GROUP_RATE
            if dense and len(active) > 1:
                rows, sub = np.arange(n), col
            else:
                union = "|".join(f"(?:{_patterns(m)[0]})" for m in active)
                rows = np.flatnonzero(_match(col, union))
                self._hit_rate[group] = 0.8 * self._hit_rate.get(group, 0.0) + 0.2 * rows.size / n
                if not rows.size:
                    continue
                one = len(active) == 1 and len(_patterns(active[0])) == 1 and not dense  # union = member
                sub = col if rows.size == n or one else col.take(pa.array(rows))
            for m in active:
                pats = _patterns(m)
                hit = np.ones(rows.size, bool) if len(active) == 1 and not dense else _match(sub, pats[0])
                for extra in pats[1:]:
                    hit &= _match(sub, extra)
                flags[row_of[m], rows] = hit
            if dense:  # keep measuring now and then so a sparse stretch switches back
                self._dense_batches += 1
                if self._dense_batches % 16 == 0:
                    self._hit_rate[group] = 0.0
        return flags

    def _fold(self, texts: list[str | None], col: pa.ChunkedArray) -> tuple[dict[int, str], np.ndarray]:
        """Fold the documents that need it; prefilter flags computed on the folded text."""
        fold_rows = np.flatnonzero(_match(col, FOLD_PREFILTER)) if len(col) else np.zeros(0, np.int64)
        folded = {int(i): fold(texts[i]) for i in fold_rows}  # type: ignore[arg-type]
        flags = self.candidates(col)
        if folded:
            flags[:, fold_rows] = self.candidates(pa.chunked_array([pa.array(list(folded.values()), pa.string())]))
        return folded, flags

    def process(self, batch: pa.Table, stats: StageStats) -> pa.Table:
        self.ensure_setup()
        n = batch.num_rows
        texts, col = _texts(batch.column("text"), stats)
        folded, flags = self._fold(texts, col)
        counts = np.zeros((len(PII_TYPES), n), np.int32)
        out_texts = list(texts)
        reasons: list[str | None] = [None] * n
        changed = False
        candidates = np.flatnonzero(flags.any(axis=0)) if n else []
        for i in candidates:
            text = texts[i]
            if not text:
                continue
            t = folded.get(int(i), text)
            found = [det.fn(t) for k, det in enumerate(self._detectors) if flags[k, i]]
            spans = resolve(found, self._types)
            if not spans:
                continue
            for sp in spans:
                counts[self._type_index[sp.type], i] += 1
            new = apply_spans(text, spans, self._actions)
            if new is not text:
                out_texts[i] = new
                changed = True
            for t_drop in self._drop_types:
                if counts[self._type_index[t_drop], i]:
                    reasons[i] = f"pii:{t_drop}"
                    break
        stats.add("pii.detector_runs", int(flags.sum()))  # (detector, document) pairs run in Python
        totals = counts.sum(axis=0, dtype=np.int32)
        stats.add("pii.docs_with_pii", int(np.count_nonzero(totals)))
        for k, t in enumerate(PII_TYPES):
            c = int(counts[k].sum())
            if c:
                stats.add(f"pii.{t}", c)
        return self._assemble(batch, out_texts if changed else None, col, counts, totals, reasons)

    def _assemble(self, batch: pa.Table, out_texts: list[str | None] | None, col: pa.ChunkedArray,
                  counts: np.ndarray, totals: np.ndarray, reasons: list[str | None]) -> pa.Table:
        drop = [c for c in (*COUNT_COLUMNS, TOTAL_COLUMN) if c in batch.column_names]
        out = batch.drop_columns(drop) if drop else batch
        idx = out.column_names.index("text")
        new_text = pa.array(out_texts, col.type) if out_texts is not None else col
        out = out.set_column(idx, out.schema.field("text").with_type(col.type), new_text)
        for k, name in enumerate(COUNT_COLUMNS):
            out = out.append_column(pa.field(name, pa.int32()), pa.array(counts[k], pa.int32()))
        out = out.append_column(pa.field(TOTAL_COLUMN, pa.int32()), pa.array(totals, pa.int32()))
        if self._drop_types:
            out = out.append_column(pa.field(REJECT_COLUMN, pa.string()), pa.array(reasons, pa.string()))
        return out
