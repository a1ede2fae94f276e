"""Deduplication benchmark: quality against brute-force Jaccard, signature speed vs peers, scaling.

    .venv/bin/python benchmarks/dedup.py [--quick] [--out benchmarks/results/dedup.md]

(a) Quality: a corpus of real Korean and English text (../shared/data) with planted near-duplicates
    (word edits, sentence insertions, boilerplate, reordering, deletions). Every pair's exact
    Jaccard of word 5-gram sets is computed by brute force (inverted index over all documents);
    we report P(LSH candidate | J) against theory, and precision / recall of ``minhash_dedup`` at
    J >= 0.8 with and without verification.
(b) Speed: signature MB/s on one core for this package, datasketch 2.0 and datatrove 0.10.1
    ``MinhashDedupSignature`` on the same text; end-to-end docs/s of all phases on 2 worker
    processes; peak RSS per worker task at three input sizes (fresh process per task).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.stage import RunContext  # noqa: E402
from stages.dedup import MinHashDedup  # noqa: E402
from stages.dedup.minhash import MinHasher, band_hashes, detection_probability  # noqa: E402
from stages.dedup.scratch import PAIR_DTYPE, read_partition  # noqa: E402
from stages.dedup.shingles import ShingleSpec, normalize, shingle_batch  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BANDS, ROWS, NGRAM = 16, 7, 5
BOILERPLATE = [
    "저작권자 ⓒ 한국일보 무단전재 및 재배포 금지 기사제보 및 보도자료 news@example.co.kr",
    "이 블로그의 모든 글은 저작권법의 보호를 받습니다 공감과 댓글은 큰 힘이 됩니다 이웃추가 해주세요",
    "Subscribe to our newsletter to get the latest stories delivered to your inbox every morning",
    "All rights reserved. This material may not be published, broadcast, rewritten or redistributed",
    "로그인 회원가입 고객센터 이용약관 개인정보처리방침 사이트맵 전체메뉴 닫기 검색 바로가기",
]


# ------------------------------------------------------------------ corpus

def _korean_sentences() -> list[str]:
    out: set[str] = set()
    nli = DATA / "D7_klue_nli_dev" / "klue_benchmark" / "klue-nli-v1.1" / "klue-nli-v1.1_dev.json"
    for r in json.loads(nli.read_text(encoding="utf-8")):
        out.update([r["premise"], r["hypothesis"]])
    for p in sorted((DATA / "D3_nsmc_raw_sample" / "raw").glob("*.json")):
        out.update(r["review"].strip() for r in json.loads(p.read_text(encoding="utf-8")))
    for p in sorted((DATA / "D2_kiwipiepy_benchmarks").rglob("*.txt")):
        out.update(line.strip() for line in p.read_text(encoding="utf-8").splitlines())
    for line in (DATA / "D4_songys_chatbot_data" / "ChatbotData.csv").read_text(encoding="utf-8").splitlines()[1:]:
        out.update(line.rsplit(",", 1)[0].split(",", 1))
    return sorted(s for s in out if len(s.split()) >= 3)


def _english() -> tuple[list[str], list[str]]:
    gt = json.loads((DATA / "B1_scrapinghub_article_extraction_benchmark" / "ground-truth.json").read_text())
    articles = sorted(v["articleBody"] for v in gt.values() if len(v["articleBody"].split()) >= 80)
    sents: set[str] = set()
    for a in articles:
        for s in a.replace("\n", " ").split(". "):
            if len(s.split()) >= 5:
                sents.add(s.strip().rstrip(".") + ".")
    return articles, sorted(sents)


def _variant(rng: random.Random, text: str, pool: list[str], vocab: list[str]) -> tuple[str, str]:
    """Apply one or two random edit operations of random strength."""
    sents = [s for s in text.replace("\n", " ").split(". ") if s]
    ops = rng.sample(["edit", "insert", "boilerplate", "reorder", "delete"], rng.choice([1, 1, 2]))
    for op in ops:
        if op == "edit":
            words = " ".join(sents).split()
            for _ in range(max(1, int(len(words) * rng.uniform(0.0, 0.12)))):
                words[rng.randrange(len(words))] = rng.choice(vocab)
            sents = [" ".join(words)]
        elif op == "insert":
            for _ in range(max(1, int(len(sents) * rng.uniform(0.0, 0.4)))):
                sents.insert(rng.randrange(len(sents) + 1), rng.choice(pool))
        elif op == "boilerplate":
            block = rng.choice(BOILERPLATE)
            sents = [block, *sents] if rng.random() < 0.5 else [*sents, block]
        elif op == "reorder" and len(sents) > 3:
            i, j = sorted(rng.sample(range(len(sents)), 2))
            sents = sents[:i] + sents[j:] + sents[i:j]
        elif op == "delete" and len(sents) > 3:
            k = max(1, int(len(sents) * rng.uniform(0.0, 0.3)))
            start = rng.randrange(len(sents) - k + 1)
            sents = sents[:start] + sents[start + k:]
    return ". ".join(sents), "+".join(ops)


def build_corpus(n_ko: int, n_en: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Originals from real sentences plus planted variants; returns texts and their language."""
    rng = random.Random(seed)
    ko_pool = _korean_sentences()
    articles, en_pool = _english()
    ko_vocab = sorted({w for s in ko_pool for w in s.split()})
    en_vocab = sorted({w for s in en_pool for w in s.split()})
    originals: list[tuple[str, str]] = []
    for _ in range(n_ko):
        originals.append((". ".join(rng.sample(ko_pool, rng.randint(8, 30))), "ko"))
    for i in range(n_en):
        text = articles[i] if i < len(articles) else ". ".join(rng.sample(en_pool, rng.randint(8, 30)))
        originals.append((text, "en"))
    texts, langs = [t for t, _ in originals], [lang for _, lang in originals]
    for t, lang in originals:
        if rng.random() < 0.35:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                pool, vocab = (ko_pool, ko_vocab) if lang == "ko" else (en_pool, en_vocab)
                texts.append(_variant(rng, t, pool, vocab)[0])
                langs.append(lang)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [langs[i] for i in order]


