"""Quality stage benchmark: throughput and decisions, ours vs datatrove's filter chain, in one run.

Measures, on this machine's real data (../shared/data beside the repo):

* throughput (MB/s on one core) of our quality stage and of datatrove's equivalent chain
  (Korean: FineWeb-2 kor_Hang GopherRepetition -> FineWebQuality -> GopherQuality with Kiwi words;
  English: FineWeb's GopherRepetition -> GopherQuality -> C4Quality -> FineWebQuality with spaCy words);
* per-filter decision agreement with datatrove on the same documents and thresholds (English: B1
  article texts plus truncated/duplicated/bulleted variants; Korean: D2/D7 sentences joined into
  documents plus generated low-quality pages, NFC input);
* the NFD problem: the same Korean documents decomposed to jamo, through both implementations;
* our Kiwi-free stop-word approximation vs Kiwi morphemes, sentence by sentence on D2/D7;
* keep rate on Korean reference documents and drop rate on generated spam/boilerplate pages;
* the shipped quality model's scores on both.

Run: ``.venv/bin/python benchmarks/quality.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.stats import StageStats  # noqa: E402
from stages.quality.rules import KO_STOP_WORDS  # noqa: E402
from stages.quality.stage import QualityStage  # noqa: E402
from stages.quality.synth import low_quality_korean  # noqa: E402
from stages.quality.text import korean_stop_hits, split_korean  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
HEURISTICS = ["gopher_repetition", "fineweb", "gopher_quality", "c4"]


# --- data -------------------------------------------------------------------------------------------

def korean_sentences() -> list[tuple[str, list[str]]]:
    """(source, sentences) groups from D2 sentence-split sets (per document) and D7 premises (per genre)."""
    groups: list[tuple[str, list[str]]] = []
    for f in sorted((DATA / "D2_kiwipiepy_benchmarks/benchmark/sentence_split/testset").glob("*.txt")):
        for block in f.read_text(encoding="utf-8").split("\n\n"):
            sents = [s.strip() for s in block.splitlines() if s.strip()]
            if sents:
                groups.append((f"D2/{f.stem}", sents))
    nli = json.loads((DATA / "D7_klue_nli_dev/klue_benchmark/klue-nli-v1.1/klue-nli-v1.1_dev.json").read_text())
    by_src: dict[str, list[str]] = {}
    for row in nli:
        by_src.setdefault(row["source"], [])
        if row["premise"] not in by_src[row["source"]]:
            by_src[row["source"]].append(row["premise"])
    groups += [(f"D7/{k}", v) for k, v in sorted(by_src.items())]
    return groups


def korean_reference_docs(seed: int = 0) -> list[str]:
    """Sentences joined into documents: 8-14 sentences, 2-4 per paragraph line, within one source."""
    rng = np.random.default_rng(seed)
    docs: list[str] = []
    for _, sents in korean_sentences():
        buf: list[str] = []
        target = int(rng.integers(8, 15))
        for s in sents:
            buf.append(s)
            if len(buf) >= target:
                docs.append(_paragraphs(buf, rng))
                buf, target = [], int(rng.integers(8, 15))
        if len(buf) >= 8:
            docs.append(_paragraphs(buf, rng))
    return docs


def _paragraphs(sents: list[str], rng: np.random.Generator) -> str:
    lines, i = [], 0
    while i < len(sents):
        k = int(rng.integers(2, 5))
        lines.append(" ".join(sents[i:i + k]))
        i += k
    return "\n".join(lines)


def english_docs(seed: int = 0) -> list[str]:
    """B1 article bodies plus three variants each (truncated, half duplicated, bulleted sentences)."""
    gt = json.loads((DATA / "B1_scrapinghub_article_extraction_benchmark/ground-truth.json").read_text())
    base = [v["articleBody"] for _, v in sorted(gt.items()) if v.get("articleBody")]
    rng = np.random.default_rng(seed)
    out = list(base)
    for d in base:
        words = d.split()
        out.append(" ".join(words[: int(rng.integers(20, 80))]))
        lines = d.split("\n")
        out.append("\n".join(lines + lines[: max(1, len(lines) // 2)]))
        out.append("\n".join("- " + s for s in d.split(". ")))
    return out


# --- datatrove --------------------------------------------------------------------------------------

def datatrove_filters(lang: str) -> dict[str, object]:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    if lang == "en":
        return {"gopher_repetition": GopherRepetitionFilter(), "gopher_quality": GopherQualityFilter(),
                "c4": C4QualityFilter(filter_no_terminal_punct=False), "fineweb": FineWebQualityFilter()}
    ko = "kor_Hang"
    return {
        "gopher_repetition": GopherRepetitionFilter(
            language=ko, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0, dup_line_frac=0.374,
            top_n_grams=((2, 0.282), (3, 0.228), (4, 0.185)),
            dup_n_grams=((5, 0.201), (6, 0.184), (7, 0.168), (8, 0.154), (9, 0.14), (10, 0.127))),
        "fineweb": FineWebQualityFilter(language=ko, short_line_thr=999, char_duplicates_ratio=0.1,
                                        line_punct_thr=0.062, new_line_ratio=0.196),
        "gopher_quality": GopherQualityFilter(language=ko, max_avg_word_length=6, min_avg_word_length=1,
                                              stop_words=KO_STOP_WORDS, max_non_alpha_words_ratio=0.791,
                                              min_stop_words=2),
    }


def dt_decide(f: object, text: str) -> tuple[bool, str | None]:
    from datatrove.data import Document

    try:
        r = f.filter(Document(text=text, id="x"))
    except ZeroDivisionError:
        return False, "ZeroDivisionError"
    return (r, None) if not isinstance(r, tuple) else r


def dt_chain(filters: dict[str, object], docs: list[str]) -> int:
    """Run datatrove's chain (each doc stops at its first drop); returns docs kept."""
    from datatrove.data import Document

    kept = 0
    for i, t in enumerate(docs):
        doc = Document(text=t, id=str(i))
        ok = True
        for f in filters.values():
            try:
                r = f.filter(doc)
            except ZeroDivisionError:
                r = False
            if not (r[0] if isinstance(r, tuple) else r):
                ok = False
                break
        kept += ok
    return kept


