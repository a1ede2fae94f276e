"""Project the 10T-token run from the per-core rates measured in BENCHMARKS.md.

Every rate below is a number measured by a benchmark in this folder (one core of the 2-core VM);
every volume and keep rate is a planning assumption stated next to it. Change them here and rerun:

    .venv/bin/python -m benchmarks.projection [--dumps 40] [--cores 4096] [--engine trafilatura]
"""

from __future__ import annotations

import argparse

from benchmarks.common import markdown_table

# ---- measured per-core rates (BENCHMARKS.md) --------------------------------------------------
PAGES_PER_S = {"trafilatura": 150.0, "resiliparse": 496.0}   # read + extract, benchmarks/extraction.py
LANGID_MB_S = 11.0        # document mode, benchmarks/langid.py
QUALITY_MB_S = 1.94       # English, every filter + spam + model, benchmarks/quality.py
DEDUP_CORE_H_PER_BDOCS = 800.0   # all MinHash phases, 1e9 documents, benchmarks/dedup.py projection
PII_MB_S = 20.0           # PII-dense English worst case (ordinary text 49-62), benchmarks/pii.py
MIX_MB_S = 45.0           # Parquet on disk, benchmarks/mix_report.py
PACK_TOKENS_S = 2_000_000  # tokens per CPU-second, steady, real English (Korean 3.2 M), 163,840 vocabulary, benchmarks/pack.py

# ---- planning assumptions (public figures for Common Crawl and FineWeb; not measured here) -----
PAGES_PER_DUMP = 2.8e9    # HTML responses in one monthly Common Crawl dump
TEXT_KB = 4.0             # extracted text per page before filtering
FINAL_TEXT_KB = 2.8       # text per document after filtering (shorter pages are removed less often)
KEEP = {                  # fraction of the stage's input documents kept (FineWeb-like funnel)
    "extract": 0.95,
    "langid": 0.48,       # English + Korean; Korean alone is ~0.7 % of pages
    "quality": 0.55,
    "minhash_dedup": 0.35,
    "pii": 1.0,           # placeholders replace identifiers; documents are kept
}
TOKENS_PER_DOC = 700      # final English-dominated documents, A.X K1 tokenizer (3.7 bytes/token)
PARQUET_RATIO = 0.35      # zstd Parquet bytes per text byte, with signal columns
WARC_TIB_PER_DUMP = 95.0


def project(dumps: int, cores: int, engine: str) -> tuple[list[list[object]], dict[str, float]]:
    pages = PAGES_PER_DUMP * dumps
    docs = {"extract": pages}
    order = list(KEEP)
    for prev, stage in zip(order, order[1:]):
        docs[stage] = docs[prev] * KEEP[prev]
    final_docs = docs["pii"] * KEEP["pii"]
    text_tb = {s: n * TEXT_KB * 1e3 / 1e12 for s, n in docs.items()}
    core_h = {
        "extract": pages / PAGES_PER_S[engine] / 3600,
        "langid": text_tb["langid"] * 1e12 / (LANGID_MB_S * 1e6) / 3600,
        "quality": text_tb["quality"] * 1e12 / (QUALITY_MB_S * 1e6) / 3600,
        "minhash_dedup": docs["minhash_dedup"] / 1e9 * DEDUP_CORE_H_PER_BDOCS,
        "pii": docs["pii"] * FINAL_TEXT_KB * 1e3 / (PII_MB_S * 1e6) / 3600,
    }
    tokens = final_docs * TOKENS_PER_DOC
    corpus_tb = final_docs * FINAL_TEXT_KB * 1e3 * PARQUET_RATIO / 1e12
    core_h["mix"] = corpus_tb * 1e12 / (MIX_MB_S * 1e6) / 3600
    core_h["pack"] = tokens / PACK_TOKENS_S / 3600
    rows = []
    total = sum(core_h.values())
    for stage, h in core_h.items():
        n_in = docs.get(stage, final_docs)
        stored = (n_in * KEEP.get(stage, 1.0) * (TEXT_KB if stage in ("extract", "langid") else FINAL_TEXT_KB)
                  * 1e3 * PARQUET_RATIO / 1e12)
        if stage == "pack":
            stored = tokens * 4 / 1e12  # int32 tokens
        rows.append([stage, f"{n_in / 1e9:,.1f} B", f"{h:,.0f}", f"{100 * h / total:.0f}%",
                     f"{h / cores:,.1f}", f"{stored:,.1f}"])
    summary = {"tokens": tokens, "core_hours": total, "wall_hours": total / cores, "warc_pib": dumps * WARC_TIB_PER_DUMP / 1024,
               "final_docs": final_docs, "corpus_tb": corpus_tb}
    return rows, summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dumps", type=int, default=40, help="Common Crawl dumps processed")
    ap.add_argument("--cores", type=int, default=4096, help="cores of the Ray cluster")
    ap.add_argument("--engine", choices=sorted(PAGES_PER_S), default="trafilatura")
    args = ap.parse_args(argv)
    rows, s = project(args.dumps, args.cores, args.engine)
    print(markdown_table(["stage", "documents in", "core-hours", "share", f"hours on {args.cores} cores",
                          "stored after it, TB"], rows))
    print(f"\n{args.dumps} dumps ({s['warc_pib']:.1f} PiB of WARC) -> {s['final_docs'] / 1e9:.1f} B documents, "
          f"{s['tokens'] / 1e12:.2f} T unique tokens, {s['corpus_tb']:.1f} TB of Parquet; "
          f"{s['core_hours']:,.0f} core-hours = {s['wall_hours']:.0f} h on {args.cores} cores ({args.engine}).")


if __name__ == "__main__":
    main()
