"""Tokenizer benchmark: train the full 163,840 vocabulary, sentencepiece vs HF tokenizers, and encode speed.

    .venv/bin/python benchmarks/tokenizer.py            # >= 1 GB mixed corpus, full vocabulary
    .venv/bin/python benchmarks/tokenizer.py --quick    # 60 MB corpus, 32,768 vocabulary

Steps (each trainer runs in its own process under ``/usr/bin/time -v`` for its peak memory):

1. build a mixed Parquet corpus (``text``, ``lang``): Korean recombined from ../shared/data (only a
   few MB exist, so Korean documents are new combinations of the same sentences with perturbed
   numbers: heavily duplicated at sentence level), English from package documentation and the
   B1 article bodies (repeated with shuffled paragraphs), Python code from installed packages,
   Japanese/Chinese from the C2 charset test files;
2. ``axk1 tokenizer train`` (sentencepiece BPE, byte fallback) over the corpus;
3. the HF ``tokenizers`` BPE trainer (byte-level, digits split, same vocabulary size) over the
   exact same sampled training sentences;
4. encode throughput on held-out documents: our tokenizer through both backends at 1 and 2
   threads, and the HF byte-level peer; bytes per token per language for both vocabularies.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
SHARES = {"ko": 0.40, "en": 0.25, "code": 0.30, "other": 0.05}
TAG = re.compile(r"<[^>]{0,400}>|&[a-z#0-9]{1,8};")


# ---------------------------------------------------------------- corpus ---------------------
def _strip_markup(text: str) -> list[str]:
    return [ln.strip() for ln in TAG.sub(" ", text).splitlines() if len(ln.strip()) > 8]


def korean_lines() -> list[str]:
    lines: list[str] = []
    for f in sorted(glob.glob(str(DATA / "D3_nsmc_raw_sample/raw/*.json"))):
        lines += [r["review"] for r in json.loads(Path(f).read_text(encoding="utf-8")) if r.get("review")]
    for f in sorted(glob.glob(str(DATA / "D2_kiwipiepy_benchmarks/**/*.txt"), recursive=True)):
        lines += [ln for ln in Path(f).read_text(encoding="utf-8").splitlines() if ln.strip()]
    with open(DATA / "D4_songys_chatbot_data/ChatbotData.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lines += [row["Q"], row["A"]]
    nli = DATA / "D7_klue_nli_dev/klue_benchmark/klue-nli-v1.1/klue-nli-v1.1_dev.json"
    for r in json.loads(nli.read_text(encoding="utf-8")):
        lines += [r["premise"], r["hypothesis"]]
    for enc, folder in [("cp949", "EUC-KR"), ("cp949", "CP949"), ("johab", "Johab"),
                        ("iso2022_kr", "iso-2022-kr")]:
        for f in sorted((DATA / "C2_chardet_korean_legacy_charsets/tests" / folder).glob("*")):
            lines += _strip_markup(f.read_bytes().decode(enc, "replace"))
    return [ln for ln in lines if ln.strip()]


def other_lines() -> list[str]:
    lines: list[str] = []
    for enc, folder in [("euc_jp", "EUC-JP"), ("shift_jis", "SHIFT_JIS"), ("cp932", "CP932"),
                        ("gb18030", "GB2312"), ("big5", "Big5")]:
        for f in sorted((DATA / "C2_chardet_korean_legacy_charsets/tests" / folder).glob("*")):
            lines += _strip_markup(f.read_bytes().decode(enc, "replace"))
    return lines


def english_docs() -> list[str]:
    docs = [r["articleBody"] for r in json.loads(
        (DATA / "B1_scrapinghub_article_extraction_benchmark/ground-truth.json").read_text("utf-8")).values()]
    paths = sorted(p for pat in ("*.md", "*.rst", "*.txt") for p in SITE.rglob(pat))
    paths += sorted(Path("/usr/share/doc").rglob("copyright"))
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if len(text) > 200:
            docs.append(text[:200_000])
    return docs


def code_files() -> list[Path]:
    return sorted(p for p in SITE.rglob("*.py") if 2_000 < p.stat().st_size < 400_000)


def _perturb_digits(text: str, rng: random.Random) -> str:
    return re.sub(r"\d", lambda _: str(rng.randrange(10)), text) if rng.random() < 0.5 else text


def build_corpus(out: Path, total_bytes: int, seed: int = 0) -> dict:
    """Write Parquet shards with ``text`` and ``lang``; return bytes and unique bytes per language."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = out / "_SUCCESS.json"
    if done.is_file() and json.loads(done.read_text())["total_bytes"] == total_bytes:
        return json.loads(done.read_text())
    if not DATA.is_dir():
        raise SystemExit(f"this benchmark needs {DATA} (the shared test data folder beside the repo)")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.parquet"):
        old.unlink()
    rng = random.Random(seed)
    ko, other, en, code = korean_lines(), other_lines(), english_docs(), code_files()
    unique = {"ko": sum(len(s.encode()) for s in ko), "other": sum(len(s.encode()) for s in other),
              "en": sum(len(s.encode()) for s in en)}
    written = dict.fromkeys(SHARES, 0)
    targets = {k: v * total_bytes for k, v in SHARES.items()}
    shard, rows, shard_bytes = 0, {"text": [], "lang": []}, 0
    code_i = en_i = 0
    code_unique = 0

    def flush() -> None:
        nonlocal shard, rows, shard_bytes
        if rows["text"]:
            pq.write_table(pa.table(rows), out / f"part-{shard:05d}.parquet", compression="zstd")
            shard, rows, shard_bytes = shard + 1, {"text": [], "lang": []}, 0

    while any(written[k] < targets[k] for k in SHARES):
        lang = min(SHARES, key=lambda k: written[k] / targets[k])
        if lang == "ko":
            doc = ("\n" if rng.random() < 0.5 else " ").join(
                _perturb_digits(rng.choice(ko), rng) for _ in range(rng.randint(3, 40)))
        elif lang == "other":
            doc = "\n".join(rng.choice(other) for _ in range(rng.randint(3, 30)))
        elif lang == "en":
            doc = en[en_i % len(en)]
            if en_i >= len(en):  # repeats: shuffle paragraphs so documents differ
                paras = doc.split("\n\n")
                rng.shuffle(paras)
                doc = "\n\n".join(paras)
            en_i += 1
        else:
            path = code[code_i % len(code)]
            doc = path.read_text(encoding="utf-8", errors="replace")
            if code_i < len(code):
                code_unique += len(doc.encode())
            code_i += 1
        n = len(doc.encode())
        rows["text"].append(doc)
        rows["lang"].append(lang)
        written[lang] += n
        shard_bytes += n
        if shard_bytes >= 64_000_000:
            flush()
    flush()
    unique["code"] = code_unique
    info = {"total_bytes": total_bytes, "written_bytes": written, "unique_source_bytes": unique,
            "shards": shard}
    done.write_text(json.dumps(info, indent=2))
    return info


