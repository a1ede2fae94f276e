"""Korean quality checks: keep rate on clean reference text, fast splitter vs Kiwi, toxicity.

    .venv/bin/python benchmarks/quality_korean.py [--out benchmarks/results/quality_korean.md]

* Keep rate of the default quality stage (every filter, shipped model) on clean Korean reference
  documents per source (../shared/data D2 Kiwi benchmark sets and D7 KLUE-NLI premises: Wikipedia,
  Wikinews, policy briefings, WikiTree news, reviews), with the fast splitter and with Kiwi.
* The alpha-word rule (FineWeb-2: >= 79.1 % of words contain a letter): the fast splitter before and
  after keeping numbers whole, against Kiwi, per document.
* Cost of the Kiwi path (MB of text per CPU-second, one core) against the fast splitter.
* Toxicity on the project's evaluation set (benchmarks/toxicity_eval.py): lexicon hits per comment
  kind, the default page filter per page kind, a fastText classifier trained on one half of the
  comments and scored on the other; and lexicon flag rates on NSMC movie reviews (D3).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quality import DATA, _paragraphs, korean_sentences, ours  # noqa: E402
from toxicity_eval import comments, pages  # noqa: E402

from stages.quality import text as T  # noqa: E402
from stages.quality.toxicity import toxicity_signals  # noqa: E402
from stages.quality.toxicity_model import ToxicityModel, train_toxicity  # noqa: E402

ALPHA = 0.791
DEFAULT_FILTERS = ["gopher_repetition", "fineweb", "gopher_quality", "spam", "toxicity", "model"]


def reference_by_source(seed: int = 0) -> dict[str, list[str]]:
    """Documents of 10 consecutive sentences within each source (D2 set or D7 genre)."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[str]] = {}
    for src, sents in korean_sentences():
        for i in range(0, len(sents) - 7, 10):
            out.setdefault(src, []).append(_paragraphs(sents[i:i + 10], rng))
    return out


def _alpha(tokens: T.Tokens) -> np.ndarray:
    has = np.asarray(pc.match_substring_regex(tokens.values, r"\pL").to_numpy(zero_copy_only=False), bool)
    counts = np.diff(tokens.offsets)
    return np.add.reduceat(has, tokens.offsets[:-1]) / np.maximum(counts, 1)


def alpha_agreement(docs: list[str]) -> dict[str, dict]:
    t = T.nfc(pa.array(docs))
    kiwi = _alpha(T.split_kiwi(t))
    before = _alpha(T._split_flat(T._rewrite(t, T._KOREAN_STEPS)))  # without keeping numbers whole
    after = _alpha(T.split_korean(t))
    res = {}
    for name, a in (("fast, numbers split", before), ("fast (shipped)", after)):
        res[name] = {"docs": len(docs), "below_fast": int((a < ALPHA).sum()), "below_kiwi": int((kiwi < ALPHA).sum()),
                     "disagree": int(((a < ALPHA) != (kiwi < ALPHA)).sum()),
                     "mae": float(np.abs(a - kiwi).mean()), "mean_fast": float(a.mean()), "mean_kiwi": float(kiwi.mean())}
    return res


def keep(rows: list[dict]) -> float:
    return float(np.mean([r["reject_reason"] is None for r in rows]))


def cpu_rate(docs: list[str], tokenizer: str) -> float:
    size = sum(len(d.encode()) for d in docs) / 1e6
    t0 = time.process_time()
    ours(docs, "ko", ["gopher_repetition", "fineweb", "gopher_quality"], tokenizer=tokenizer)
    return size / (time.process_time() - t0)