# ------------------------------------------------------------------ brute-force Jaccard

def brute_force_jaccard(texts: list[str], n: int = NGRAM) -> dict[tuple[int, int], float]:
    """Exact Jaccard of word n-gram sets for every pair sharing at least one n-gram (others are 0)."""
    norm = normalize(pa.array(texts), ShingleSpec(n=n)).to_pylist()
    ids: dict[tuple[str, ...], int] = {}
    doc_idx, gram_idx, sizes = [], [], []
    for d, t in enumerate(norm):
        w = t.split()
        grams = {tuple(w[i:i + n]) for i in range(len(w) - n + 1)} if len(w) >= n else ({tuple(w)} if len(w) >= 2 else set())
        sizes.append(len(grams))
        for g in grams:
            doc_idx.append(d)
            gram_idx.append(ids.setdefault(g, len(ids)))
    docs, grams = np.array(doc_idx, dtype=np.int64), np.array(gram_idx, dtype=np.int64)
    order = np.argsort(grams, kind="stable")
    docs, grams = docs[order], grams[order]
    starts = np.flatnonzero(np.r_[True, grams[1:] != grams[:-1]])
    lens = np.diff(np.r_[starts, len(grams)])
    keys = []
    n_docs = len(texts)
    for s, k in zip(starts[lens > 1], lens[lens > 1]):
        members = docs[s:s + k]
        i, j = np.triu_indices(k, 1)
        keys.append(members[i] * n_docs + members[j])
    if not keys:
        return {}
    pair, inter = np.unique(np.concatenate(keys), return_counts=True)
    a, b = pair // n_docs, pair % n_docs
    size = np.array(sizes)
    jac = inter / (size[a] + size[b] - inter)
    return {(int(x), int(y)): float(v) for x, y, v in zip(a, b, jac)}


# ------------------------------------------------------------------ contexts

class SeqContext(RunContext):
    def __init__(self, scratch: Path, workers: int = 1, seed: int = 0) -> None:
        self.workers, self.seed, self.scratch_dir = workers, seed, scratch

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "") -> list[Any]:
        return [fn(it) for it in items]


class TimedContext(RunContext):
    """Wraps a context and records wall time per phase (``desc``)."""

    def __init__(self, inner: RunContext) -> None:
        self.inner = inner
        self.workers, self.seed, self.scratch_dir = inner.workers, inner.seed, inner.scratch_dir
        self.times: dict[str, float] = {}

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "") -> list[Any]:
        t0 = time.perf_counter()
        out = self.inner.map(fn, items, desc)
        key = desc.split(": ")[-1] if ": " in desc else ("components" if desc.startswith("cc") else desc)
        self.times[key] = self.times.get(key, 0.0) + time.perf_counter() - t0
        return out