# ---------------------------------------------------------------- training -------------------
def _timed(args: list[str], env: dict | None = None) -> dict:
    """Run a subcommand of this script under /usr/bin/time -v; return its JSON and peak RSS."""
    cmd = ["/usr/bin/time", "-v", sys.executable, __file__, *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"{args[0]} failed ({proc.returncode})")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr))
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(wall_s=round(wall, 1), cpu_s=round(cpu, 1),
                  peak_rss_gib=round(int(rss.group(1)) / 2**20, 2) if rss else None)
    return result


def _train_config(corpus: Path, out: Path, vocab: int, sample_bytes: int) -> dict:
    return {"inputs": [str(corpus)], "output_dir": str(out), "vocab_size": vocab,
            "sample_bytes": sample_bytes, "holdout_fraction": 0.01,
            "language_shares": {"ko": 0.45, "en": 0.25, "code": 0.2, "*": 0.1}}


def cmd_train_spm(cfg_json: str) -> None:
    from tokenizer.config import TrainConfig
    from tokenizer.train import train_tokenizer

    report = train_tokenizer(TrainConfig(**json.loads(cfg_json)))
    print(json.dumps({"seconds": report["seconds_total"], "sampled_bytes": sum(
        report["sample"]["sampled_bytes"].values()), "scan_s": report["seconds_scan"]}))


def cmd_train_hf(cfg_json: str) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    from tokenizer.config import TrainConfig
    from tokenizer.sample import chunk_text, iter_documents, plan, resolve_inputs, scan
    from tokenizer.specials import special_tokens

    cfg = TrainConfig(**json.loads(cfg_json))
    t0 = time.perf_counter()
    files = resolve_inputs(cfg.inputs)
    report = scan(files, cfg)
    plan(report, cfg, "train")

    def sentences():
        for _, text in iter_documents(files, cfg, report, split="train"):
            yield from chunk_text(text, cfg.max_sentence_chars)

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\d"), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    specials = [t.content for t in special_tokens()]
    trainer = trainers.BpeTrainer(vocab_size=cfg.vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  max_token_length=cfg.max_piece_length)
    tok.train_from_iterator(sentences(), trainer=trainer)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    print(json.dumps({"seconds": round(time.perf_counter() - t0, 2), "vocab": tok.get_vocab_size(),
                      "sampled_bytes": sum(report.sampled_bytes.values())}))


# ---------------------------------------------------------------- encoding -------------------
def _holdout(corpus: Path, nbytes: int) -> list[tuple[str, str]]:
    from tokenizer.config import SampleConfig
    from tokenizer.sample import iter_documents, plan, resolve_inputs, scan

    cfg = SampleConfig(inputs=[str(corpus)], sample_bytes=nbytes, holdout_fraction=0.01,
                       language_shares=dict(SHARES))
    files = resolve_inputs(cfg.inputs)
    report = scan(files, cfg)
    plan(report, cfg, "holdout")
    return list(iter_documents(files, cfg, report, split="holdout"))


