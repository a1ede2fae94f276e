"""Pack + loader benchmark: tokens/s/core for tokenize+pack vs datatrove, loader batches/s at 8,192.

    .venv/bin/python benchmarks/pack.py            # 3.2 MB Korean + 1.3 MB English real, 16 MB recombined each
    .venv/bin/python benchmarks/pack.py --quick    # 1 MB real, 6 MB recombined each, 32,768 vocab

Tokenize+pack (one process, one tokenizer thread: ``RAYON_NUM_THREADS=1``), on the same Parquet
file and the same tokenizer file, best of ``--repeats``, tokens per CPU-second:

* ``axk1 pack``: Parquet -> Megatron ``.bin``/``.idx`` (int32) + manifest, with the default encoder
  (word table + compiled BPE for new words), the word table with HF's BPE for new words, and the
  tokenizer called directly (``encode_batch_fast``);
* datatrove 0.10.1 ``ParquetReader`` -> ``DocumentTokenizer`` (EOS appended; its default document
  shuffle, and without it).

Each system is timed steady (tokenizer loaded before the clock, as in a worker past its first shard;
our word table still starts empty) and cold (tokenizer load inside the clock). Two tokenizers: the
project tokenizer (``axk1 tokenizer train``: sentencepiece BPE exported to ``tokenizer.json``) and a
GPT-2-style byte-level BPE trained with HF ``tokenizers`` on the same text. Text is real: Korean
from ../shared/data (NSMC reviews per movie, KLUE-NLI, Kiwi test sets, chatbot Q/A), English from
the B1 article bodies and package documentation in the virtualenv. Only a few MB exist, so a second,
larger set recombines the same lines into new documents: its vocabulary is the small source's,
which flatters any word cache (ours, and the 10,000-word cache inside HF's BPE). All systems must
write identical tokens.

Loader: ``PackedLoader`` at sequence length 8,192 with 1M-token global batches (128 rows), three
blended sources (the two packed languages and 64M synthetic int32 tokens in 16 shards, log-normal
document lengths), for one rank of 1 and of 8 data-parallel ranks.
"""

from __future__ import annotations

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # tokenizers reads this when its thread pool starts
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import csv  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
EOS = "<|endoftext|>"

from benchmarks.common import markdown_table, timed  # noqa: E402