def _baseline(_: int) -> None:
    """A task that only imports the stage modules: the fixed RSS every worker task starts from."""
    import stages.dedup.minhash_dedup  # noqa: F401


def _peak_rss_kb() -> int:
    """This process's peak RSS (VmHWM; unlike ru_maxrss it is reset by exec, so a spawned worker
    does not inherit the peak of the process that started it)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measured(args: tuple[Callable[[Any], Any], Any]) -> tuple[Any, int]:
    fn, item = args
    out = fn(item)
    return out, _peak_rss_kb()


class FreshProcessContext(RunContext):
    """Each task in a new spawned process, so its peak RSS is its own; records the max per phase."""

    def __init__(self, workers: int, scratch: Path) -> None:
        self.workers, self.seed, self.scratch_dir = workers, 0, scratch
        self.peak_kb: dict[str, int] = {}

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "") -> list[Any]:
        ctx = mp.get_context("spawn")
        with ctx.Pool(self.workers, maxtasksperchild=1) as pool:
            res = pool.map(_measured, [(fn, it) for it in items], chunksize=1)
        key = desc.split(": ")[-1] if ": " in desc else "components"
        self.peak_kb[key] = max(self.peak_kb.get(key, 0), max((r for _, r in res), default=0))
        return [o for o, _ in res]


# ------------------------------------------------------------------ (a) quality

def write_shards(texts: list[str], root: Path, docs_per_shard: int) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, lo in enumerate(range(0, len(texts), docs_per_shard)):
        chunk = texts[lo:lo + docs_per_shard]
        p = root / f"part-{k:05d}.parquet"
        pq.write_table(pa.table({"id": [f"d{lo + i}" for i in range(len(chunk))], "text": chunk}), p)
        paths.append(p)
    return paths


def run_clusters(paths: list[Path], docs_per_shard: int, cfg: dict,
                 scratch: Path) -> tuple[dict[int, int], list[tuple[int, int]], list]:
    """Run minhash_dedup keeping its scratch; return doc -> cluster label, verified edges, stats."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    stats = MinHashDedup({**cfg, "keep_scratch": True}).run(paths, out / "out", None, SeqContext(out / "s"))
    work = next((out / "s").glob("minhash_dedup-*"))
    rec = np.concatenate([read_partition(p, PAIR_DTYPE) for p in sorted((work / "labels").glob("p*"))] or
                         [np.zeros(0, PAIR_DTYPE)])

    def glob_idx(k: np.ndarray) -> np.ndarray:
        return (k >> np.uint64(32)).astype(np.int64) * docs_per_shard + (k & np.uint64(0xFFFFFFFF)).astype(np.int64)

    labels = dict(zip(glob_idx(rec["a"]).tolist(), glob_idx(rec["b"]).tolist()))
    edges = np.concatenate([read_partition(p, PAIR_DTYPE) for p in sorted((work / "vedges").glob("p*"))] or
                           [np.zeros(0, PAIR_DTYPE)])
    return labels, list(zip(glob_idx(edges["a"]).tolist(), glob_idx(edges["b"]).tolist())), stats


