"""Per-language thresholds for the quality filters, and the rules that turn signals into reasons.

Defaults: English follows datatrove's Gopher/C4/FineWeb defaults as used for FineWeb (C4 without the
terminal-punctuation line rule); Korean follows FineWeb-2's ``kor_Hang`` configuration (Gopher
repetition with only the duplicate-line and n-gram rules, FineWeb quality with short-line rule off and
``char_duplicates_ratio`` 0.1, Gopher quality with Korean stop words, no C4). A threshold of ``None``
or 0 disables that rule, as in datatrove.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from stages.quality.text import TokenizerName

TOP_NS = (2, 3, 4)
DUP_NS = (5, 6, 7, 8, 9, 10)

EN_STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
#: FineWeb-2 kor_Hang stop words (Kiwi morpheme surface forms).
KO_STOP_WORDS = ["의", "다", "이", "는", "에", "을", "한", "년", "하", "은", "를", "했", "고", "에서", "가",
                 "있", "으로", "인", "월", "로", "되"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GopherQualityRules(_Strict):
    min_doc_words: int | None = 50
    max_doc_words: int | None = 100_000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    #: Minimum share of words containing a letter (datatrove's ``max_non_alpha_words_ratio``).
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2
    stop_words: list[str] = EN_STOP_WORDS


class GopherRepetitionRules(_Strict):
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    top_n_grams: dict[int, float] = {2: 0.2, 3: 0.18, 4: 0.16}
    dup_n_grams: dict[int, float] = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}

    @field_validator("top_n_grams", "dup_n_grams", mode="before")
    @classmethod
    def _pairs(cls, v: Any) -> Any:
        # accept FineWeb-2 style [[n, frac], ...] as well as {n: frac}
        return dict((int(a), float(b)) for a, b in v) if isinstance(v, list | tuple) else v

    @field_validator("top_n_grams")
    @classmethod
    def _top_ns(cls, v: dict[int, float]) -> dict[int, float]:
        if not set(v) <= set(TOP_NS):
            raise ValueError(f"top_n_grams supports n in {TOP_NS}")
        return v

    @field_validator("dup_n_grams")
    @classmethod
    def _dup_ns(cls, v: dict[int, float]) -> dict[int, float]:
        if not set(v) <= set(DUP_NS):
            raise ValueError(f"dup_n_grams supports n in {DUP_NS}")
        return v


class C4Rules(_Strict):
    filter_no_terminal_punct: bool = False
    min_num_sentences: int | None = 5
    min_words_per_line: int = 3
    max_word_length: int = 1000
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True


class FineWebRules(_Strict):
    line_punct_thr: float | None = 0.12
    line_punct_exclude_zero: bool = False
    short_line_thr: float | None = 0.67
    short_line_length: int = 30
    char_duplicates_ratio: float | None = 0.01
    new_line_ratio: float | None = 0.3


class SpamRules(_Strict):
    #: Keyword hits (gambling + adult + loan lists) per 100 words above which a page is spam.
    max_keyword_density: float | None = 3.0
    #: ... but only once a page has at least this many hits (short pages mention a word once).
    min_keyword_hits: int = 3
    #: Most times one phone number may appear.
    max_phone_repeats: int | None = 3
    #: Share of lines that are keyword lists (>= 2 hits and >= 30 % of the line's words).
    max_stuffed_line_frac: float | None = 0.2


class ToxicityRules(_Strict):
    """Toxicity filter: lexicon hits (profanity, insults, slurs) and the optional classifier score."""

    #: Lexicon hits per word above which a document is dropped (None: annotate only) ...
    max_lexicon_ratio: float | None = 0.02
    #: ... once it has at least this many hits (a news report quoting one slur stays).
    min_lexicon_hits: int = 3
    #: ``toxicity_score`` at or above which a document is dropped (None: annotate only). Used only
    #: when the quality config names a ``toxicity_model_path``.
    model_threshold: float | None = None


class LanguageRules(_Strict):
    """Everything language-specific: how to split words and each filter's thresholds (None: off)."""

    tokenizer: TokenizerName = "latin"
    gopher_quality: GopherQualityRules | None = GopherQualityRules()
    gopher_repetition: GopherRepetitionRules | None = GopherRepetitionRules()
    c4: C4Rules | None = C4Rules()
    fineweb: FineWebRules | None = FineWebRules()
    spam: SpamRules | None = SpamRules()
    toxicity: ToxicityRules | None = ToxicityRules()
    #: Documents scoring below this with the quality model are dropped (None: annotate only).
    model_threshold: float | None = None