# --- ours -------------------------------------------------------------------------------------------

def ours(docs: list[str], lang: str, filters: list[str], tokenizer: str | None = None,
         batch: int = 1000) -> list[dict]:
    cfg: dict = {"filters": filters, "default_language": lang, "guess_language": False}
    if tokenizer:
        cfg["languages"] = {lang: {"tokenizer": tokenizer}}
    st = QualityStage(cfg)
    st.ensure_setup()
    rows: list[dict] = []
    for i in range(0, len(docs), batch):
        part = docs[i:i + batch]
        t = pa.table({"id": [str(j) for j in range(i, i + len(part))], "text": part, "lang": [lang] * len(part)})
        rows += st.process(t, StageStats("quality")).drop_columns(["text"]).to_pylist()
    return rows


_PREFIX = {"gopher_quality": "gopher_", "gopher_repetition": "gopher_rep_", "c4": "c4_", "fineweb": "fineweb_",
           "spam": "spam_"}


def _belongs(reason: str, filt: str) -> bool:
    if reason == "empty_text":
        return True
    return reason.startswith(_PREFIX[filt]) and not (filt == "gopher_quality" and reason.startswith("gopher_rep_"))


def fails(row: dict, filt: str) -> bool:
    return any(_belongs(r, filt) for r in (row.get("quality_failed") or "").split(","))


def agreement(docs: list[str], lang: str, rows: list[dict]) -> dict[str, dict]:
    out = {}
    for name, f in datatrove_filters(lang).items():
        dt = [dt_decide(f, d) for d in docs]
        our_keep = [not fails(r, name) for r in rows]
        dt_keep = [k for k, _ in dt]
        agree = sum(a == b for a, b in zip(our_keep, dt_keep))
        diff = {}
        for a, (b, reason), row in zip(our_keep, dt, rows):
            if a != b:
                mine = [x for x in (row["quality_failed"] or "").split(",") if _belongs(x, name)]
                key = f"datatrove drops: {reason}" if not b else f"we drop: {mine[0] if mine else '?'}"
                diff[key] = diff.get(key, 0) + 1
        out[name] = {"docs": len(docs), "agree": agree, "rate": agree / len(docs), "dt_drop": dt_keep.count(False),
                     "ours_drop": our_keep.count(False), "disagreements": diff}
    return out


# --- measurements -----------------------------------------------------------------------------------

def mb(docs: list[str]) -> float:
    return sum(len(d.encode("utf-8")) for d in docs) / 1e6


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best CPU seconds of this process over ``repeat`` runs (the machine is shared: wall time is noisy)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def stopword_agreement(sentences: list[str]) -> dict[str, float]:
    """Our Kiwi-free stop-word detection vs Kiwi morphemes, per sentence."""
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    kiwi = load_word_tokenizer("kor_Hang")
    stop = set(KO_STOP_WORDS)
    arr = pa.array(sentences)
    tok = split_korean(arr)
    vals = tok.values.to_pylist()
    extra = korean_stop_hits(arr, KO_STOP_WORDS)
    tp = fp = fn = 0
    dec_agree = 0
    kiwi_words = our_words = 0
    for i, s in enumerate(sentences):
        kw = kiwi.word_tokenize(s)
        kiwi_words += len(kw)
        ours_tok = vals[tok.offsets[i]:tok.offsets[i + 1]]
        our_words += len(ours_tok)
        k = stop & set(kw)
        o = (stop & set(ours_tok)) | {w for w, hit in extra.items() if hit[i]}
        tp += len(k & o)
        fp += len(o - k)
        fn += len(k - o)
        dec_agree += (len(k) >= 2) == (len(o) >= 2)
    return {"sentences": len(sentences), "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
            "decision_agreement_min2": dec_agree / len(sentences), "words_ratio_ours_to_kiwi": our_words / kiwi_words}