def quality(texts: list[str], jac: dict[tuple[int, int], float], scratch: Path, docs_per_shard: int,
            seed: int) -> dict[str, Any]:
    paths = write_shards(texts, scratch / "quality_in", docs_per_shard)
    # LSH candidate probability: any band agrees (computed from the same signatures the stage uses)
    sh = shingle_batch(pa.array(texts), ShingleSpec(n=NGRAM))
    sig = MinHasher(BANDS * ROWS, seed).signatures(sh.values, sh.offsets)
    bh = band_hashes(sig, BANDS, ROWS)
    pairs = np.array(list(jac.keys()), dtype=np.int64).reshape(-1, 2)
    jv = np.array(list(jac.values()))
    cand = (bh[pairs[:, 0]] == bh[pairs[:, 1]]).any(axis=1)
    res: dict[str, Any] = {"docs": len(texts), "pairs_with_overlap": len(jv),
                           "true_pairs_j08": int((jv >= 0.8).sum())}
    bins = np.round(np.arange(0.0, 1.01, 0.1), 2)
    curve = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        sel = (jv >= lo) & ((jv < hi) if hi < 1.0 else (jv <= hi))
        if sel.any():
            mid = jv[sel]
            curve.append((lo, hi, int(sel.sum()), float(cand[sel].mean()),
                          float(detection_probability(mid, BANDS, ROWS).mean())))
    res["curve"] = curve
    for verify in (True, False):
        labels, edges, stats = run_clusters(paths, docs_per_shard, {"verify": verify, "seed": seed}, scratch)
        edge_true = sum(jac.get(e, 0.0) >= 0.8 for e in edges)
        lab = -1 - np.arange(len(texts), dtype=np.int64)  # unclustered: a label of its own
        if labels:
            lab[np.array(list(labels.keys()))] = np.array(list(labels.values()))
        same = lab[pairs[:, 0]] == lab[pairs[:, 1]]
        # all pairs the system puts together (clusters), with their true Jaccard (0 if no overlap)
        clusters: dict[int, list[int]] = {}
        for node, lab in labels.items():
            clusters.setdefault(lab, []).append(node)
        found = found_true = 0
        for members in clusters.values():
            members.sort()
            for i in range(len(members)):
                for j in range(i + 1, len(members)):
                    found += 1
                    found_true += jac.get((members[i], members[j]), 0.0) >= 0.8
        truth = jv >= 0.8
        curve_final = []
        for lo, hi, *_ in curve:
            sel = (jv >= lo) & ((jv < hi) if hi < 1.0 else (jv <= hi))
            curve_final.append(float(same[sel].mean()))
        res["verify" if verify else "no_verify"] = {
            "recall_j08": float(same[truth].mean()),
            "edge_precision_j08": edge_true / len(edges) if edges else 1.0,
            "precision_j08": found_true / found if found else 1.0,
            "found_pairs": found,
            "removed": sum(s.rejected_total for s in stats),
            "candidate_pairs": stats[0].extra["candidate_pairs"],
            "verified_pairs": stats[0].extra["verified_pairs"],
            "curve": curve_final,
        }
    return res


# ------------------------------------------------------------------ (b) speed

def speed_ours(texts: list[str], batch: int = 1000) -> float:
    arr = pa.array(texts)
    mh = MinHasher(BANDS * ROWS, 1)
    t0 = time.perf_counter()
    for i in range(0, len(texts), batch):
        sh = shingle_batch(arr.slice(i, batch), ShingleSpec(n=NGRAM))
        band_hashes(mh.signatures(sh.values, sh.offsets), BANDS, ROWS)
    return time.perf_counter() - t0


def speed_datasketch(texts: list[str]) -> float:
    from datasketch import MinHash

    t0 = time.perf_counter()
    norm = normalize(pa.array(texts), ShingleSpec(n=NGRAM)).to_pylist()
    for t in norm:
        w = t.split()
        m = MinHash(num_perm=BANDS * ROWS, seed=1)
        m.update_batch([" ".join(w[i:i + NGRAM]).encode() for i in range(len(w) - NGRAM + 1)])
    return time.perf_counter() - t0


def speed_datatrove(texts: list[str], language: str) -> float:
    import logging

    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    logging.getLogger("datatrove").setLevel(logging.ERROR)
    step = MinhashDedupSignature(tempfile.mkdtemp(), config=MinhashConfig(n_grams=NGRAM), language=language)
    step.get_signature(step.get_shingles(texts[0]))  # load the word tokenizer outside the timing
    t0 = time.perf_counter()
    for t in texts:
        sh = step.get_shingles(t)
        if sh.size:
            step.get_signature(sh)
    return time.perf_counter() - t0


def mb(texts: list[str]) -> float:
    return sum(len(t.encode()) for t in texts) / 1e6


def end_to_end(texts: list[str], scratch: Path, docs_per_shard: int, workers: int) -> dict[str, Any]:
    from core.executors import LocalContext

    paths = write_shards(texts, scratch / "e2e_in", docs_per_shard)
    ctx = TimedContext(LocalContext(workers=workers, seed=0, scratch_dir=scratch / "s"))
    t0 = time.perf_counter()
    stats = MinHashDedup({}).run(paths, scratch / "e2e_out", None, ctx)
    total = time.perf_counter() - t0
    return {"docs": len(texts), "mb": mb(texts), "seconds": total, "phases": ctx.times,
            "removed": sum(s.rejected_total for s in stats), "workers": workers}


