"""Deterministic hostile and broken inputs: what the readers and the extractor must survive.

Each writer makes one small file on disk (a few MB at most) that would cost far more if read
naively: a gzip content-encoding bomb, a record whose body is larger than any page, HTML nested
far deeper than any real page, a JSONL line of tens of MB, a WARC with damaged gzip members, a
text file that only has a WARC name. Every WARC writes one gzip member per record, as Common Crawl
does, and ends with an ordinary page, so a test can check that reading goes on after the bad record.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

MiB = 1 << 20
_PAGE = ("<html><head><title>정상 문서</title></head><body><article><h1>지역 소식</h1>"
         + "<p>시립 도서관은 다음 달부터 평일 운영 시간을 밤 열 시까지 연장한다고 밝혔다.</p>" * 8
         + "</article></body></html>").encode()


def warc_member(record_type: str, uri: str, block: bytes, rid: int, extra: str = "") -> bytes:
    """One WARC record as its own gzip member."""
    head = (f"WARC/1.0\r\nWARC-Type: {record_type}\r\nWARC-Date: 2024-05-18T01:58:10Z\r\n"
            f"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{rid:012d}>\r\nWARC-Target-URI: {uri}\r\n"
            f"Content-Type: application/http; msgtype=response\r\n{extra}"
            f"Content-Length: {len(block)}\r\n\r\n").encode()
    return gzip.compress(head + block + b"\r\n\r\n", compresslevel=6, mtime=0)


def http_response(body: bytes, headers: str = "Content-Type: text/html; charset=utf-8\r\n") -> bytes:
    return f"HTTP/1.1 200 OK\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body


def normal_page(rid: int = 99) -> bytes:
    """An ordinary Korean page: the record every hostile file ends with."""
    return warc_member("response", f"https://ok.example.kr/{rid}", http_response(_PAGE), rid)


def write_gzip_bomb_warc(path: Path, expanded_mib: int = 1024) -> Path:
    """A response whose body is ``Content-Encoding: gzip`` and inflates to ``expanded_mib`` MiB of
    zeros (~1 MB on disk: many identical gzip members, which HTTP clients decode one after another)."""
    chunk = min(64, expanded_mib)
    member = gzip.compress(b"\0" * (chunk * MiB), compresslevel=9, mtime=0)
    body = member * (expanded_mib // chunk)
    block = http_response(body, "Content-Type: text/html\r\nContent-Encoding: gzip\r\n")
    path.write_bytes(warc_member("response", "https://bomb.example/", block, 1) + normal_page())
    return path


def write_huge_record_warc(path: Path, body_mib: int = 128) -> Path:
    """A response whose plain body is ``body_mib`` MiB of markup (compresses to ~1 MB)."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    http = http_response(b"", "Content-Type: text/html\r\n").replace(b"Content-Length: 0",
                                                                       f"Content-Length: {body_mib * MiB}".encode())
    head = ("WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: 2024-05-18T01:58:10Z\r\n"
            "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n"
            "WARC-Target-URI: https://huge.example/\r\nContent-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http) + body_mib * MiB}\r\n\r\n").encode()
    unit = (b"<p>" + b"x" * 1016 + b"</p>\n") * 1024  # 1 MiB
    parts = [comp.compress(head + http)]
    parts += [comp.compress(unit) for _ in range(body_mib)]
    parts.append(comp.compress(b"\r\n\r\n") + comp.flush())
    path.write_bytes(b"".join(parts) + normal_page())
    return path


def write_deep_html_warc(path: Path, depth: int = 100_000) -> Path:
    """A page of ``depth`` nested ``<div>`` elements (seconds to minutes of extractor time)."""
    body = b"<html><body>" + b"<div>" * depth + b"<p>deep</p>" + b"</div>" * depth + b"</body></html>"
    path.write_bytes(warc_member("response", "https://deep.example/", http_response(body), 3) + normal_page())
    return path


def write_long_line_jsonl(path: Path, line_mib: int = 20) -> Path:
    """A JSONL file whose second line is one ``line_mib`` MiB document, between two ordinary ones."""
    ok = json.dumps({"text": "정상 문서입니다.", "id": "a"}, ensure_ascii=False)
    long_text = "가나다라마바사 " * (line_mib * MiB // 22)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(ok + "\n" + json.dumps({"text": long_text, "id": "b"}, ensure_ascii=False) + "\n")
        fh.write(json.dumps({"text": "마지막 문서입니다.", "id": "c"}, ensure_ascii=False) + "\n")
    return path


def write_not_a_warc(path: Path, lines: int = 500) -> Path:
    """A plain text file that only has a WARC name (gzip-compressed when the name ends in .gz)."""
    data = "".join(f"line {i}: this is not a web archive\n" for i in range(lines)).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def member_offsets(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every gzip member of a clean member-per-record file."""
    out, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        end = len(data) - len(d.unused_data)
        out.append((pos, end))
        pos = end
    return out


def damage_members(data: bytes, members: list[int]) -> bytes:
    """``data`` with one byte flipped in the middle of each listed member's deflate stream."""
    spans = member_offsets(data)
    out = bytearray(data)
    for k in members:
        start, end = spans[k]
        out[(start + end) // 2] ^= 0xFF
    return bytes(out)