# ---------------------------------------------------------------- text -----------------------
def korean_docs() -> list[str]:
    if not DATA.is_dir():
        raise SystemExit(f"this benchmark needs {DATA}")
    docs: list[str] = []
    for f in sorted(glob.glob(str(DATA / "D3_nsmc_raw_sample/raw/*.json"))):
        docs.append("\n".join(r["review"] for r in json.loads(Path(f).read_text(encoding="utf-8"))
                              if r.get("review")))
    nli = json.loads((DATA / "D7_klue_nli_dev/klue_benchmark/klue-nli-v1.1/klue-nli-v1.1_dev.json")
                     .read_text(encoding="utf-8"))
    for i in range(0, len(nli), 8):
        docs.append(" ".join(f"{r['premise']} {r['hypothesis']}" for r in nli[i:i + 8]))
    for f in sorted(glob.glob(str(DATA / "D2_kiwipiepy_benchmarks/**/*.txt"), recursive=True)):
        text = Path(f).read_text(encoding="utf-8", errors="replace")
        docs += [p for p in text.split("\n\n") if p.strip()]
    with open(DATA / "D4_songys_chatbot_data/ChatbotData.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for i in range(0, len(rows), 20):
        docs.append("\n".join(f"{r['Q']}\n{r['A']}" for r in rows[i:i + 20]))
    return [d for d in docs if d.strip()]


def english_docs(limit_bytes: int) -> list[str]:
    gt = json.loads((DATA / "B1_scrapinghub_article_extraction_benchmark/ground-truth.json")
                    .read_text(encoding="utf-8"))
    docs = [r["articleBody"] for r in gt.values() if r.get("articleBody")]
    for f in sorted(SITE.glob("*.dist-info/METADATA")):
        body = f.read_text(encoding="utf-8", errors="replace").split("\n\n", 1)[-1]
        if len(body) > 2000 and body.isascii():
            docs.append(body)
    out, size = [], 0
    for d in docs:
        out.append(d)
        size += len(d.encode())
        if size >= limit_bytes:
            break
    return out


def recombine(docs: list[str], target_bytes: int, seed: int = 0) -> list[str]:
    """New documents from random lines of the real ones (same words, many more documents)."""
    import random

    rng = random.Random(seed)
    lines = [ln for d in docs for ln in d.splitlines() if ln.strip()]
    sizes = [max(1, d.count("\n") + 1) for d in docs]
    out, size = [], 0
    while size < target_bytes:
        doc = "\n".join(rng.choice(lines) for _ in range(rng.choice(sizes)))
        out.append(doc)
        size += len(doc.encode())
    return out


def trim(docs: list[str], limit_bytes: int) -> list[str]:
    out, size = [], 0
    for d in docs:
        if size >= limit_bytes:
            break
        out.append(d)
        size += len(d.encode())
    return out


# ---------------------------------------------------------------- tokenizers -----------------
def project_tokenizer(work: Path, parquet: list[Path], vocab: int) -> Path:
    from tokenizer.config import TrainConfig
    from tokenizer.train import train_tokenizer

    out = work / "axk1_tok"
    train_tokenizer(TrainConfig(inputs=[str(p) for p in parquet], output_dir=str(out), vocab_size=vocab,
                                sample_bytes=50_000_000, holdout_fraction=0.0, character_coverage=0.9995))
    return out


def bytelevel_tokenizer(work: Path, texts: list[str], vocab: int) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab, special_tokens=[EOS], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    path = work / "bytelevel.json"
    tok.save(str(path))
    return path


# ---------------------------------------------------------------- pack runs ------------------
OURS = {"axk1 pack (default: word table + compiled BPE)": dict(fast_encode=True, compiled_bpe=True),
        "axk1 pack (word table + tokenizer BPE)": dict(fast_encode=True, compiled_bpe=False),
        "axk1 pack (encode_batch_fast)": dict(fast_encode=False)}
PEER = "datatrove DocumentTokenizer (shuffle)"


def run_ours(parquet: Path, tok_file: Path, out: Path, options: dict, steady: bool) -> tuple[int, dict[str, float]]:
    """One pack of ``parquet``. ``steady``: the tokenizer is loaded before the clock starts (as in a
    worker past its first shard) but the word table starts empty; else everything starts cold."""
    from tokenizer.pack import PackConfig, clear_caches, pack, preload

    shutil.rmtree(out, ignore_errors=True)
    cfg = PackConfig(inputs=[str(parquet)], output_dir=str(out), tokenizer=str(tok_file), eos_token=EOS,
                     workers=1, executor="local", token_dtype="int32", **options)
    clear_caches()
    if steady:
        preload(cfg)
        clear_caches(keep_tokenizers=True)  # empty word table: no words carried over from earlier runs
    with timed() as t:
        manifest = pack(cfg)
    return manifest["totals"]["tokens"], t


def run_datatrove(parquet: Path, tok_file: Path, out: Path, shuffle: bool,
                  steady: bool) -> tuple[int, dict[str, float]]:
    from datatrove.core.readers import ParquetReader
    from datatrove.pipeline.tokens import DocumentTokenizer

    shutil.rmtree(out, ignore_errors=True)
    reader = ParquetReader(str(parquet.parent), glob_pattern=parquet.name, text_key="text")
    step = DocumentTokenizer(str(out), tokenizer_name_or_path=str(tok_file), eos_token=EOS,
                             shuffle_documents=shuffle, seed=0)
    if steady:
        _ = step.tokenizer
    with timed() as t:
        _ = step.tokenizer
        step.run(reader.run(None, rank=0, world_size=1), rank=0, world_size=1)
    size = step.token_size
    tokens = sum(p.stat().st_size for p in out.glob("*.ds")) // size
    return tokens, t


def bench_pack(work: Path, corpora: dict[str, tuple[Path, int]], tokenizers: dict[str, Path]) -> list[list]:
    rows = []
    runs = [(label, run_ours, f"o{i}", opts) for i, (label, opts) in enumerate(OURS.items())]
    runs += [(PEER, run_datatrove, "d_shuf", True),
             ("datatrove DocumentTokenizer (no shuffle)", run_datatrove, "d_plain", False)]
    for tname, tok in tokenizers.items():
        for lang, (parquet, repeats) in corpora.items():
            mb = sum(len(t.encode()) for t in pq.read_table(parquet)["text"].to_pylist()) / 1e6
            best: dict[tuple[str, bool], list] = {}
            for _ in range(repeats):  # interleaved, so load changes on the machine hit every system
                for label, fn, sub, arg in runs:
                    for steady in (True, False):
                        tokens, t = fn(parquet, tok, work / sub, arg, steady)
                        b = best.setdefault((label, steady), [tokens, float("inf")])
                        b[1] = min(b[1], t["cpu"])
                        if tokens != b[0]:
                            raise SystemExit(f"{label} wrote {tokens} tokens, then {b[0]}")
            same_tokens(work, [f"o{i}" for i in range(len(OURS))])
            base = best[(PEER, True)][0]
            for label, *_ in runs:
                tokens, steady_cpu = best[(label, True)]
                cold_cpu = best[(label, False)][1]
                if tokens != base:
                    raise SystemExit(f"{label} wrote {tokens} tokens, datatrove {base}: not the same work")
                rows.append([tname, lang, f"{mb:.1f}", label, tokens, tokens / steady_cpu,
                             f"{best[(PEER, True)][1] / steady_cpu:.2f}x", tokens / cold_cpu,
                             f"{best[(PEER, False)][1] / cold_cpu:.2f}x", f"{max(cold_cpu - steady_cpu, 0):.2f}"])
            print(markdown_table(PACK_HEADERS, rows[-len(runs):]), flush=True)
    return rows


def same_tokens(work: Path, ours: list[str]) -> None:
    """Every one of our encoders and datatrove (unshuffled) wrote exactly the same token sequence."""
    ds = sorted((work / "d_plain").glob("*.ds"))
    size = int(open(str(ds[0]) + ".metadata").read().splitlines()[0].rsplit("|", 1)[-1]) if ds else 4
    peer = np.concatenate([np.fromfile(p, np.uint16 if size == 2 else np.uint32) for p in ds]).astype(np.int32)
    for sub in ours:
        mine = np.concatenate([np.fromfile(p, np.int32) for p in sorted((work / sub).rglob("*.bin"))])
        if not np.array_equal(mine, peer):
            raise SystemExit(f"token streams differ between {sub} and datatrove")


PACK_HEADERS = ["tokenizer", "text", "MB", "system", "tokens", "steady tokens/CPU-s", "vs datatrove",
                "cold tokens/CPU-s", "vs datatrove (cold)", "load CPU-s"]


# ---------------------------------------------------------------- loader ---------------------
def synthetic_shard(prefix: Path, tokens: int, vocab: int, seed: int = 0) -> None:
    from core.indexed import MegatronWriter

    rng = np.random.default_rng(seed)
    w = MegatronWriter(prefix, np.int32)
    left = tokens
    while left > 0:
        lengths = np.minimum(np.maximum(rng.lognormal(6.3, 1.1, 20_000).astype(np.int64), 8), 200_000)
        lengths = lengths[np.cumsum(lengths) <= left] if lengths.sum() > left else lengths
        if lengths.size == 0:
            lengths = np.array([left])
        w.add(rng.integers(0, vocab, int(lengths.sum()), dtype=np.int32), lengths)
        left -= int(lengths.sum())
    w.close()


def bench_loader(prefixes: list[str], weights: list[float], seconds: float) -> list[list]:
    from trainer.data import PackedLoader

    seq, global_rows = 8192, 128  # 128 x 8,192 = 1,048,576 tokens per global batch
    rows = []
    for world, micro in [(1, 16), (8, 16)]:
        t_open = time.perf_counter()
        loader = PackedLoader(prefixes, weights, seq_len=seq, micro_batch=micro, dp_rank=0, dp_world=world,
                              seed=0)
        t_open = time.perf_counter() - t_open
        it = iter(loader)
        t_first = time.perf_counter()
        next(it)  # builds the first epoch's document order per source
        t_first = time.perf_counter() - t_first
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            b = next(it)
            n += 1
        dt = time.perf_counter() - t0
        assert b["tokens"].shape == (micro, seq + 1)
        per_rank_global = global_rows // world  # rows this rank builds per 1M-token global batch
        micro_per_global = per_rank_global // micro
        tok_s = n * micro * seq / dt
        rows.append([world, micro, f"{t_open:.2f}", f"{t_first:.2f}", n / dt, n / dt / micro_per_global, tok_s])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", help="keep the work directory here")
    ap.add_argument("--only", choices=["pack", "loader"], help="run one of the two parts")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    mb = 1_000_000 if args.quick else 4_000_000
    vocab = 32_768 if args.quick else 163_840
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench_pack_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        ko, en = trim(korean_docs(), mb), english_docs(mb)
        big = 6_000_000 if args.quick else 16_000_000
        sets = {"ko": ko, "en": en, "ko recombined": recombine(ko, big), "en recombined": recombine(en, big)}
        corpora: dict[str, tuple[Path, int]] = {}
        for name, docs in sets.items():
            lang = name.split()[0]
            path = work / "corpus" / name.replace(" ", "_") / f"{lang}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table({"text": docs, "lang": [lang] * len(docs)}), path)
            corpora[name] = (path, args.repeats if name in ("ko", "en") else 1)
            print(f"text {name}: {len(docs)} docs {sum(len(d.encode()) for d in docs) / 1e6:.2f} MB", flush=True)
        t = time.perf_counter()
        try:
            proj = project_tokenizer(work, [corpora["ko"][0], corpora["en"][0]], vocab)
            proj_vocab = vocab
        except Exception as exc:  # tiny corpus vs huge vocabulary: say so and use a smaller one
            print(f"project tokenizer at {vocab} failed ({exc}); using 32,768", flush=True)
            proj, proj_vocab = project_tokenizer(work, [corpora["ko"][0], corpora["en"][0]], 32_768), 32_768
        byte = bytelevel_tokenizer(work, ko + en, min(vocab, 65_536))
        print(f"tokenizers trained in {time.perf_counter() - t:.1f}s", flush=True)
        tokenizers = {f"axk1 (sentencepiece BPE, {proj_vocab:,})": proj / "tokenizer.json",
                      f"byte-level BPE ({min(vocab, 65_536):,})": byte}
        pack_rows = bench_pack(work, corpora, tokenizers) if args.only != "loader" else []

        # loader: pack both languages with the project tokenizer, plus a large synthetic source
        from tokenizer.pack import PackConfig, pack

        pack(PackConfig(inputs=[str(corpora["ko"][0]), str(corpora["en"][0])], output_dir=str(work / "packed"),
                        tokenizer=str(proj), workers=1, token_dtype="int32"))
        synth_tokens = 8_000_000 if args.quick else 64_000_000
        for i in range(16):  # a directory of shards, as the packer writes them
            synthetic_shard(work / "packed" / "synthetic" / f"part-{i:05d}", synth_tokens // 16, proj_vocab, seed=i)
        prefixes = [str(work / "packed" / "ko"), str(work / "packed" / "en"), str(work / "packed" / "synthetic")]
        loader_rows = (bench_loader(prefixes, [0.5, 0.3, 0.2], 5.0 if args.quick else 15.0)
                       if args.only != "pack" else [])

        print("\n## Tokenize + pack, one core\n")
        print(markdown_table(PACK_HEADERS, pack_rows))
        print("\n## Loader, seq 8,192, global batch 128 x 8,192 = 1,048,576 tokens, one process\n")
        print(markdown_table(["dp_world", "micro_batch", "open s", "first batch s", "micro-batches/s",
                              "global batches/s (this rank's share)", "tokens/s"], loader_rows))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