def memory_child(n_docs: int, docs_per_shard: int, out_json: str) -> None:
    """Run in a fresh interpreter: corpus of ``n_docs``, stage on fresh processes per task."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        texts, _ = build_corpus(int(n_docs * 0.58), int(n_docs * 0.16), seed=n_docs)
        texts = texts[:n_docs]
        paths = write_shards(texts, root / "in", docs_per_shard)
        del texts
        ctx = FreshProcessContext(2, root / "s")
        ctx.map(_baseline, [0], desc="x: baseline")
        cfg = {"partition_entries": BANDS * docs_per_shard, "local_components_max_edges": 0}
        t0 = time.perf_counter()
        stats = MinHashDedup(cfg).run(paths, root / "out", None, ctx)
        Path(out_json).write_text(json.dumps({
            "docs": sum(s.docs_in for s in stats), "mb": sum(s.bytes_in for s in stats) / 1e6,
            "shards": len(paths), "partitions": stats[0].extra["partitions"], "peak_kb": ctx.peak_kb,
            "seconds": time.perf_counter() - t0, "cc_rounds": stats[0].extra["cc_rounds"]}))


def memory_scaling(sizes: list[int], docs_per_shard: int) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            subprocess.run([sys.executable, __file__, "--memory-child", str(n), str(docs_per_shard), f.name],
                           check=True)
            rows.append(json.loads(Path(f.name).read_text()))
    return rows


# ------------------------------------------------------------------ report

def report(q: dict, speed: dict, e2e: dict, mem: list[dict], cmd: str) -> str:
    L = [f"## Deduplication (`minhash_dedup`, `exact_dedup`)\n\nCommand: `{cmd}`  \n"
         "Machine: 2-core x86 VM, shared with other work running at the same time (timings are noisy).  \n"
         f"Settings: word 5-grams (NFC, lower case, punctuation and digit folding), "
         f"{BANDS} bands x {ROWS} rows = {BANDS * ROWS} hashes, verification threshold 0.8.\n"]
    L.append(f"### (a) Quality on planted near-duplicates\n\n{q['docs']} documents (real Korean sentences from "
             "KLUE-NLI, NSMC, kiwipiepy sets and ChatbotData; real English articles and sentences from the "
             "Scrapinghub benchmark) with planted variants by word edits, sentence insertions, boilerplate, "
             f"reordering and deletion. Brute force found {q['pairs_with_overlap']:,} pairs sharing a 5-gram, "
             f"{q['true_pairs_j08']:,} of them with J >= 0.8.\n")
    L.append("Recall: share of true pairs (J >= 0.8) that end in one cluster. Pair precision: share of the "
             "pairs the system links directly (verified candidate edges) that have J >= 0.8. Cluster precision: "
             "share of all pairs inside output clusters with J >= 0.8 (stricter: a cluster {A, B, C} with "
             "J(A,B) = J(A,C) = 0.85 may have J(B,C) = 0.72).\n")
    L.append("| | recall | pair precision | cluster precision | pairs in clusters | candidate pairs | "
             "verified | docs removed |\n|---|---|---|---|---|---|---|---|")
    for k, name in (("verify", "verification on"), ("no_verify", "verification off")):
        r = q[k]
        L.append(f"| {name} | {r['recall_j08']:.4f} | {r['edge_precision_j08']:.4f} | {r['precision_j08']:.4f} | "
                 f"{r['found_pairs']:,} | {r['candidate_pairs']:,} | {r['verified_pairs']:,} | {r['removed']:,} |")
    L.append("\nP(detected | J): LSH candidate rate (any band equal) vs theory 1-(1-J^7)^16, and the share "
             "of pairs that end in one cluster.\n")
    L.append("| J | pairs | LSH candidate | theory | same cluster, verify on | same cluster, verify off |\n"
             "|---|---|---|---|---|---|")
    for (lo, hi, n, c, th), v_on, v_off in zip(q["curve"], q["verify"]["curve"], q["no_verify"]["curve"]):
        L.append(f"| {lo:.1f}-{hi:.1f} | {n:,} | {c:.3f} | {th:.3f} | {v_on:.3f} | {v_off:.3f} |")
    L.append("\n### (b) Speed\n\nSignatures (shingling + MinHash, plus band hashes for ours) on one core, "
             "same text:\n")
    L.append("| implementation | text | MB | seconds | MB/s/core | vs datatrove |\n|---|---|---|---|---|---|")
    for row in speed["rows"]:
        L.append(f"| {row['impl']} | {row['text']} | {row['mb']:.2f} | {row['s']:.2f} | {row['rate']:.3f} | "
                 f"{row['rate'] / speed['dt_rate'][row['text']]:.1f}x |")
    ph = ", ".join(f"{k} {v:.2f} s" for k, v in e2e["phases"].items())
    L.append(f"\nEnd to end, all phases, LocalContext with {e2e['workers']} worker processes: "
             f"{e2e['docs']:,} docs ({e2e['mb']:.1f} MB) in {e2e['seconds']:.2f} s = "
             f"**{e2e['docs'] / e2e['seconds']:,.0f} docs/s** ({e2e['docs'] / e2e['seconds'] / e2e['workers']:,.0f} "
             f"docs/s/core); phases: {ph}.\n")
    L.append("Peak RSS (VmHWM) per worker task, max over the tasks of each phase; every task runs in a fresh "
             "spawned process, so the numbers include the interpreter with numpy and pyarrow (the `baseline` "
             "column: a task that only imports the stage). Fixed shard size, partition count scaling with the "
             "input, distributed components (`local_components_max_edges: 0`):\n")
    phases = list(mem[0]["peak_kb"].keys())
    L.append("| docs | MB | shards | partitions | cc rounds | " + " | ".join(phases) + " |\n|"
             + "---|" * (5 + len(phases)))
    for r in mem:
        L.append(f"| {r['docs']:,} | {r['mb']:.1f} | {r['shards']} | {r['partitions']} | {r['cc_rounds']} | "
                 + " | ".join(f"{r['peak_kb'].get(p, 0) / 1024:.0f} MB" for p in phases) + " |")
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dedup.md"))
    ap.add_argument("--memory-child", nargs=3, metavar=("DOCS", "PER_SHARD", "JSON"))
    args = ap.parse_args()
    if args.memory_child:
        memory_child(int(args.memory_child[0]), int(args.memory_child[1]), args.memory_child[2])
        return
    if not DATA.exists():
        sys.exit(f"shared data not found at {DATA}")
    n_ko, n_en = (600, 150) if args.quick else (2600, 700)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        t0 = time.perf_counter()
        texts, langs = build_corpus(n_ko, n_en, seed=1)
        jac = brute_force_jaccard(texts)
        print(f"corpus {len(texts)} docs {mb(texts):.1f} MB, brute force {time.perf_counter() - t0:.1f} s",
              flush=True)
        q = quality(texts, jac, scratch, docs_per_shard=500, seed=1)
        print(json.dumps({k: v for k, v in q.items() if k != "curve"}, indent=1), flush=True)

        ko = [t for t, g in zip(texts, langs) if g == "ko"]
        en = [t for t, g in zip(texts, langs) if g == "en"]
        sub = 0.25 if args.quick else 1.0
        ko_dt = ko[: int(len(ko) * 0.15 * sub)]
        rows = []
        for name, sample in (("mixed", texts), ("korean", ko), ("english", en)):
            s = speed_ours(sample)
            rows.append({"impl": "axk1 minhash (numpy)", "text": name, "mb": mb(sample), "s": s})
        small = texts[: int(len(texts) * 0.25 * sub)]
        rows.append({"impl": "datasketch 2.0 MinHash.update_batch", "text": "mixed", "mb": mb(small),
                     "s": speed_datasketch(small)})
        dt_rate = {}
        for name, sample, lang in (("mixed", small, "en"), ("english", en[: int(len(en) * 0.4 * sub)], "en"),
                                   ("korean", ko_dt, "ko")):
            s = speed_datatrove(sample, lang)
            tok = "spaCy" if lang == "en" else "Kiwi"
            rows.append({"impl": f"datatrove 0.10.1 MinhashDedupSignature ({tok} words)", "text": name,
                         "mb": mb(sample), "s": s})
            dt_rate[name] = mb(sample) / s
        for r in rows:
            r["rate"] = r["mb"] / r["s"]
            print(r, flush=True)
        speed = {"rows": rows, "dt_rate": dt_rate}
        e2e_texts = texts if args.quick else build_corpus(8000, 2000, seed=2)[0]
        e2e = end_to_end(e2e_texts, scratch, docs_per_shard=1000, workers=2)
        print(e2e, flush=True)
        sizes, per_shard = ([1000, 2000, 4000], 500) if args.quick else ([6000, 12000, 24000], 1500)
        mem = memory_scaling(sizes, docs_per_shard=per_shard)
        print(mem, flush=True)
    cmd = ".venv/bin/python benchmarks/dedup.py" + (" --quick" if args.quick else "")
    md = report(q, speed, e2e, mem, cmd)
    print(md)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(md, encoding="utf-8")


if __name__ == "__main__":
    main()
