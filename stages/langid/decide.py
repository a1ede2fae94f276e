"""Combine fastText predictions with script statistics into one label per text.

The model is strong on sentences but confuses the CJK languages (Korean with Hanja is called
Japanese; Chinese is often called Japanese) and knows nothing about short or out-of-vocabulary
Hangul strings (it then answers ``en`` with 0.125). Scripts settle most of these cases:

- Hangul is written only for Korean, kana only for Japanese. A text is Korean *by script* when
  Hangul is a large share of its letters (``hangul_share_korean``), or it is CJK text in which
  Hangul is a large share of the CJK letters (Korean with Hanja), and it has almost no kana.
- ``ko`` is never given to a text with too little Hangul or with more kana than Hangul: such a
  prediction falls back to the next label, so Japanese and Chinese are never labelled Korean.
- ``ja`` needs kana; a Han-only text the model calls ``ja`` becomes ``zh``; a text with much kana
  the model calls ``zh`` becomes ``ja``; a CJK text the model has no n-grams for follows its script.

Scores: when script evidence resolves a CJK confusion, the probability mass the model put on the
confusable CJK labels (ko, ja, zh, wuu, yue) is merged into the chosen label. For Korean decided
by script the score is at least the Hangul share of letters, a syllable block counted as
``HANGUL_SYLLABLE_WEIGHT`` letters (Hangul is decisive evidence even when the model has no n-grams
for the words). Raw model scores stay available in ``lang_topk``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from stages.langid.script import HAN, HANGUL, KANA, ScriptCounts

UND = "und"
#: Letters' worth of one Hangul syllable block (2-3 jamo) when Hangul is weighed against Latin letters.
HANGUL_SYLLABLE_WEIGHT = 2.5
CJK_LABELS = ("ko", "ja", "zh", "wuu", "yue")
CHINESE_LABELS = ("zh", "wuu", "yue")


class ScriptRules(BaseModel):
    """Script thresholds (shares of letters unless stated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Hangul share above which a text with (almost) no kana is Korean whatever the model says.
    hangul_share_korean: float = Field(0.4, ge=0.0, le=1.0)
    #: Korean with Hanja: Hangul share of the CJK letters, with CJK letters >= half the letters.
    hangul_share_of_cjk: float = Field(0.35, ge=0.0, le=1.0)
    #: Minimum Hangul share for any ``ko`` label.
    hangul_share_min: float = Field(0.05, ge=0.0, le=1.0)
    #: Most kana a Korean text may carry (quotes of Japanese words).
    kana_share_max_korean: float = Field(0.05, ge=0.0, le=1.0)
    #: Least kana share for ``ja`` on a mostly-Han text.
    kana_share_min_japanese: float = Field(0.05, ge=0.0, le=1.0)
    #: Kana share above which a text the model calls Chinese is Japanese.
    kana_share_japanese: float = Field(0.2, ge=0.0, le=1.0)


@dataclass
class Decision:
    lang: list[str]
    score: np.ndarray  # float64
    script_override: np.ndarray  # bool: the label differs from the model's top label


def _probs_for(labels: list[list[str]], probs: list[np.ndarray], wanted: tuple[str, ...]) -> np.ndarray:
    """Matrix (n, len(wanted)) of each wanted label's probability (0 when outside the top-k)."""
    index = {lab: j for j, lab in enumerate(wanted)}
    out = np.zeros((len(labels), len(wanted)), dtype=np.float64)
    for i, (labs, ps) in enumerate(zip(labels, probs)):
        for lab, p in zip(labs, ps):
            j = index.get(lab)
            if j is not None:
                out[i, j] = p
    return out


def decide(labels: list[list[str]], probs: list[np.ndarray], scripts: ScriptCounts,
           rules: ScriptRules | None = None) -> Decision:
    """Final label and score per text from model top-k and script counts (rows aligned)."""
    rules = rules or ScriptRules()
    n = len(labels)
    top = np.array([labs[0] if labs else UND for labs in labels], dtype=object)
    top_p = np.array([float(ps[0]) if len(ps) else 0.0 for ps in probs], dtype=np.float64)
    cjk_p = _probs_for(labels, probs, CJK_LABELS)
    p_ko = cjk_p[:, 0]
    p_cjk = cjk_p.sum(axis=1)

    h, c, k = scripts.share(HANGUL), scripts.share(HAN), scripts.share(KANA)
    cjk = h + c + k
    h_of_cjk = np.divide(h, cjk, out=np.zeros(n), where=cjk > 0)

    ko_allowed = (h >= rules.hangul_share_min) & (k < h)
    ko_script = (k <= rules.kana_share_max_korean) & (
        (h >= rules.hangul_share_korean)
        | ((cjk >= 0.5) & (h_of_cjk >= rules.hangul_share_of_cjk) & (h >= rules.hangul_share_min))
    )

    lang = top.copy()
    score = top_p.copy()

    # 1. ``ko`` without Korean script falls back to the best other label.
    bad_ko = (top == "ko") & ~ko_allowed
    for i in np.flatnonzero(bad_ko):
        alt = [(lab, float(p)) for lab, p in zip(labels[i], probs[i]) if lab != "ko"]
        lang[i], score[i] = alt[0] if alt else (UND, 0.0)

    # 2. Korean by script, or by the model where the script allows it.
    is_ko = ko_script | ((top == "ko") & ko_allowed)
    lang[is_ko] = "ko"
    # Script confidence: Hangul share counted in jamo (a syllable block holds ~2.5 letters' worth).
    hangul_n = scripts.counts[:, HANGUL].astype(np.float64)
    other_n = scripts.letters - hangul_n
    weighted = HANGUL_SYLLABLE_WEIGHT * hangul_n
    h_conf = np.divide(weighted, weighted + other_n, out=np.zeros(n), where=(weighted + other_n) > 0)
    score[is_ko] = np.maximum(p_cjk[is_ko], np.where(ko_script, h_conf, 0.0)[is_ko])

    # 3. Japanese needs kana; much kana is Japanese; CJK text unknown to the model follows script.
    mostly_cjk = (c + k) >= 0.5
    chinese_like = ~is_ko & mostly_cjk & (k < rules.kana_share_min_japanese)
    japanese_like = ~is_ko & mostly_cjk & (k >= rules.kana_share_japanese)
    not_cjk_label = ~np.isin(lang, CJK_LABELS)
    to_zh = chinese_like & ((lang == "ja") | not_cjk_label)
    to_ja = japanese_like & (np.isin(lang, CHINESE_LABELS) | not_cjk_label | (lang == "ko"))
    cjk_mass = p_cjk - p_ko
    lang[to_zh] = "zh"
    score[to_zh] = cjk_mass[to_zh]
    lang[to_ja] = "ja"
    score[to_ja] = cjk_mass[to_ja]

    score = np.clip(score, 0.0, 1.0)
    override = lang != top
    return Decision(lang=lang.tolist(), score=score, script_override=override)