DEFAULT_LANGUAGES: dict[str, dict[str, Any]] = {
    "en": {},
    "ko": {
        "tokenizer": "korean",
        "gopher_quality": {
            "min_avg_word_length": 1, "max_avg_word_length": 6,
            "min_alpha_words_ratio": 0.791, "stop_words": KO_STOP_WORDS,
        },
        "gopher_repetition": {
            "dup_line_frac": 0.374, "dup_para_frac": 0, "dup_line_char_frac": 0, "dup_para_char_frac": 0,
            "top_n_grams": {2: 0.282, 3: 0.228, 4: 0.185},
            "dup_n_grams": {5: 0.201, 6: 0.184, 7: 0.168, 8: 0.154, 9: 0.14, 10: 0.127},
        },
        "c4": None,
        "fineweb": {"line_punct_thr": 0.062, "short_line_thr": None, "char_duplicates_ratio": 0.1,
                    "new_line_ratio": 0.196},
    },
}


def merge_language(base: dict[str, Any] | None, override: dict[str, Any] | None) -> dict[str, Any]:
    """Deep-merge a user's partial language block onto the built-in defaults for that language."""
    out = dict(base or {})
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("top_n_grams", "dup_n_grams"):
            out[k] = merge_language(out[k], v)
        else:
            out[k] = v
    return out


def _on(x: float | int | None) -> bool:
    return bool(x)


@dataclass
class Rule:
    """One rejection rule: its reason string and a mask over documents (True = fails)."""

    reason: str
    fails: Callable[[dict[str, np.ndarray]], np.ndarray]


def gopher_quality_rules(r: GopherQualityRules) -> list[Rule]:
    rules: list[Rule] = []
    if _on(r.min_doc_words):
        rules.append(Rule("gopher_short_doc", lambda s: s["gq_words"] < r.min_doc_words))
    if _on(r.max_doc_words):
        rules.append(Rule("gopher_long_doc", lambda s: s["gq_words"] > r.max_doc_words))
    if _on(r.min_avg_word_length):
        rules.append(Rule("gopher_below_avg_threshold", lambda s: s["gq_mean_word_length"] < r.min_avg_word_length))
    if _on(r.max_avg_word_length):
        rules.append(Rule("gopher_above_avg_threshold", lambda s: s["gq_mean_word_length"] > r.max_avg_word_length))
    if _on(r.max_symbol_word_ratio):
        rules.append(Rule("gopher_too_many_hashes", lambda s: s["gq_hash_ratio"] > r.max_symbol_word_ratio))
        rules.append(Rule("gopher_too_many_ellipsis", lambda s: s["gq_ellipsis_ratio"] > r.max_symbol_word_ratio))
    if _on(r.max_bullet_lines_ratio):
        rules.append(Rule("gopher_too_many_bullets", lambda s: s["gq_bullet_lines_ratio"] > r.max_bullet_lines_ratio))
    if _on(r.max_ellipsis_lines_ratio):
        rules.append(Rule("gopher_too_many_end_ellipsis",
                          lambda s: s["gq_end_ellipsis_lines_ratio"] > r.max_ellipsis_lines_ratio))
    if _on(r.min_alpha_words_ratio):
        rules.append(Rule("gopher_below_alpha_threshold", lambda s: s["gq_alpha_words_ratio"] < r.min_alpha_words_ratio))
    if _on(r.min_stop_words):
        rules.append(Rule("gopher_enough_stop_words", lambda s: s["gq_stop_words"] < r.min_stop_words))
    return rules