def cmd_encode(corpus: str, tok_dir: str, backend: str, threads: int, nbytes: int) -> None:
    docs = _holdout(Path(corpus), nbytes)
    texts = [t for _, t in docs]
    if backend == "hf-bytelevel":
        from tokenizers import Tokenizer

        peer = Tokenizer.from_file(str(Path(tok_dir) / "tokenizer.json"))

        def encode(batch):
            return [e.ids for e in peer.encode_batch_fast(batch, add_special_tokens=False)]
    else:
        from tokenizer.api import load_tokenizer

        tok = load_tokenizer(tok_dir, backend=backend, num_threads=threads)
        encode = tok.encode_batch
    encode(texts[:64])  # warm up
    t0, c0 = time.perf_counter(), time.process_time()
    ids: list[list[int]] = []
    for i in range(0, len(texts), 1024):
        ids.extend(encode(texts[i:i + 1024]))
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    ntok = sum(map(len, ids))
    nbytes_total = sum(len(t.encode()) for t in texts)
    per_lang: dict[str, list[int]] = {}
    for (lang, text), seq in zip(docs, ids):
        acc = per_lang.setdefault(lang, [0, 0])
        acc[0] += len(text.encode())
        acc[1] += len(seq)
    print(json.dumps({"backend": backend, "threads": threads, "docs": len(texts), "mb": round(nbytes_total / 1e6, 1),
                      "tokens": ntok, "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2),
                      "tokens_per_s": round(ntok / secs), "tokens_per_s_per_core": round(ntok / secs / threads),
                      # CPU-time based: what one core delivers, robust to other load on the machine
                      "tokens_per_cpu_s": round(ntok / cpu), "mb_per_cpu_s": round(nbytes_total / cpu / 1e6, 2),
                      "mb_per_s": round(nbytes_total / secs / 1e6, 2),
                      "bytes_per_token": {k: round(v[0] / max(v[1], 1), 3) for k, v in per_lang.items()}}))


# ---------------------------------------------------------------- main -----------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="60 MB corpus, 32,768 vocabulary")
    ap.add_argument("--work", default=str(ROOT / "runs" / "bench_tokenizer"))
    ap.add_argument("--corpus-gb", type=float, default=None)
    ap.add_argument("--sample-mb", type=int, default=None, help="training text sampled from the corpus")
    ap.add_argument("--vocab", type=int, default=None)
    ap.add_argument("--encode-mb", type=int, default=None)
    ap.add_argument("--skip", default="", help="comma list of steps to skip: spm,hf,encode")
    args = ap.parse_args()
    gb = args.corpus_gb or (0.06 if args.quick else 1.0)
    sample_mb = args.sample_mb or (30 if args.quick else 300)
    vocab = args.vocab or (32_768 if args.quick else 163_840)
    encode_mb = args.encode_mb or (4 if args.quick else 8)
    skip = set(filter(None, args.skip.split(",")))
    work = Path(args.work) / ("quick" if args.quick else "full")
    corpus = work / "corpus"
    results: dict = {"vocab": vocab, "corpus_gb": gb, "sample_mb": sample_mb, "cpus": os.cpu_count()}
    t0 = time.perf_counter()
    results["corpus"] = build_corpus(corpus, int(gb * 1e9))
    results["corpus"]["build_s"] = round(time.perf_counter() - t0, 1)
    print("corpus:", json.dumps(results["corpus"]), flush=True)
    spm_dir, hf_dir = work / "axk1_spm", work / "hf_bytelevel"
    if "spm" not in skip:
        cfg = json.dumps(_train_config(corpus, spm_dir, vocab, sample_mb * 10**6))
        results["train_sentencepiece"] = _timed(["_train_spm", cfg])
        print("sentencepiece:", json.dumps(results["train_sentencepiece"]), flush=True)
    if "hf" not in skip:
        cfg = json.dumps(_train_config(corpus, hf_dir, vocab, sample_mb * 10**6))
        results["train_hf_tokenizers"] = _timed(["_train_hf", cfg])
        print("hf tokenizers:", json.dumps(results["train_hf_tokenizers"]), flush=True)
    if "encode" not in skip:
        runs = []
        for backend, d in [("hf", spm_dir), ("sentencepiece", spm_dir), ("hf-bytelevel", hf_dir)]:
            if not (d / "tokenizer.json").is_file():
                continue
            for threads in (1, 2):
                env = {"RAYON_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "true"}
                r = _timed(["_encode", str(corpus), str(d), backend, str(threads), str(encode_mb * 10**6)], env)
                print("encode:", json.dumps(r), flush=True)
                runs.append(r)
        results["encode"] = runs
    out = work / "results.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"results written to {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_train_spm":
        cmd_train_spm(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "_train_hf":
        cmd_train_hf(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "_encode":
        cmd_encode(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    else:
        main()