def toxicity(out: list[str]) -> None:
    rows = comments()
    sig = toxicity_signals(pa.array([r["text"] for r in rows]))
    out += ["", "### Toxicity lexicon on the evaluation comments (written by the project)", "",
            "| kind | comments | with >= 1 lexicon hit |", "|---|---|---|"]
    for kind in ("toxic", "clean", "hard"):
        sel = np.array([r["kind"] == kind for r in rows])
        out.append(f"| {kind} | {int(sel.sum())} | {np.mean(sig['toxic_lexicon_hits'][sel] >= 1):.1%} |")
    hit = sig["toxic_lexicon_hits"] >= 1
    gold = np.array([r["label"] == 1 for r in rows])
    tp = int((hit & gold).sum())
    out.append(f"\nComment level: precision {tp / max(hit.sum(), 1):.3f}, recall {tp / gold.sum():.3f}.")

    pg = pages()
    stage_rows = ours([p["text"] for p in pg], "ko", ["toxicity"])
    out += ["", "Pages (article + 12 comments; hard = reports on hate speech quoting two slurs plus hard-negative "
            "sentences), default filter (>= 3 hits and > 0.02 hits per word):", "",
            "| page kind | pages | dropped | mean hits |", "|---|---|---|---|"]
    for kind in ("toxic", "clean", "hard"):
        sel = [r for p, r in zip(pg, stage_rows) if p["kind"] == kind]
        out.append(f"| {kind} | {len(sel)} | {1 - keep(sel):.1%} | "
                   f"{np.mean([r['toxic_lexicon_hits'] for r in sel]):.1f} |")

    # classifier: two folds over the comments (each fold trains on one half, scores the other)
    rng = random.Random(0)
    idx = list(range(len(rows)))
    rng.shuffle(idx)
    folds = [idx[::2], idx[1::2]]
    scores = np.zeros(len(rows))
    with tempfile.TemporaryDirectory() as tmp:
        for k in (0, 1):
            train = [(rows[i]["text"], rows[i]["label"] == 1) for i in folds[1 - k]]
            model = Path(tmp) / f"m{k}.bin"
            train_toxicity(train, model, epoch=50, dim=16, bucket=20_000, quantize=False, minn=1, maxn=3)
            scores[folds[k]] = ToxicityModel(model).score([rows[i]["text"] for i in folds[k]])
    pred = scores >= 0.5
    tp = int((pred & gold).sum())
    out += ["", f"fastText classifier, 2-fold over {len(rows)} comments (epoch 50, dim 16, char 1-3-grams): "
            f"precision {tp / max(pred.sum(), 1):.3f}, recall {tp / gold.sum():.3f}; hard negatives scored >= 0.5: "
            f"{np.mean(pred[[r['kind'] == 'hard' for r in rows]]):.1%}."]

    nsmc = []
    for p in sorted((DATA / "D3_nsmc_raw_sample" / "raw").glob("*.json")):
        nsmc += [(r["review"], int(r["rating"])) for r in json.loads(p.read_text(encoding="utf-8")) if r["review"].strip()]
    if nsmc:
        s = toxicity_signals(pa.array([t for t, _ in nsmc]))["toxic_lexicon_hits"]
        ratings = np.array([r for _, r in nsmc])
        neg, pos = ratings <= 4, ratings >= 9
        out += ["", f"NSMC (D3, {len(nsmc)} real movie reviews, no toxicity labels): lexicon hit in "
                f"{np.mean(s >= 1):.1%} of reviews; {np.mean(s[neg] >= 1):.1%} of negative (1-4) vs "
                f"{np.mean(s[pos] >= 1):.1%} of positive (9-10) reviews."]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if not DATA.exists():
        print(f"shared data not found at {DATA}; nothing to measure")
        return
    pa.set_cpu_count(1)
    by_src = reference_by_source()
    out = ["### Keep rate on clean Korean reference documents (default quality stage, all filters)", "",
           "| source | docs | kept (fast splitter) | kept (Kiwi) |", "|---|---|---|---|"]
    groups: dict[str, list[str]] = {}
    for src, docs in by_src.items():
        name = src if src.startswith("D7") else ("D2/wikipedia" if "wikipedia" in src else "D2/other")
        groups.setdefault(name, []).extend(docs)
    total = {"fast": [], "kiwi": []}
    for name, docs in sorted(groups.items()):
        fast = ours(docs, "ko", DEFAULT_FILTERS)
        kiwi = ours(docs, "ko", DEFAULT_FILTERS, tokenizer="kiwi")
        total["fast"] += fast
        total["kiwi"] += kiwi
        out.append(f"| {name} | {len(docs)} | {keep(fast):.1%} | {keep(kiwi):.1%} |")
    out.append(f"| **all** | {len(total['fast'])} | {keep(total['fast']):.1%} | {keep(total['kiwi']):.1%} |")
    wiki = [d for n, docs in groups.items() if "wiki" in n for d in docs]
    every = [d for docs in groups.values() for d in docs]
    out += ["", "### Alpha-word rule (< 0.791 of words with a letter): fast splitter vs Kiwi, per document", "",
            "| set | splitter | docs | dropped (fast) | dropped (Kiwi) | decisions differ | mean abs. diff of the share |",
            "|---|---|---|---|---|---|---|"]
    for set_name, docs in (("Wikipedia/Wikinews/WikiTree", wiki), ("all sources", every)):
        for name, r in alpha_agreement(docs).items():
            out.append(f"| {set_name} | {name} | {r['docs']} | {r['below_fast']} | {r['below_kiwi']} | "
                       f"{r['disagree']} | {r['mae']:.4f} |")
    fast_rate = max(cpu_rate(every, "korean") for _ in range(2))
    kiwi_rate = cpu_rate(every, "kiwi")
    out += ["", f"Cost (Gopher repetition + FineWeb + Gopher quality, one core, MB per CPU-second): fast splitter "
            f"{fast_rate:.2f} MB/s, `korean_tokenizer: kiwi` {kiwi_rate:.3f} MB/s ({fast_rate / kiwi_rate:.0f}x slower)."]
    toxicity(out)
    text = "\n".join(out)
    print(text)
    if args.out:
        args.out.write_text("# Korean quality: reference keep rate, Kiwi, toxicity\n\nCommand: `.venv/bin/python "
                            "benchmarks/quality_korean.py --out benchmarks/results/quality_korean.md`\n\n" + text + "\n")


if __name__ == "__main__":
    main()
