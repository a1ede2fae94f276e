"""Extraction benchmark: main-text quality on the Scrapinghub article set, and throughput vs datatrove.

Quality: for each engine, the benchmark's own metric (4-token shingle precision/recall per page,
normalised per page, averaged over pages; F1 from the averages) against ``ground-truth.json``.
Speed: a WARC built from the same pages (repeated), read and extracted in one process by our reader +
``extract`` stage, and by datatrove's ``WarcReader`` + ``Trafilatura`` in the same run.

    .venv/bin/python benchmarks/extraction.py [--repeat 3] [--skip-datatrove]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import logging
import re
import statistics
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import markdown_table, shared
from core.readers import read_batches
from core.stage import apply_stage
from core.stats import StageStats
from stages.extract.charset import decode_html
from stages.extract.stage import Extract, extract_resiliparse, extract_trafilatura

log = logging.getLogger("bench.extraction")
_TOKEN = re.compile(r"\w+")


def shingle_prf(true: str, pred: str, n: int = 4) -> tuple[float, float, float]:
    """Normalised (tp, fp, fn) over multisets of n-token shingles, as the article benchmark defines."""
    def shingles(text: str) -> Counter:
        toks = _TOKEN.findall(text or "")
        return Counter(tuple(toks[i:i + n]) for i in range(max(1, len(toks) - n + 1)) if toks[i:i + n])

    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def score(triples: list[tuple[float, float, float]]) -> dict[str, float]:
    def prec(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def rec(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    p = statistics.mean(prec(*x) for x in triples if x[0] + x[1] > 0)
    r = statistics.mean(rec(*x) for x in triples if x[0] + x[2] > 0)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r)}


def load_pages(tmp: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    root = shared("B1_scrapinghub_article_extraction_benchmark")
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    with tarfile.open(root / "html.tar.gz") as tar:
        tar.extractall(tmp, filter="data")
    pages = {}
    for key in truth:
        f = tmp / "html" / f"{key}.html"
        if f.exists():
            pages[key] = f.read_bytes()
    return pages, {k: v.get("articleBody", "") for k, v in truth.items() if k in pages}


def datatrove_trafilatura(html: str) -> str | None:
    """The exact call datatrove's Trafilatura extractor makes with its defaults."""
    import trafilatura

    return trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=True)


def build_warc(pages: dict[str, bytes], path: Path, repeat: int) -> int:
    """A gzipped WARC of HTTP responses for the pages, ``repeat`` times over; returns records."""
    n = 0
    with open(path, "wb") as out:
        for r in range(repeat):
            for key, body in pages.items():
                http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)
                block = http + body
                headers = (
                    "WARC/1.0\r\nWARC-Type: response\r\n"
                    f"WARC-Record-ID: <urn:uuid:{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{r:012d}>\r\n"
                    "WARC-Date: 2024-05-18T01:58:10Z\r\nWARC-Identified-Payload-Type: text/html\r\n"
                    f"WARC-Target-URI: https://bench.example/{r}/{key}\r\n"
                    "Content-Type: application/http; msgtype=response\r\n"
                    f"Content-Length: {len(block)}\r\n\r\n").encode()
                buf = io.BytesIO()
                with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
                    gz.write(headers + block + b"\r\n\r\n")
                out.write(buf.getvalue())
                n += 1
    return n


def ours_throughput(warc: Path, engine: str) -> tuple[float, int]:
    stage = Extract({"engine": engine})
    stats, read_stats = StageStats("extract"), StageStats("read")
    t0 = time.perf_counter()
    kept = 0
    for batch in read_batches(warc, "warc", "bench", 256, read_stats):
        kept += apply_stage(stage, batch, stats).kept.num_rows
    return time.perf_counter() - t0, kept


def datatrove_throughput(warc: Path) -> tuple[float, int]:
    from datatrove.core.readers import WarcReader
    from datatrove.pipeline.extractors import Trafilatura

    reader = WarcReader(str(warc.parent), glob_pattern=warc.name)
    extractor = Trafilatura(timeout=30)
    t0 = time.perf_counter()
    kept = sum(1 for _ in extractor.run(reader.run(None, 0, 1), 0, 1))
    return time.perf_counter() - t0, kept


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="times each page is repeated in the speed WARC")
    ap.add_argument("--skip-datatrove", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        pages, truth = load_pages(tmp)
        print(f"{len(pages)} pages with ground truth")
        engines = {
            "resiliparse (ours, main_content)": lambda h: extract_resiliparse(h),
            "trafilatura (ours: no_fallback)": lambda h: extract_trafilatura(h),
            "trafilatura (datatrove defaults)": datatrove_trafilatura,
        }
        rows = []
        decoded = {k: decode_html(b, None).text or "" for k, b in pages.items()}
        for name, fn in engines.items():
            t0 = time.perf_counter()
            preds = {k: fn(h) or "" for k, h in decoded.items()}
            secs = time.perf_counter() - t0
            m = score([shingle_prf(truth[k], preds[k]) for k in pages])
            rows.append([name, m["f1"], m["precision"], m["recall"], len(pages) / secs])
        print("\n### Quality on the article benchmark (pages with ground truth)\n")
        print(markdown_table(["engine", "F1", "precision", "recall", "pages/s (extract only)"], rows))

        warc = tmp / "bench.warc.gz"
        n = build_warc(pages, warc, args.repeat)
        mb = warc.stat().st_size / 1e6
        speed = []
        for engine in ("resiliparse", "trafilatura"):
            secs, kept = ours_throughput(warc, engine)
            speed.append([f"ours: FastWARC + {engine}", n, kept, secs, n / secs])
        if not args.skip_datatrove:
            secs, kept = datatrove_throughput(warc)
            speed.append(["datatrove: WarcReader + Trafilatura", n, kept, secs, n / secs])
        print(f"\n### Throughput, one process, WARC of {n} records ({mb:.1f} MB gzipped)\n")
        base = speed[-1][4] if not args.skip_datatrove else None
        headers = ["pipeline", "records", "kept", "seconds", "pages/s/core"] + (["vs datatrove"] if base else [])
        print(markdown_table(headers, [r + ([r[4] / base] if base else []) for r in speed]))


if __name__ == "__main__":
    main()