def gopher_repetition_rules(r: GopherRepetitionRules) -> list[Rule]:
    rules: list[Rule] = []
    for key, thr in (("dup_para_frac", r.dup_para_frac), ("dup_para_char_frac", r.dup_para_char_frac),
                     ("dup_line_frac", r.dup_line_frac), ("dup_line_char_frac", r.dup_line_char_frac)):
        if _on(thr):
            rules.append(Rule(key, lambda s, key=key, thr=thr: s[f"gr_{key}"] > thr))
    for n, thr in sorted(r.top_n_grams.items()):
        if _on(thr):
            rules.append(Rule(f"top_{n}_gram", lambda s, n=n, thr=thr: s[f"gr_top_{n}_gram_frac"] > thr))
    for n, thr in sorted(r.dup_n_grams.items()):
        if _on(thr):
            rules.append(Rule(f"duplicated_{n}_n_grams", lambda s, n=n, thr=thr: s[f"gr_dup_{n}_gram_frac"] > thr))
    return rules


def c4_rules(r: C4Rules) -> list[Rule]:
    rules = [Rule("lorem_ipsum", lambda s: s["c4_lorem_ipsum"] > 0),
             Rule("curly_bracket", lambda s: s["c4_curly_bracket"] > 0)]
    if r.min_num_sentences is not None and r.min_num_sentences > 0:
        rules.append(Rule("too_few_sentences", lambda s: s["c4_sentences"] < r.min_num_sentences))
    return rules


def fineweb_rules(r: FineWebRules) -> list[Rule]:
    rules: list[Rule] = []
    if r.line_punct_thr is not None:
        thr, ex0 = r.line_punct_thr, r.line_punct_exclude_zero
        rules.append(Rule("line_punct_ratio", lambda s: (s["fw_line_punct_ratio"] < thr)
                          & ~((s["fw_line_punct_ratio"] == 0) & ex0)))
    if r.short_line_thr is not None:
        rules.append(Rule("short_line_ratio", lambda s: s["fw_short_line_ratio"] > r.short_line_thr))
    if r.char_duplicates_ratio is not None:
        rules.append(Rule("char_dup_ratio", lambda s: s["fw_char_dup_ratio"] > r.char_duplicates_ratio))
    if r.new_line_ratio is not None:
        rules.append(Rule("list_ratio", lambda s: s["fw_new_line_ratio"] > r.new_line_ratio))
    return rules


def spam_rules(r: SpamRules) -> list[Rule]:
    rules: list[Rule] = []
    if r.max_keyword_density is not None:
        rules.append(Rule("spam_keyword_density", lambda s: (s["spam_keyword_hits"] >= r.min_keyword_hits)
                          & (s["spam_keyword_density"] > r.max_keyword_density)))
    if r.max_phone_repeats is not None:
        rules.append(Rule("spam_repeated_phone", lambda s: s["spam_phone_max_repeat"] > r.max_phone_repeats))
    if r.max_stuffed_line_frac is not None:
        rules.append(Rule("spam_stuffed_lines", lambda s: s["spam_stuffed_line_frac"] > r.max_stuffed_line_frac))
    return rules


def toxicity_rules(r: ToxicityRules) -> list[Rule]:
    rules: list[Rule] = []
    if r.max_lexicon_ratio is not None:
        rules.append(Rule("toxic_lexicon", lambda s: (s["toxic_lexicon_hits"] >= r.min_lexicon_hits)
                          & (s["toxic_lexicon_ratio"] > r.max_lexicon_ratio)))
    if r.model_threshold is not None:
        rules.append(Rule("toxicity_model_above_threshold", lambda s: s["toxicity_score"] >= r.model_threshold))
    return rules
