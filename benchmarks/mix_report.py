"""Mixing and report benchmark: throughput per core and peak memory as the corpus grows.

    .venv/bin/python benchmarks/mix_report.py [--quick] [--sizes-mb 500,1000,2000] [--tmp /tmp]
                                              [--out benchmarks/results/mix_report.md]

A synthetic curated corpus (Korean and English text drawn from Zipf-distributed vocabularies, 500 to
20,000 characters per document, with id, source, url, domain, lang, dup_cluster_size and float quality
signals) is written once as zstd Parquet shards to a temporary directory; each size is a prefix of the
shards. For every size a fresh process runs each measurement, and its peak RSS comes from ``wait4``:

* ``mix`` with 1 and 2 workers: ``Mix(config).run`` (census + plan + emit) into a fresh directory;
* ``report``: ``build_report`` over a run directory holding the curated shards and the mixed corpus
  (``corpus_stats`` is timed on its own inside it);
* peer: DuckDB on one thread computing language counts and a length histogram over the same shards,
  the cost of decoding the text column in a columnar engine.

MB/s/core is given over Parquet bytes on disk and over uncompressed UTF-8 text bytes, both divided by
the process tree's CPU seconds (user + system), so other work on a busy machine counts less than in
wall time.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import markdown_table  # noqa: E402
from core.io import write_json_atomic, write_parquet_atomic  # noqa: E402

DOCS_PER_SHARD = 16_384
SHARD_ROW_GROUP = 4096
MIX_CONFIG: dict[str, Any] = {
    "budget_tokens": 1,  # set per size from the corpus' estimated tokens
    "sources": [
        {"name": "ko_curated", "where": {"lang": ["ko"], "source": ["news", "wiki"]}, "share": 0.2,
         "max_epochs": 3},
        {"name": "ko_web", "where": {"lang": ["ko"]}, "share": 0.45, "max_epochs": 4,
         "dup_cluster_weights": [[2, 1.5], [10, 2.0]], "quality_column": "quality_score",
         "quality_edges": [0.3, 0.7], "quality_weights": [0.3, 1.0, 2.0]},
        {"name": "en_web", "where": {"lang": ["en"]}, "share": 0.3, "max_epochs": 1,
         "quality_column": "quality_score", "quality_edges": [0.5], "quality_weights": [0.5, 1.5]},
        {"name": "other", "share": 0.05, "max_epochs": 1},
    ],
}
CHARS_PER_TOKEN = {"ko": 1.6, "ja": 1.4, "en": 4.3}


# ------------------------------------------------------------------ synthetic corpus

def _zipf_probs(n: int, s: float = 1.07) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


@functools.lru_cache(maxsize=2)
def _vocabularies(seed: int) -> dict[str, pa.Array]:
    """Word lists per language, most frequent first (punctuation tokens among the frequent ones)."""
    rng = np.random.default_rng(seed)
    syll = np.array([chr(c) for c in rng.choice(np.arange(0xAC00, 0xD7A4), 900, replace=False)])
    ko = ["".join(rng.choice(syll, k)) for k in rng.choice([1, 2, 2, 3, 3, 3, 4, 5], 40_000)]
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    lp = _zipf_probs(26, 0.9)
    en = ["".join(rng.choice(letters, k, p=lp)) for k in rng.choice(np.arange(1, 12), 30_000)]
    kana = np.array([chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x30A1, 0x30FB)])
    ja = ["".join(rng.choice(kana, k)) for k in rng.choice([2, 3, 4, 5, 6], 8_000)]
    punct = [".", ",", ".\n", "\n\n", "?", "!"]
    out = {}
    for lang, words in (("ko", ko), ("en", en), ("ja", ja)):
        vocab = list(dict.fromkeys(words))
        for k, p in enumerate(punct):
            vocab.insert(3 + 4 * k, p)
        out[lang] = pa.array(vocab, pa.string())
    return out


def _texts(rng: np.random.Generator, vocab: dict[str, pa.Array], langs: np.ndarray,
           n_words: np.ndarray) -> pa.Array:
    """Join Zipf-drawn words per document (Korean documents mix in ~12 % English words)."""
    offsets = np.concatenate([[0], np.cumsum(n_words)]).astype(np.int32)
    total = int(offsets[-1])
    doc_of_word = np.repeat(np.arange(len(langs)), n_words)
    word_lang = langs[doc_of_word].copy()
    word_lang[(word_lang == "ko") & (rng.random(total) < 0.12)] = "en"
    all_words = pa.concat_arrays(list(vocab.values()))
    starts = np.cumsum([0, *[len(v) for v in vocab.values()]])
    index = np.zeros(total, dtype=np.int64)
    for k, (lang, v) in enumerate(vocab.items()):
        m = word_lang == lang
        if m.any():
            index[m] = starts[k] + rng.choice(len(v), int(m.sum()), p=_zipf_probs(len(v)))
    words = all_words.take(pa.array(index))
    lists = pa.ListArray.from_arrays(pa.array(offsets), words)
    return pc.binary_join(lists, " ")


def make_shard(path: Path, shard: int, seed: int = 1234) -> dict[str, Any]:
    """One shard of DOCS_PER_SHARD documents; returns its characters per language."""
    rng = np.random.default_rng([seed, shard])
    vocab = _vocabularies(seed)
    n = DOCS_PER_SHARD
    langs = rng.choice(np.array(["ko", "en", "ja"]), n, p=[0.62, 0.33, 0.05])
    chars = np.exp(rng.uniform(np.log(500), np.log(20_000), n))
    avg_word = np.where(langs == "en", 6.0, 3.2)  # characters per word incl. the space
    n_words = np.maximum(20, chars / avg_word).astype(np.int64)
    text = _texts(rng, vocab, langs, n_words)
    n_domains = 5000
    dom_idx = rng.choice(n_domains, n, p=_zipf_probs(n_domains))
    tld = np.where(langs == "ko", ".co.kr", ".com")
    domain = np.char.add(np.char.add("site", dom_idx.astype(str)), tld)
    ids = [f"{x:016x}" for x in rng.integers(0, 2**63, n, dtype=np.int64)]
    url = np.char.add(np.char.add("https://", domain), np.char.add("/a/", np.arange(n).astype(str)))
    table = pa.table({
        "id": pa.array(ids, pa.string()),
        "text": text,
        "source": pa.array(rng.choice(np.array(["web", "news", "wiki"]), n, p=[0.82, 0.13, 0.05])),
        "url": pa.array(url.tolist(), pa.string()),
        "domain": pa.array(domain.tolist(), pa.string()),
        "lang": pa.array(langs.tolist(), pa.string()),
        "lang_score": pa.array(rng.beta(20, 1.2, n).astype(np.float32)),
        "dup_cluster_size": pa.array(np.minimum(rng.geometric(0.7, n), 200).astype(np.int32)),
        "quality_score": pa.array(rng.beta(2.5, 2.5, n).astype(np.float32)),
        "dup_line_frac": pa.array((rng.beta(1, 12, n)).astype(np.float32)),
        "spam_score": pa.array(rng.beta(1, 20, n).astype(np.float32)),
    })
    write_parquet_atomic(table, path)
    lens = pc.utf8_length(text).to_numpy()
    return {"path": str(path), "bytes": path.stat().st_size, "docs": n,
            "text_bytes": int(pc.sum(pc.binary_length(text)).as_py()),
            "chars": {lang: int(lens[langs == lang].sum()) for lang in ("ko", "en", "ja")}}


def build_corpus(directory: Path, target_mb: float) -> list[dict[str, Any]]:
    shards: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    while sum(s["bytes"] for s in shards) < target_mb * 1e6:
        i = len(shards)
        shards.append(make_shard(directory / f"part-{i:05d}.parquet", i))
        print(f"  shard {i}: {shards[-1]['bytes'] / 1e6:.0f} MB ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr, flush=True)
    return shards


def estimated_tokens(shards: list[dict[str, Any]]) -> int:
    return int(sum(c / CHARS_PER_TOKEN[lang] for s in shards for lang, c in s["chars"].items()))


# ------------------------------------------------------------------ measurements (one process each)

def measure_mix(inputs: list[Path], out: Path, workers: int, budget: int) -> dict[str, Any]:
    from core.executors import LocalContext
    from stages.mix.stage import Mix

    phases: dict[str, float] = {}

    class TimedContext(LocalContext):
        def map(self, fn: Any, items: Any, desc: str = "") -> list[Any]:
            t0 = time.perf_counter()
            res = super().map(fn, items, desc="")
            phases[desc] = phases.get(desc, 0.0) + time.perf_counter() - t0
            return res

    cfg = dict(MIX_CONFIG, budget_tokens=budget)
    t0 = time.perf_counter()
    stats = Mix(cfg).run(inputs, out, None, TimedContext(workers, seed=1, scratch_dir=out / "_scratch"))
    wall = time.perf_counter() - t0
    out_bytes = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    plan = json.loads((out / "_mix_plan.json").read_text())
    return {"wall": wall, "census": phases.get("mix census", 0.0), "emit": phases.get("mix emit", 0.0),
            "docs_out": sum(s.kept for s in stats), "out_bytes": out_bytes,
            "rows_out": sum(pq.read_metadata(p).num_rows for p in out.rglob("*.parquet")),
            "achieved_tokens": plan["achieved_tokens"], "unsatisfied": plan["unsatisfied"],
            "funnel": [s.to_dict() for s in stats]}


def measure_report(run_dir: Path) -> dict[str, Any]:
    import pipeline.report as report

    inner: dict[str, float] = {}
    original = report.corpus_stats

    def timed_stats(directory: Path) -> dict[str, Any]:
        t0 = time.perf_counter()
        res = original(directory)
        inner["corpus_stats"] = time.perf_counter() - t0
        return res

    report.corpus_stats = timed_stats
    t0 = time.perf_counter()
    page = report.build_report(run_dir)
    wall = time.perf_counter() - t0
    data = json.loads((page.parent / "report.json").read_text())
    return {"wall": wall, "corpus_stats": inner["corpus_stats"], "html_bytes": page.stat().st_size,
            "documents": data["curated"]["documents"]}


def measure_duckdb(inputs: list[Path]) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads=1")
    files = ", ".join(f"'{p}'" for p in inputs)
    t0 = time.perf_counter()
    rows = con.execute(
        f"SELECT lang, floor(log10(length(text) + 1) * 10) AS b, count(*), sum(length(text)) "
        f"FROM read_parquet([{files}]) GROUP BY ALL").fetchall()
    return {"wall": time.perf_counter() - t0, "groups": len(rows)}


def child_main(spec: dict[str, Any]) -> None:
    kind = spec["kind"]
    if kind == "generate":
        res = {"shards": build_corpus(Path(spec["dir"]), spec["mb"])}
    elif kind == "mix":
        res = measure_mix([Path(p) for p in spec["inputs"]], Path(spec["out"]), spec["workers"], spec["budget"])
    elif kind == "report":
        res = measure_report(Path(spec["run_dir"]))
    else:
        res = measure_duckdb([Path(p) for p in spec["inputs"]])
    print("RESULT " + json.dumps(res))


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter under ``/usr/bin/time``: CPU seconds (user + system)
    and peak RSS of the process tree's largest process (the pool workers included)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    timer = shutil.which("time") or "/usr/bin/time"
    proc = subprocess.run([timer, "-f", "TIME %M %U %S", *cmd], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"measurement {spec['kind']} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    res = json.loads(line[7:])
    rss_kb, user, system = proc.stderr.strip().splitlines()[-1].split()[1:]
    res["cpu"] = float(user) + float(system)
    res["peak_rss_mb"] = int(rss_kb) / 1024
    return res


# ------------------------------------------------------------------ driver

def _fake_run_dir(run_dir: Path, shards: list[dict[str, Any]], mixed: Path, funnel: list[dict[str, Any]]) -> None:
    from core.stats import StageStats, merge_stage_lists
    from core.stats import funnel as make_funnel

    curated = run_dir / "stages" / "00-curated"
    curated.mkdir(parents=True)
    for s in shards:
        (curated / Path(s["path"]).name).symlink_to(s["path"])
    (run_dir / "stages" / "01-mix").symlink_to(mixed, target_is_directory=True)
    stats = merge_stage_lists([[StageStats.from_dict(d)] for d in funnel])
    write_json_atomic(make_funnel(stats), run_dir / "funnel.json")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="sizes 60,120 MB")
    ap.add_argument("--sizes-mb", default="500,1000,2000", help="corpus sizes on disk, MB")
    ap.add_argument("--tmp", default=tempfile.gettempdir(), help="where the corpus is written (then removed)")
    ap.add_argument("--out", type=Path, help="write the markdown results here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child_main(json.loads(args.child))
        return
    sizes = [60.0, 120.0] if args.quick else [float(x) for x in args.sizes_mb.split(",")]
    need_gb = max(sizes) * 3.5 / 1000
    free_gb = shutil.disk_usage(args.tmp).free / 1e9
    if free_gb < need_gb + 5:
        raise SystemExit(f"{args.tmp} has {free_gb:.0f} GB free; this run needs about {need_gb:.1f} GB")
    tmp = Path(tempfile.mkdtemp(prefix="axk1-mixbench-", dir=args.tmp))
    try:
        print(f"generating {max(sizes):.0f} MB of Parquet shards in {tmp}", flush=True)
        t0 = time.perf_counter()
        all_shards = run_child({"kind": "generate", "dir": str(tmp / "corpus"), "mb": max(sizes)})["shards"]
        gen_s = time.perf_counter() - t0
        rows, peer_rows = [], []
        for size in sizes:
            shards, acc = [], 0
            for s in all_shards:
                if acc >= size * 1e6:
                    break
                shards.append(s)
                acc += s["bytes"]
            inputs = [s["path"] for s in shards]
            disk_mb = sum(s["bytes"] for s in shards) / 1e6
            text_mb = sum(s["text_bytes"] for s in shards) / 1e6
            docs = sum(s["docs"] for s in shards)
            budget = estimated_tokens(shards)
            res: dict[str, dict[str, Any]] = {}
            for w in (1, 2):
                out = tmp / f"mix-{size:.0f}-{w}"
                res[f"mix{w}"] = run_child({"kind": "mix", "inputs": inputs, "out": str(out), "workers": w,
                                            "budget": budget})
                if w == 2:
                    shutil.rmtree(out)
            run_dir = tmp / f"run-{size:.0f}"
            _fake_run_dir(run_dir, shards, tmp / f"mix-{size:.0f}-1", res["mix1"]["funnel"])
            res["report"] = run_child({"kind": "report", "run_dir": str(run_dir)})
            res["duckdb"] = run_child({"kind": "duckdb", "inputs": inputs})
            shutil.rmtree(run_dir)
            shutil.rmtree(tmp / f"mix-{size:.0f}-1")
            m1, m2, rep, duck = res["mix1"], res["mix2"], res["report"], res["duckdb"]
            print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "funnel"} for k, v in res.items()}),
                  flush=True)
            for name, r, secs in (("mix, 1 worker", m1, m1["wall"]), ("mix, 2 workers", m2, m2["wall"]),
                                  ("report (build_report)", rep, rep["wall"])):
                rows.append([f"{disk_mb:,.0f}", f"{text_mb:,.0f}", f"{docs:,}", name, f"{secs:.1f}",
                             f"{r['cpu']:.1f}", f"{disk_mb / r['cpu']:.0f}", f"{text_mb / r['cpu']:.0f}",
                             f"{r['peak_rss_mb']:.0f}"])
            peer_rows.append([f"{disk_mb:,.0f}", f"{m1['census']:.1f}", f"{m1['emit']:.1f}",
                              f"{m1['out_bytes'] / 1e6:,.0f}", f"{m1['rows_out']:,}",
                              f"{rep['corpus_stats']:.1f}", f"{rep['wall'] - rep['corpus_stats']:.1f}",
                              f"{duck['wall']:.1f}", f"{text_mb / duck['cpu']:.0f}"])
        md = render(args, rows, peer_rows, gen_s)
        print(md)
        if args.out:
            args.out.write_text(md, encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render(args: argparse.Namespace, rows: list[list[Any]], peer_rows: list[list[Any]], gen_s: float) -> str:
    cmd = ".venv/bin/python benchmarks/mix_report.py" + (" --quick" if args.quick else f" --sizes-mb {args.sizes_mb}")
    load = os.getloadavg()[0]
    return "\n".join([
        "## Mixing and report (`mix` stage, `pipeline.report`)", "",
        f"Command: `{cmd}`  ",
        f"Machine: 2-core x86 VM ({platform.machine()}), Python {platform.python_version()}; other work was "
        f"running on the machine at the same time (load average {load:.1f} at the end), so wall times are "
        f"indicative; MB/s/core divides by the CPU seconds (user + system) of the measured process tree.  ",
        f"Corpus: synthetic curated shards of {DOCS_PER_SHARD:,} documents (62 % Korean, 33 % English, 5 % "
        f"Japanese; 500-20,000 characters), zstd Parquet; generated in {gen_s:.0f} s. Each size is a prefix of "
        "the shards; every measurement runs in a fresh process and peak RSS is that process tree's largest.",
        "", markdown_table(["MB on disk", "MB text", "docs", "measurement", "wall s", "CPU s",
                            "MB/s/core (disk)", "MB/s/core (text)", "peak RSS MB"], rows), "",
        "Mix phases (1 worker), report split and the DuckDB peer (one thread, language counts and a length "
        "histogram: the cost of decoding the text column):", "",
        markdown_table(["MB on disk", "census s", "emit s", "MB out", "rows out", "corpus_stats s",
                        "render s", "DuckDB s", "DuckDB MB/s/core (text)"], peer_rows), "",
    ])


if __name__ == "__main__":
    main()
