"""Quality stage: annotate every document with quality signals and drop those that fail the rules.

Signals (one column each, float32; null where a filter is off for the document's language):
Gopher quality (``gq_*``), Gopher repetition (``gr_*``), C4 line rules (``c4_*``), FineWeb quality
(``fw_*``), Korean web spam (``spam_*``), Korean toxicity (``toxic_*`` lexicon signals and, with a
configured model, ``toxicity_score``) and a fastText quality score (``quality_score``). The
document's language comes from the ``lang`` column (language-ID stage) or, when absent, from a
script-based guess; per-language thresholds live in ``languages`` (Korean defaults follow FineWeb-2's
kor_Hang). ``quality_failed`` lists every rule a document fails; ``reject_reason`` holds the first.
Text is NFC-normalised before any splitting, so NFD (jamo) input is measured like composed Hangul.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from core.schema import REJECT_COLUMN
from core.stage import Stage, StageConfig
from core.stats import StageStats
from stages.quality import signals as sig
from stages.quality.classifier import DEFAULT_MODEL_PATH, QualityModel
from stages.quality.ngrams import NgramIndex
from stages.quality.rules import (
    DEFAULT_LANGUAGES,
    DUP_NS,
    TOP_NS,
    LanguageRules,
    Rule,
    c4_rules,
    fineweb_rules,
    gopher_quality_rules,
    gopher_repetition_rules,
    merge_language,
    spam_rules,
    toxicity_rules,
)
from stages.quality.spam import DEFAULT_LISTS, spam_signals
from stages.quality.text import korean_stop_hits, nfc, script_counts, split_words
from stages.quality.toxicity import toxicity_signals
from stages.quality.toxicity_model import ToxicityModel

log = logging.getLogger(__name__)

FilterName = Literal["gopher_repetition", "fineweb", "gopher_quality", "c4", "spam", "toxicity", "model"]
#: Order in which rules are checked (the first failure becomes ``reject_reason``).
DEFAULT_FILTERS: list[FilterName] = ["gopher_repetition", "fineweb", "gopher_quality", "c4", "spam", "toxicity",
                                     "model"]
_REASON_PREFIX = {"gopher_repetition": "gopher_rep_", "fineweb": "fineweb_", "gopher_quality": "",
                  "c4": "c4_", "spam": "", "toxicity": "", "model": ""}

GQ_SIGNALS = ["gq_words", "gq_mean_word_length", "gq_hash_ratio", "gq_ellipsis_ratio", "gq_bullet_lines_ratio",
              "gq_end_ellipsis_lines_ratio", "gq_alpha_words_ratio", "gq_stop_words"]
GR_SIGNALS = (["gr_dup_para_frac", "gr_dup_para_char_frac", "gr_dup_line_frac", "gr_dup_line_char_frac"]
              + [f"gr_top_{n}_gram_frac" for n in TOP_NS] + [f"gr_dup_{n}_gram_frac" for n in DUP_NS])
C4_SIGNALS = ["c4_sentences", "c4_kept_line_frac", "c4_lorem_ipsum", "c4_curly_bracket"]
FW_SIGNALS = ["fw_line_punct_ratio", "fw_short_line_ratio", "fw_char_dup_ratio", "fw_new_line_ratio"]
SPAM_SIGNALS = ["spam_adult_hits", "spam_gambling_hits", "spam_loan_hits", "spam_keyword_hits",
                "spam_keyword_density", "spam_phone_max_repeat", "spam_stuffed_line_frac"]
TOX_SIGNALS = ["toxic_lexicon_hits", "toxic_hate_hits", "toxic_lexicon_ratio", "toxicity_score"]
SIGNALS = GQ_SIGNALS + GR_SIGNALS + C4_SIGNALS + FW_SIGNALS + SPAM_SIGNALS + TOX_SIGNALS + ["quality_score"]
_ISO3 = {"kor": "ko", "eng": "en", "jpn": "ja", "zho": "zh", "cmn": "zh"}


class QualityConfig(StageConfig):
    """YAML keys of the ``quality`` stage."""

    #: Per-language rules; a partial block is merged onto the built-in defaults for that language.
    languages: dict[str, LanguageRules] = Field(default_factory=dict)
    #: Language assumed when a document has no ``lang`` value and the script guess is off or unsure.
    default_language: str = "ko"
    #: When ``lang`` is missing or null, guess from letters: Hangul >= 30 % -> ko, Latin >= 50 % -> en,
    #: other scripts -> "und" (handled by ``unknown_language``), no letters -> ``default_language``.
    guess_language: bool = True
    lang_column: str = "lang"
    #: Documents labelled with a language that has no rules: keep them unfiltered (counted as
    #: ``unconfigured_language``), apply the default language's rules, or reject them. Documents whose
    #: script guess is undetermined (``und``: mixed or other scripts, no ``lang``) get the default rules.
    unknown_language: Literal["keep", "default", "reject"] = "keep"
    #: Filters to run, in the order their rules are checked.
    filters: list[FilterName] = Field(default_factory=lambda: list(DEFAULT_FILTERS))
    #: fastText quality model (``.bin``/``.ftz``); None uses the small model shipped with the project.
    model_path: str | None = None
    #: Default score threshold for languages that set none (None: score only, never drop). The shipped
    #: model keeps >= 98.9 % of real Korean/English reference text at 0.1 (benchmarks/quality.py).
    model_threshold: float | None = 0.1
    #: Characters of each document the model reads.
    model_max_chars: int = 20_000
    #: Spam keyword list files per category.
    spam_lists: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LISTS))
    #: Korean word splitter: ``korean`` (fast, Arrow regex rewrites) or ``kiwi`` (Kiwi morphemes, as
    #: FineWeb-2; ~0.1 MB/s per core). Shorthand for ``languages: {ko: {tokenizer: ...}}``.
    korean_tokenizer: Literal["korean", "kiwi"] | None = None
    #: Toxicity lexicon (``TERM<TAB>CATEGORY[<TAB>FLAGS]``) and its list of benign look-alikes;
    #: None uses the Korean lists shipped with the project.
    toxicity_lexicon: str | None = None
    toxicity_allow: str | None = None
    #: fastText toxicity model (``axk1 quality train-toxicity``); None: no ``toxicity_score``.
    toxicity_model_path: str | None = None
    #: Compute signals only; never reject.
    annotate_only: bool = False

    @model_validator(mode="before")
    @classmethod
    def _merge_languages(cls, data: Any) -> Any:
        if isinstance(data, dict):
            user = data.get("languages") or {}
            langs = {k: merge_language(v, None) for k, v in DEFAULT_LANGUAGES.items()}
            for k, v in user.items():
                if isinstance(v, LanguageRules):
                    v = v.model_dump()
                langs[k] = merge_language(DEFAULT_LANGUAGES.get(k, {}), v)
            if data.get("korean_tokenizer") in ("korean", "kiwi") and isinstance(langs.get("ko"), dict):
                langs["ko"] = {**langs["ko"], "tokenizer": data["korean_tokenizer"]}
            data = {**data, "languages": langs}
        return data

    @model_validator(mode="after")
    def _check(self) -> QualityConfig:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} has no rules in `languages`")
        return self


def _field(name: str) -> pa.Field:
    return pa.field(name, pa.float32())


class QualityStage(Stage):
    """Quality signals as columns (Gopher, C4, FineWeb, Korean spam, fastText score); filter per language."""

    name = "quality"
    Config = QualityConfig
    output_fields = ([pa.field("quality_lang", pa.string())] + [_field(s) for s in SIGNALS]
                     + [pa.field("quality_failed", pa.string())])

    def setup(self) -> None:
        cfg: QualityConfig = self.config  # type: ignore[assignment]
        self.model: QualityModel | None = None
        if "model" in cfg.filters:
            self.model = QualityModel.load(cfg.model_path or str(DEFAULT_MODEL_PATH))
        self.toxicity_model: ToxicityModel | None = None
        if "toxicity" in cfg.filters and cfg.toxicity_model_path:
            self.toxicity_model = ToxicityModel(cfg.toxicity_model_path)
        self._rules = {lang: self._build_rules(r) for lang, r in cfg.languages.items()}

    def _build_rules(self, r: LanguageRules) -> list[tuple[str, Rule]]:
        cfg: QualityConfig = self.config  # type: ignore[assignment]
        out: list[tuple[str, Rule]] = []
        for f in cfg.filters:
            block = getattr(r, f, None) if f != "model" else None
            rules: list[Rule] = []
            if f == "gopher_quality" and block is not None:
                rules = gopher_quality_rules(block)
            elif f == "gopher_repetition" and block is not None:
                rules = gopher_repetition_rules(block)
            elif f == "c4" and block is not None:
                rules = c4_rules(block)
            elif f == "fineweb" and block is not None:
                rules = fineweb_rules(block)
            elif f == "spam" and block is not None:
                rules = spam_rules(block)
            elif f == "toxicity" and block is not None:
                rules = toxicity_rules(block)
                if self.toxicity_model is None:  # no score without a model
                    rules = [x for x in rules if x.reason != "toxicity_model_above_threshold"]
            elif f == "model":
                thr = r.model_threshold if r.model_threshold is not None else cfg.model_threshold
                if thr is not None:
                    rules = [Rule("quality_model_below_threshold", lambda s, thr=thr: s["quality_score"] < thr)]
            out += [(f, Rule(_REASON_PREFIX[f] + x.reason, x.fails)) for x in rules]
        return out

    # -- language ---------------------------------------------------------------------------------

    def _languages(self, batch: pa.Table, text: pa.Array) -> np.ndarray:
        cfg: QualityConfig = self.config  # type: ignore[assignment]
        n = batch.num_rows
        langs = np.full(n, None, dtype=object)
        if cfg.lang_column in batch.column_names:
            raw = batch.column(cfg.lang_column).to_pylist()
            langs[:] = [_norm_lang(x) for x in raw]
        missing = np.array([x is None for x in langs], bool)
        if missing.any():
            if cfg.guess_language:
                # Hangul >= 30 % of letters: ko; Latin >= 50 %: en; no letters: default; else undetermined
                hangul, latin, letters = script_counts(text)
                guess = np.where(letters == 0, cfg.default_language,
                                 np.where(hangul >= 0.3 * letters, "ko",
                                          np.where(latin >= 0.5 * letters, "en", "und"))).astype(object)
                langs[missing] = guess[missing]
            else:
                langs[missing] = cfg.default_language
        return langs

    # -- processing -------------------------------------------------------------------------------

    def process(self, batch: pa.Table, stats: StageStats) -> pa.Table:
        cfg: QualityConfig = self.config  # type: ignore[assignment]
        n = batch.num_rows
        text = nfc(batch.column("text").combine_chunks() if n else pa.array([], pa.string()))
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        langs = self._languages(batch, text)
        signals = {s: np.full(n, np.nan) for s in SIGNALS}
        lengths = sig.text_lengths(text) if n else np.zeros(0)
        empty = ~np.asarray(pc.match_substring_regex(text, r"\S").to_numpy(zero_copy_only=False), bool) \
            if n else np.zeros(0, bool)

        rule_lang = np.array([self._rule_language(x) for x in langs], dtype=object)
        for lang in sorted({x for x in rule_lang if x is not None}):
            rows = np.nonzero((rule_lang == lang) & ~empty)[0]
            if len(rows):
                self._group_signals(lang, rows, text, lengths, signals)
                stats.add(f"lang_{lang}", len(rows))
        if "spam" in cfg.filters and n:
            for k, v in spam_signals(text, cfg.spam_lists).items():
                if k in signals:
                    signals[k] = v
        if "toxicity" in cfg.filters and n:
            signals.update(toxicity_signals(text, cfg.toxicity_lexicon, cfg.toxicity_allow))
        ok = np.nonzero(~empty)[0]
        if (self.model is not None or self.toxicity_model is not None) and len(ok):
            sub = pc.utf8_slice_codeunits(text.take(pa.array(ok)), 0, cfg.model_max_chars).to_pylist()
            if self.model is not None:
                signals["quality_score"][ok] = self.model.score(sub)
            if self.toxicity_model is not None:
                signals["toxicity_score"][ok] = self.toxicity_model.score(sub)

        reasons, failed = self._decide(langs, rule_lang, empty, signals, stats)
        out = batch
        out = out.append_column(pa.field("quality_lang", pa.string()), pa.array(list(langs), pa.string()))
        for s in SIGNALS:
            vals = signals[s].astype(np.float32)
            out = out.append_column(_field(s), pa.array(vals, pa.float32(), mask=np.isnan(vals)))
        out = out.append_column(pa.field("quality_failed", pa.string()), pa.array(failed, pa.string()))
        if not cfg.annotate_only:
            col = pa.array(reasons, pa.string())
            if REJECT_COLUMN in out.column_names:
                prev = out.column(REJECT_COLUMN).combine_chunks()
                col = pc.coalesce(prev, col)
                out = out.drop_columns([REJECT_COLUMN])
            out = out.append_column(REJECT_COLUMN, col)
        return out

    def _rule_language(self, lang: str | None) -> str | None:
        cfg: QualityConfig = self.config  # type: ignore[assignment]
        if lang in cfg.languages:
            return lang
        if lang == "und" or cfg.unknown_language == "default":
            return cfg.default_language
        return None

    def _group_signals(self, lang: str, rows: np.ndarray, text: pa.Array, lengths: np.ndarray,
                       signals: dict[str, np.ndarray]) -> None:
        cfg: QualityConfig = self.config  # type: ignore[assignment]
        rules = cfg.languages[lang]
        sub = text.take(pa.array(rows))
        sub_len = lengths[rows]
        tokens = split_words(sub, rules.tokenizer)
        found: dict[str, np.ndarray] = {}
        if "gopher_quality" in cfg.filters and rules.gopher_quality is not None:
            stops = rules.gopher_quality.stop_words
            extra = korean_stop_hits(sub, stops) if rules.tokenizer == "korean" else None
            found.update(sig.gopher_quality(sub, tokens, stops, extra))
        if "gopher_repetition" in cfg.filters and rules.gopher_repetition is not None:
            found.update(sig.gopher_repetition(sub, tokens, NgramIndex(tokens), sub_len))
        if "fineweb" in cfg.filters and rules.fineweb is not None:
            found.update(sig.fineweb(sub, tokens, sub_len, rules.fineweb.short_line_length))
        if "c4" in cfg.filters and rules.c4 is not None:
            found.update(sig.c4(sub, rules.c4))
        for k, v in found.items():
            signals[k][rows] = v

    def _decide(self, langs: np.ndarray, rule_lang: np.ndarray, empty: np.ndarray,
                signals: dict[str, np.ndarray], stats: StageStats) -> tuple[list[str | None], list[str | None]]:
        cfg: QualityConfig = self.config  # type: ignore[assignment]
        n = len(langs)
        reasons: list[str | None] = [None] * n
        failed_lists: list[list[str]] = [[] for _ in range(n)]
        for i in np.nonzero(empty)[0]:
            reasons[i] = "empty_text"
            failed_lists[i].append("empty_text")
        for lang in sorted({x for x in rule_lang if x is not None}):
            rows = np.nonzero((rule_lang == lang) & ~empty)[0]
            if not len(rows):
                continue
            sub = {k: v[rows] for k, v in signals.items()}
            with np.errstate(invalid="ignore"):
                for _, rule in self._rules[lang]:
                    mask = np.asarray(rule.fails(sub), bool)
                    for j in np.nonzero(mask)[0]:
                        i = rows[j]
                        failed_lists[i].append(rule.reason)
                        if reasons[i] is None:
                            reasons[i] = rule.reason
        unknown = np.array([x is None for x in rule_lang], bool) & ~empty
        if unknown.any():
            stats.add("unconfigured_language", int(unknown.sum()))
            if cfg.unknown_language == "reject":
                for i in np.nonzero(unknown)[0]:
                    reasons[i] = "quality_unconfigured_language"
                    failed_lists[i].append("quality_unconfigured_language")
        failed = [",".join(f) if f else None for f in failed_lists]
        return reasons, failed


def _norm_lang(x: Any) -> str | None:
    if x is None:
        return None
    s = str(x).strip().lower().removeprefix("__label__")
    if not s:
        return None
    s = s.replace("-", "_").split("_")[0]
    return _ISO3.get(s, s)
