"""Near-duplicate threshold on labelled pairs: precision / recall of ``minhash_dedup`` per threshold.

    .venv/bin/python benchmarks/dedup_pairs.py [--out benchmarks/results/dedup_pairs.md]

Pairs are built from real Korean sentences (../shared/data: KLUE-NLI, NSMC, Kiwi benchmark sets,
chatbot data; nothing copied into the repo) and labelled by how they were made, following what
people call a duplicate page:

* duplicate: the same article with different site boilerplate (menus, footers), with different
  reader comments below it, as a shortened syndicated copy, or with small edits (words changed, a
  sentence added or dropped);
* not a duplicate: different short articles inside the same long site template, a sequel that
  repeats the previous article's lead paragraph, and the same text with every number changed
  (schedules, prices, scores: different facts in the same words).

Only pairs whose word-5-gram Jaccard lies in 0.5-0.95 are kept (the range where the threshold
matters). For each threshold t we report the precision / recall of "J >= t" (what verification
decides) and of the whole stage (LSH with bands x rows derived from t, verification, components):
a pair counts as removed when both documents land in the same ``dup_cluster_id``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dedup import DATA, SeqContext, _korean_sentences  # noqa: E402

from stages.dedup import MinHashDedup  # noqa: E402
from stages.dedup.bands import derive_bands, recall_at  # noqa: E402
from stages.dedup.shingles import ShingleSpec, shingle_batch, unique_sets  # noqa: E402

THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]
_MENU = ["홈", "뉴스", "정치", "경제", "사회", "문화", "스포츠", "연예", "오피니언", "포토", "영상", "기획",
         "로그인", "회원가입", "고객센터", "구독신청", "전체메뉴", "검색", "이용약관", "개인정보처리방침",
         "청소년보호정책", "광고문의", "제휴문의", "기사제보", "사이트맵", "공지사항", "많이 본 기사", "최신 기사"]


def _nav(rng: random.Random, lines: int) -> list[str]:
    """Site boilerplate written here: menu and footer lines from a shuffled menu vocabulary."""
    return [" ".join(rng.sample(_MENU, rng.randint(5, 9))) for _ in range(lines)]


def _edit(rng: random.Random, sents: list[str], pool: list[str], n: int) -> list[str]:
    out = list(sents)
    for _ in range(n):
        i = rng.randrange(len(out))
        words = out[i].split()
        words[rng.randrange(len(words))] = rng.choice(rng.choice(pool).split())
        out[i] = " ".join(words)
    return out


def _renumber(rng: random.Random, text: str) -> str:
    return "".join(str(rng.randint(0, 9)) if c.isdigit() else c for c in text)


def _numbers_text(rng: random.Random) -> str:
    """A schedule/price page written here: the same words with numbers that differ between copies."""
    items = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원", "창원", "고양", "용인", "청주"]
    lines = [f"{c} 출발 {rng.randint(5, 23)}시 {rng.randint(0, 59)}분 도착 예정 요금 {rng.randint(10, 90)},"
             f"{rng.randint(100, 999)}원 잔여 좌석 {rng.randint(1, 40)}석" for c in rng.sample(items, 10)]
    return "\n".join(["오늘의 고속버스 운행 안내입니다", *lines, "운행 시간은 도로 사정에 따라 달라질 수 있습니다"])


def make_pair(kind: str, rng: random.Random, article: list[str], other: list[str],
              pool: list[str]) -> tuple[str, str]:
    art = "\n".join(article)
    if kind == "boilerplate":
        return ("\n".join(_nav(rng, rng.randint(2, 6)) + [art] + _nav(rng, rng.randint(2, 6))),
                "\n".join(_nav(rng, rng.randint(2, 6)) + [art] + _nav(rng, rng.randint(2, 6))))
    if kind == "comments":
        return (art + "\n" + "\n".join(rng.sample(pool, rng.randint(2, 12))),
                art + "\n" + "\n".join(rng.sample(pool, rng.randint(2, 12))))
    if kind == "excerpt":
        keep = max(2, int(len(article) * rng.uniform(0.5, 0.9)))
        return art, "\n".join(article[:keep] + ["기사 전문 보기"])
    if kind == "edited":
        b = _edit(rng, article, pool, rng.randint(1, 6))
        if rng.random() < 0.5:
            b.insert(rng.randrange(len(b)), rng.choice(pool))
        return art, "\n".join(b)
    if kind == "template":
        frame = _nav(rng, rng.randint(12, 30))
        cut = rng.randint(6, len(frame) - 4)
        k = rng.randint(2, 4)
        return ("\n".join(frame[:cut] + article[:k] + frame[cut:]),
                "\n".join(frame[:cut] + other[:k] + frame[cut:]))
    if kind == "sequel":
        lead = max(2, int(len(article) * rng.uniform(0.4, 0.7)))
        return art, "\n".join(article[:lead] + other)
    if kind == "numbers":
        t = _numbers_text(rng)
        return t, _renumber(rng, t)
    raise ValueError(kind)


DUP_KINDS = ["boilerplate", "comments", "excerpt", "edited"]
NOT_KINDS = ["template", "sequel", "numbers"]


def jaccard(a: list[str], b: list[str], spec: ShingleSpec) -> np.ndarray:
    sa, sb = (unique_sets(shingle_batch(pa.array(x), spec)) for x in (a, b))
    out = np.zeros(len(a))
    for i in range(len(a)):
        x = sa[0][sa[1][i]:sa[1][i + 1]]
        y = sb[0][sb[1][i]:sb[1][i + 1]]
        inter = len(np.intersect1d(x, y, assume_unique=True))
        union = len(x) + len(y) - inter
        out[i] = inter / union if union else 0.0
    return out


def build_pairs(seed: int = 0, tries: int = 6) -> list[dict]:
    rng = random.Random(seed)
    sents = _korean_sentences()
    rng.shuffle(sents)
    comments = sents[: len(sents) // 4]
    body = sents[len(sents) // 4:]
    articles = [body[i:i + 10] for i in range(0, len(body) - 10, 10)]
    spec = ShingleSpec()
    kinds = DUP_KINDS + NOT_KINDS
    pairs: list[dict] = []
    for n, art in enumerate(articles[: len(articles) // 2]):
        kind = kinds[n % len(kinds)]
        other = articles[len(articles) // 2 + n]
        for _ in range(tries):  # resample the variation until the pair falls in the measured range
            a, b = make_pair(kind, rng, art, other, comments)
            j = float(jaccard([a], [b], spec)[0])
            if 0.5 <= j <= 0.95 or kind == "numbers":  # digit runs are normalised: J is 1
                pairs.append({"a": a, "b": b, "kind": kind, "dup": kind in DUP_KINDS, "j": j})
                break
    return pairs


def pr(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    tp = int((pred & gold).sum())
    return tp / max(int(pred.sum()), 1), tp / max(int(gold.sum()), 1)


def stage_decisions(pairs: list[dict], threshold: float, scratch: Path) -> np.ndarray:
    """Whether the stage puts both documents of each pair into one cluster."""
    ids = [f"p{i}{s}" for i in range(len(pairs)) for s in "ab"]
    texts = [p[s] for p in pairs for s in "ab"]
    root = Path(tempfile.mkdtemp(dir=scratch))
    half = len(texts) // 2
    paths = []
    for k, (lo, hi) in enumerate(((0, half), (half, len(texts)))):
        path = root / f"in-{k}.parquet"
        pq.write_table(pa.table({"id": ids[lo:hi], "text": texts[lo:hi]}), path)
        paths.append(path)
    MinHashDedup({"threshold": threshold}).run(paths, root / "out", root / "rej", SeqContext(root / "s"))
    rows = pa.concat_tables([pq.read_table(p).select(["id", "dup_cluster_id"])
                             for d in ("out", "rej") for p in sorted((root / d).glob("*.parquet"))]).to_pylist()
    cluster = {r["id"]: r["dup_cluster_id"] for r in rows}
    return np.array([cluster[f"p{i}a"] is not None and cluster[f"p{i}a"] == cluster[f"p{i}b"]
                     for i in range(len(pairs))])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not DATA.exists():
        print(f"shared data not found at {DATA}; nothing to measure")
        return
    pairs = build_pairs(args.seed)
    numbers = [p for p in pairs if p["kind"] == "numbers"]
    raw = ShingleSpec(normalize_digits=False)
    j_raw = jaccard([p["a"] for p in numbers], [p["b"] for p in numbers], raw) if numbers else np.zeros(1)
    pairs = [p for p in pairs if p["kind"] != "numbers"]  # threshold-independent: reported apart
    j = np.array([p["j"] for p in pairs])
    gold = np.array([p["dup"] for p in pairs])
    lines = [f"pairs: {len(pairs)} ({int(gold.sum())} duplicates, {int((~gold).sum())} not), "
             f"J in [{j.min():.2f}, {j.max():.2f}]", ""]
    lines += ["| kind | label | pairs | J min | J median | J max |", "|---|---|---|---|---|---|"]
    for kind in DUP_KINDS + NOT_KINDS[:-1]:
        jj = np.array([p["j"] for p in pairs if p["kind"] == kind])
        if len(jj):
            lines.append(f"| {kind} | {'duplicate' if kind in DUP_KINDS else 'not'} | {len(jj)} | {jj.min():.2f} | "
                         f"{np.median(jj):.2f} | {jj.max():.2f} |")
    lines += ["", f"numbers (not duplicates, left out of the table below): {len(numbers)} pairs, J = 1.00 with the "
              f"default digit normalisation at every threshold; with `normalize_digits: false` median J "
              f"{np.median(j_raw):.2f} (max {j_raw.max():.2f})"]
    lines += ["", "| threshold | bands x rows | P(cand. at t) | J >= t precision | J >= t recall | stage precision "
              "| stage recall | stage F1 |", "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for t in THRESHOLDS:
            pv, rv = pr(j >= t, gold)
            ps, rs = pr(stage_decisions(pairs, t, Path(tmp)), gold)
            b, r = derive_bands(t, 112)
            f1 = 2 * ps * rs / max(ps + rs, 1e-9)
            lines.append(f"| {t:.2f} | {b} x {r} | {recall_at(t, b, r):.3f} | {pv:.3f} | {rv:.3f} | {ps:.3f} | "
                         f"{rs:.3f} | {f1:.3f} |")
    kinds = Counter(p["kind"] for p in pairs)
    lines += ["", "recall per duplicate kind at 0.6 / 0.7 / 0.8 (J >= t): " + "; ".join(
        f"{k} " + " / ".join(f"{np.mean([p['j'] >= t for p in pairs if p['kind'] == k]):.2f}" for t in (0.6, 0.7, 0.8))
        for k in DUP_KINDS if kinds[k]),
        "removed per non-duplicate kind at 0.6 / 0.7 / 0.8 (J >= t): " + "; ".join(
        f"{k} " + " / ".join(f"{np.mean([p['j'] >= t for p in pairs if p['kind'] == k]):.2f}" for t in (0.6, 0.7, 0.8))
        for k in NOT_KINDS[:-1] if kinds[k])]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text("# Near-duplicate threshold on labelled pairs\n\nCommand: `.venv/bin/python "
                            "benchmarks/dedup_pairs.py --out benchmarks/results/dedup_pairs.md`\n\n" + text + "\n")


if __name__ == "__main__":
    main()