def keep_rate(rows: list[dict]) -> float:
    return sum(r["reject_reason"] is None for r in rows) / max(len(rows), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer documents, one timing repeat")
    ap.add_argument("--json", type=Path, help="also write all numbers here")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"shared data not found at {DATA}; nothing to measure")
        return 0
    pa.set_cpu_count(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    repeat = 1 if args.quick else 3
    res: dict = {}

    ko_ref = korean_reference_docs()
    ko_bad = [t for _, t in low_quality_korean(200 if args.quick else 500, seed=12345)]
    en = english_docs()
    if args.quick:
        ko_ref, en = ko_ref[:120], en[:300]
    ko_mix = ko_ref + ko_bad
    print(f"documents: Korean reference {len(ko_ref)} ({mb(ko_ref):.2f} MB), Korean low-quality {len(ko_bad)}, "
          f"English {len(en)} ({mb(en):.2f} MB)")

    # decisions
    ko_filters = ["gopher_repetition", "fineweb", "gopher_quality", "spam", "model"]
    rows_ref = ours(ko_ref, "ko", ko_filters)
    rows_bad = ours(ko_bad, "ko", ko_filters)
    res["korean_keep_reference"] = keep_rate(rows_ref)
    res["korean_drop_low_quality"] = 1 - keep_rate(rows_bad)
    by_kind: dict[str, list[bool]] = {}
    for (kind, _), r in zip(low_quality_korean(len(ko_bad), seed=12345), rows_bad):
        by_kind.setdefault(kind, []).append(r["reject_reason"] is not None)
    res["korean_drop_by_kind"] = {k: sum(v) / len(v) for k, v in by_kind.items()}
    reasons: dict[str, int] = {}
    for r in rows_ref:
        if r["reject_reason"]:
            reasons[r["reject_reason"]] = reasons.get(r["reject_reason"], 0) + 1
    res["korean_reference_reject_reasons"] = reasons
    res["spam_rules_flag"] = {
        "reference": float(np.mean([any(x.startswith("spam_") for x in (r["quality_failed"] or "").split(","))
                                    for r in rows_ref])),
        "low_quality": float(np.mean([any(x.startswith("spam_") for x in (r["quality_failed"] or "").split(","))
                                      for r in rows_bad]))}
    res["model_flag"] = {
        "reference": float(np.mean(["quality_model_below_threshold" in (r["quality_failed"] or "") for r in rows_ref])),
        "low_quality": float(np.mean(["quality_model_below_threshold" in (r["quality_failed"] or "")
                                      for r in rows_bad]))}
    res["datatrove_keep_reference"] = dt_chain(datatrove_filters("ko"), ko_ref) / len(ko_ref)
    res["model_score_mean"] = {"reference": float(np.mean([r["quality_score"] for r in rows_ref])),
                               "low_quality": float(np.mean([r["quality_score"] for r in rows_bad]))}

    res["agreement_en"] = agreement(en, "en", ours(en, "en", HEURISTICS))
    ko_heur = ["gopher_repetition", "fineweb", "gopher_quality"]
    res["agreement_ko_fast_reference"] = agreement(ko_ref, "ko", ours(ko_ref, "ko", ko_heur))
    res["agreement_ko_fast_low_quality"] = agreement(ko_bad, "ko", ours(ko_bad, "ko", ko_heur))
    if not args.quick:
        res["agreement_ko_kiwi"] = agreement(ko_mix, "ko", ours(ko_mix, "ko", ko_heur, tokenizer="kiwi"))

    # NFD: the same documents decomposed into jamo
    nfd = [unicodedata.normalize("NFD", d) for d in ko_ref]
    rows_nfd = ours(nfd, "ko", ko_heur)
    rows_nfc = ours(ko_ref, "ko", ko_heur)
    same = sum(a["quality_failed"] == b["quality_failed"] for a, b in zip(rows_nfd, rows_nfc))
    dt_ko = datatrove_filters("ko")
    res["nfd"] = {"docs": len(ko_ref), "ours_same_decisions_nfd_vs_nfc": same / len(ko_ref),
                  "ours_keep_nfd": keep_rate(rows_nfd), "datatrove_keep_nfc": dt_chain(dt_ko, ko_ref) / len(ko_ref),
                  "datatrove_keep_nfd": dt_chain(dt_ko, nfd) / len(ko_ref)}

    sents = [s for _, ss in korean_sentences() for s in ss]
    res["stopwords_vs_kiwi"] = stopword_agreement(sents[:600] if args.quick else sents)

    # throughput, one core
    thr: dict[str, dict] = {}
    for lang, docs, filt in (("ko", ko_mix, ko_heur), ("en", en, HEURISTICS)):
        size = mb(docs)
        t_ours = timed(lambda docs=docs, lang=lang, filt=filt: ours(docs, lang, filt), repeat)
        t_full = timed(lambda docs=docs, lang=lang, filt=filt: ours(docs, lang, [*filt, "spam", "model"]), repeat)
        dt_docs = docs if lang == "en" else docs[: max(40, len(docs) // (8 if args.quick else 3))]
        dtf = datatrove_filters(lang)
        t_dt = timed(lambda dt_docs=dt_docs, dtf=dtf: dt_chain(dtf, dt_docs), 1)
        thr[lang] = {"mb": size, "ours_mb_s": size / t_ours, "ours_full_mb_s": size / t_full,
                     "datatrove_mb_s": mb(dt_docs) / t_dt, "speedup": (size / t_ours) / (mb(dt_docs) / t_dt)}
    res["throughput"] = thr
    report(res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, ensure_ascii=False))
    return 0


def report(res: dict) -> None:
    print("\n## Throughput (one core: MB of UTF-8 text per CPU-second of the process)")
    print("| language | ours (same filters) | ours + spam + model | datatrove chain | speed-up |")
    print("|---|---|---|---|---|")
    for lang, t in res["throughput"].items():
        print(f"| {lang} | {t['ours_mb_s']:.2f} | {t['ours_full_mb_s']:.2f} | {t['datatrove_mb_s']:.3f} | "
              f"{t['speedup']:.1f}x |")
    print("\n## Decisions")
    print(f"- Korean reference documents kept (all default Korean filters incl. spam + model): "
          f"{res['korean_keep_reference']:.1%}; reasons for the rest: {res['korean_reference_reject_reasons']}")
    print(f"- generated Korean low-quality pages dropped: {res['korean_drop_low_quality']:.1%} "
          f"(by kind: {', '.join(f'{k} {v:.0%}' for k, v in res['korean_drop_by_kind'].items())})")
    print(f"- datatrove's kor_Hang chain (Kiwi) keeps {res['datatrove_keep_reference']:.1%} of the same reference "
          "documents (heuristics only)")
    print(f"- flagged by the spam rules alone: reference {res['spam_rules_flag']['reference']:.1%}, "
          f"low-quality {res['spam_rules_flag']['low_quality']:.1%}; by the model threshold alone: reference "
          f"{res['model_flag']['reference']:.1%}, low-quality {res['model_flag']['low_quality']:.1%}")
    print(f"- shipped model mean score: reference {res['model_score_mean']['reference']:.3f}, "
          f"low-quality {res['model_score_mean']['low_quality']:.3f}")
    print("\n## Agreement with datatrove (same documents, same thresholds, per filter)")
    print("| set | filter | docs | agree | datatrove drops | our drops | disagreements |")
    print("|---|---|---|---|---|---|---|")
    for key in ("agreement_en", "agreement_ko_fast_reference", "agreement_ko_fast_low_quality", "agreement_ko_kiwi"):
        for name, a in res.get(key, {}).items():
            print(f"| {key.removeprefix('agreement_')} | {name} | {a['docs']} | {a['rate']:.1%} | {a['dt_drop']} | "
                  f"{a['ours_drop']} | {a['disagreements']} |")
    n = res["nfd"]
    print(f"\n## NFD input ({n['docs']} Korean reference docs decomposed to jamo)")
    print(f"- ours: identical decisions NFD vs NFC {n['ours_same_decisions_nfd_vs_nfc']:.1%}, keep {n['ours_keep_nfd']:.1%}")
    print(f"- datatrove chain keep: NFC {n['datatrove_keep_nfc']:.1%} vs NFD {n['datatrove_keep_nfd']:.1%}")
    s = res["stopwords_vs_kiwi"]
    print(f"\n## Korean stop words without Kiwi ({s['sentences']} D2/D7 sentences)")
    print(f"- precision {s['precision']:.3f}, recall {s['recall']:.3f} of (sentence, stop word) pairs vs Kiwi; "
          f">=2-stop-word decision agreement {s['decision_agreement_min2']:.1%}; "
          f"our words / Kiwi morphemes = {s['words_ratio_ours_to_kiwi']:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
