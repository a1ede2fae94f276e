"""A Common Crawl-shaped sample built from demo WARCs: WARC + WET + columnar URL index.

``build_cc_sample`` copies the gzip members of demo WARC pages (a request and a response per page)
into a new WARC file, keeping Korean pages at a chosen share (Common Crawl has ~0.7 %), and writes
beside it what Common Crawl publishes for such a file:

* ``index.parquet``: one row per response with the cc-index-table columns (``core.cc_index``), the
  offset and length of the response's gzip member, the HTTP status and detected MIME type, and a
  ``content_languages`` label made from the ground truth with realistic noise: a Korean page's label
  is missing with probability ``missing_rate`` (CLD2 gives none on short or odd pages) or wrong
  (``eng``) with probability ``wrong_rate``; ``fp_rate`` of other pages are labelled ``kor``.
* ``<name>.warc.wet.gz`` under ``wet/``: one ``conversion`` record (all text of the page, decoded
  with its true charset, as resiliparse renders it) per HTML 200 response, gzip member per record,
  as in Common Crawl's WET files.
* ``truth.jsonl``: per response, its URL, true language and the label given.

Same arguments, same bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.readers import domain_of
from sample.demo import ensure_demo_warc, read_truth

log = logging.getLogger(__name__)

_VERSION = 2
_LABELS = {"ko": "kor", "en": "eng", "ja": "jpn", "zh": "zho"}
#: Registry suffixes with two labels among the demo's domains.
_TWO_LABEL_SUFFIXES = (".co.kr", ".or.kr", ".go.kr", ".co.uk", ".co.jp", ".com.cn")

INDEX_SCHEMA = pa.schema([
    pa.field("url_surtkey", pa.string()),
    pa.field("url", pa.string()),
    pa.field("url_host_name", pa.string()),
    pa.field("url_host_tld", pa.string()),
    pa.field("url_host_registered_domain", pa.string()),
    pa.field("url_protocol", pa.string()),
    pa.field("url_path", pa.string()),
    pa.field("url_query", pa.string()),
    pa.field("fetch_time", pa.timestamp("ms", tz="UTC")),
    pa.field("fetch_status", pa.int16()),
    pa.field("content_digest", pa.string()),
    pa.field("content_mime_type", pa.string()),
    pa.field("content_mime_detected", pa.string()),
    pa.field("content_charset", pa.string()),
    pa.field("content_languages", pa.string()),
    pa.field("content_truncated", pa.string()),
    pa.field("warc_filename", pa.string()),
    pa.field("warc_record_offset", pa.int32()),
    pa.field("warc_record_length", pa.int32()),
    pa.field("warc_segment", pa.string()),
    pa.field("crawl", pa.string()),
    pa.field("subset", pa.string()),
])


@dataclass
class CCSample:
    """Where a built sample lies and what it holds."""

    root: Path
    warc_filename: str  # relative to root, as the index's warc_filename
    index: Path
    wet: Path
    truth: Path
    pages: int
    korean_pages: int


def gzip_members(data: bytes) -> Iterator[tuple[int, int]]:
    """(offset, length) of each gzip member of ``data``."""
    pos = 0
    while pos < len(data):
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        if not d.eof:
            raise ValueError(f"incomplete gzip member at offset {pos}")
        length = len(data) - pos - len(d.unused_data)
        yield pos, length
        pos += length


def _unit(*keys: object) -> float:
    h = hashlib.sha256(json.dumps(keys).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2 ** 64


def _label(lang: str | None, url: str, seed: int, missing_rate: float, wrong_rate: float,
           fp_rate: float) -> str | None:
    u = _unit(seed, "label", url)
    if lang == "ko":
        if u < missing_rate:
            return None
        if u < missing_rate + wrong_rate:
            return "eng"
        return "kor,eng" if u > 0.9 else "kor"
    if lang is None:
        return None
    if u < fp_rate:
        return "kor"
    return _LABELS.get(lang)


def _registered_domain(host: str) -> str:
    parts = host.split(".")
    n = 3 if host.endswith(_TWO_LABEL_SUFFIXES) else 2
    return ".".join(parts[-n:])


def _surt(url: str, host: str) -> str:
    rest = url.split(host, 1)[1] if host in url else "/"
    return ",".join(reversed(host.removeprefix("www.").split("."))) + ")" + (rest or "/")


def _wet_record(url: str, refers_to: str, date: str, text: str, seed: int, k: int) -> bytes:
    block = text.encode("utf-8")
    digest = "sha1:" + base64.b32encode(hashlib.sha1(block).digest()).decode()
    rid = hashlib.sha256(f"{seed}:wet:{k}".encode()).hexdigest()
    head = (f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: {url}\r\nWARC-Date: {date}\r\n"
            f"WARC-Record-ID: <urn:uuid:{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:32]}>\r\n"
            f"WARC-Refers-To: {refers_to}\r\nWARC-Block-Digest: {digest}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(block)}\r\n\r\n")
    return gzip.compress(head.encode("utf-8") + block + b"\r\n\r\n", compresslevel=6, mtime=0)


def _page_text(member: bytes) -> tuple[dict[str, str], int | None, str | None, bytes]:
    """WARC headers, HTTP status, Content-Type and HTTP body of one response member."""
    raw = gzip.decompress(member)
    warc_head, _, block = raw.partition(b"\r\n\r\n")
    headers = {}
    for line in warc_head.decode("utf-8", "replace").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers[k.strip()] = v.strip()
    http_head, _, body = block.partition(b"\r\n\r\n")
    lines = http_head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else None
    ctype = next((ln.split(":", 1)[1].strip() for ln in lines[1:] if ln.lower().startswith("content-type:")), None)
    return headers, status, ctype, body.removesuffix(b"\r\n\r\n")


def _html_text(body: bytes, charset: str | None) -> str:
    """All text of the page, decoded with its true charset (Common Crawl detects charsets before
    writing WET; its own decoding mistakes are not simulated)."""
    from resiliparse.extract.html2text import extract_plain_text

    html = body.decode(charset or "utf-8", errors="replace")
    return extract_plain_text(html, main_content=False)


def build_cc_sample(out_dir: Path, n_pages: int = 2000, korean_share: float | None = None, seed: int = 0,
                    missing_rate: float = 0.02, wrong_rate: float = 0.01, fp_rate: float = 0.002,
                    crawl: str = "CC-MAIN-2099-01") -> CCSample:
    """Write a CC-shaped WARC of ``n_pages`` pages (Korean at ``korean_share``, or the demo's own
    share when None), its WET file, index Parquet and truth under ``out_dir``."""
    out_dir = Path(out_dir)
    segment = f"{seed:04d}000000000.00"
    base = f"{crawl}-2099010100000{seed % 10}-{n_pages:05d}"
    warc_rel = f"crawl-data/{crawl}/segments/{segment}/warc/{base}.warc.gz"
    wet_rel = f"crawl-data/{crawl}/segments/{segment}/wet/{base}.warc.wet.gz"
    done = out_dir / "sample.json"
    if done.exists() and json.loads(done.read_text()).get("version") == _VERSION and json.loads(
            done.read_text())["args"] == [n_pages, korean_share, seed, missing_rate,
                                                                   wrong_rate, fp_rate, crawl]:
        meta = json.loads(done.read_text())
        return CCSample(out_dir, warc_rel, out_dir / "index.parquet", out_dir / wet_rel,
                        out_dir / "truth.jsonl", meta["pages"], meta["korean_pages"])
    pages = list(_pick_pages(out_dir / "demo", n_pages, korean_share, seed))
    warc_chunks: list[bytes] = []
    wet_chunks: list[bytes] = []
    rows: list[dict[str, Any]] = []
    truth_lines: list[str] = []
    pos = 0
    n_ko = 0
    for k, (req, resp, truth) in enumerate(pages):
        warc_chunks.append(req)
        pos += len(req)
        offset = pos
        warc_chunks.append(resp)
        pos += len(resp)
        headers, status, ctype, body = _page_text(resp)
        url = headers["WARC-Target-URI"]
        host = domain_of(url) or ""
        date = headers["WARC-Date"]
        mime = (ctype or "").split(";")[0].strip().lower() or None
        label = _label(truth["lang"], url, seed, missing_rate, wrong_rate, fp_rate) if mime == "text/html" else None
        n_ko += truth["lang"] == "ko"
        if status == 200 and mime == "text/html" and body:
            text = _html_text(body, truth.get("charset"))
            if text.strip():
                wet_chunks.append(_wet_record(url, headers["WARC-Record-ID"], date, text, seed, k))
        path_q = url.split(host, 1)[1] if host in url else "/"
        rows.append({
            "url_surtkey": _surt(url, host), "url": url, "url_host_name": host,
            "url_host_tld": host.rsplit(".", 1)[-1], "url_host_registered_domain": _registered_domain(host),
            "url_protocol": url.split(":", 1)[0], "url_path": path_q.split("?", 1)[0],
            "url_query": path_q.split("?", 1)[1] if "?" in path_q else None,
            "fetch_time": datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            "fetch_status": status, "content_digest": headers.get("WARC-Payload-Digest", "").removeprefix("sha1:"),
            "content_mime_type": mime, "content_mime_detected": mime,
            "content_charset": (truth.get("charset") or "").upper() or None, "content_languages": label,
            "content_truncated": headers.get("WARC-Truncated"), "warc_filename": warc_rel,
            "warc_record_offset": offset, "warc_record_length": len(resp), "warc_segment": segment,
            "crawl": crawl, "subset": "warc" if status == 200 else "crawldiagnostics",
        })
        truth_lines.append(json.dumps({"url": url, "lang": truth["lang"], "label": label, "kind": truth["kind"],
                                       "offset": offset}, ensure_ascii=False))
    (out_dir / warc_rel).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / wet_rel).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / warc_rel).write_bytes(b"".join(warc_chunks))
    (out_dir / wet_rel).write_bytes(b"".join(wet_chunks))
    rows.sort(key=lambda r: r["url_surtkey"])  # the real index is sorted by SURT key
    pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), out_dir / "index.parquet")
    (out_dir / "truth.jsonl").write_text("\n".join(truth_lines) + "\n", encoding="utf-8")
    args = [n_pages, korean_share, seed, missing_rate, wrong_rate, fp_rate, crawl]
    done.write_text(json.dumps({"version": _VERSION, "args": args,
                                "pages": len(pages), "korean_pages": n_ko}))
    log.info("cc sample %s: %d pages, %d Korean, %d WET records", out_dir, len(pages), n_ko, len(wet_chunks))
    return CCSample(out_dir, warc_rel, out_dir / "index.parquet", out_dir / wet_rel, out_dir / "truth.jsonl",
                    len(pages), n_ko)


def _pick_pages(demo_dir: Path, n_pages: int, korean_share: float | None, seed: int
                ) -> Iterator[tuple[bytes, bytes, dict[str, Any]]]:
    """(request member, response member, truth) of ``n_pages`` demo pages in crawl order."""
    want_ko = None if korean_share is None else round(n_pages * korean_share)
    want_other = None if want_ko is None else n_pages - want_ko
    got_ko = got_other = 0
    rng = random.Random(seed)
    k = 0
    while got_ko + got_other < n_pages:
        chunk = 2000 if korean_share is None else 4000
        path = ensure_demo_warc(demo_dir, seed=seed * 1000 + k, n_pages=max(chunk, 50))
        k += 1
        data = path.read_bytes()
        members = list(gzip_members(data))[1:]  # skip warcinfo
        truths = read_truth(path)
        picked = []
        for i, truth in enumerate(truths):
            is_ko = truth["lang"] == "ko"
            if want_ko is None:
                ok = got_ko + got_other < n_pages
            elif is_ko:
                ok = got_ko < want_ko and rng.random() < 0.05
            else:
                ok = got_other < want_other
            if not ok:
                continue
            got_ko += is_ko
            got_other += not is_ko
            (ro, rl), (so, sl) = members[2 * i], members[2 * i + 1]
            picked.append((data[ro:ro + rl], data[so:so + sl], truth))
        yield from picked
