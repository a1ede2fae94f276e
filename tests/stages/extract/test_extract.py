"""The extraction stage on broken, empty, huge and wrongly encoded records, and on the demo sample."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from core.readers import RAW_SCHEMA, read_batches
from core.stage import apply_stage
from core.stats import StageStats
from stages.extract.stage import Extract

ARTICLE = ("<html><head><title>t</title></head><body><nav><a href='/'>홈</a> <a href='/n'>뉴스</a></nav>"
           "<article><h1>지역 도서관 운영 시간 연장</h1>" + "".join(
               f"<p>시립 도서관은 다음 달부터 평일 운영 시간을 밤 열 시까지 연장한다고 {i}일 밝혔다. "
               "이용자들의 요청이 꾸준히 이어진 데 따른 조치다.</p>" for i in range(1, 8))
           + "</article><footer>Copyright 2024</footer></body></html>")


def _row(body: bytes | None, ctype: str | None = "text/html", status: int | None = 200,
         truncated: str | None = None, i: int = 0) -> dict:
    return {"id": f"r{i}", "text": None, "source": "t", "url": f"https://a.kr/{i}", "domain": "a.kr",
            "fetch_time": None, "charset": None, "raw_content": body, "content_type": ctype,
            "http_charset": None if ctype is None or "charset=" not in ctype else ctype.split("charset=")[1],
            "http_status": status, "truncated": truncated}


CASES = {
    "ok_utf8": (_row(ARTICLE.encode()), None),
    "ok_euckr_unlabelled": (_row(ARTICLE.replace("도서관", "똠얌 도서관").encode("cp949")), None),
    "ok_euckr_header": (_row(ARTICLE.encode("cp949"), "text/html; charset=ks_c_5601-1987"), None),
    "empty": (_row(b""), "empty"),
    "whitespace": (_row(b"   \n\t "), "empty"),
    "binary": (_row(b"\x89PNG\r\n\x1a\n\x00\x00\x00" * 50, "text/html"), "binary"),
    "image": (_row(b"\xff\xd8\xff\xe0" * 100, "image/jpeg"), "non_html"),
    "oversized": (_row(b"<html><body><p>" + b"x " * 1_100_000 + b"</p></body></html>"), "oversized"),
    "not_found": (_row(ARTICLE.encode(), status=404), "http_status"),
    "truncated": (_row(ARTICLE.encode(), truncated="length"), "truncated"),
    "undecodable": (_row(bytes(range(128, 256)) * 200, "text/html; charset=utf-8"), "undecodable"),
    "no_text": (_row(b"<html><head><script>var a=1;</script></head><body></body></html>"), "no_text"),
    "too_deep": (_row(b"<html><body>" + b"<div>" * 5000 + ARTICLE.encode() + b"</div>" * 5000 + b"</body></html>"),
                 "html_too_deep"),
}


@pytest.mark.parametrize("engine", ["trafilatura", "resiliparse"])
def test_every_bad_record_gets_its_reason_and_nothing_is_lost(engine):
    rows = [dict(case[0], id=name) for name, case in CASES.items()]
    table = pa.Table.from_pylist(rows, schema=RAW_SCHEMA)
    stats = StageStats("extract")
    res = apply_stage(Extract({"engine": engine}), table, stats)
    assert stats.balanced() and stats.docs_in == len(CASES) and stats.errors_total == 0
    reasons = dict(zip(res.rejected.column("id").to_pylist(), res.rejected.column("reject_reason").to_pylist()))
    kept = dict(zip(res.kept.column("id").to_pylist(), res.kept.column("text").to_pylist()))
    for name, (_, want) in CASES.items():
        if want is None:
            assert name in kept and "도서관" in kept[name], name
            assert "Copyright" not in kept[name]
        else:
            assert reasons.get(name) == want, (name, reasons.get(name))
    charsets = dict(zip(res.kept.column("id").to_pylist(), res.kept.column("charset").to_pylist()))
    assert charsets["ok_euckr_unlabelled"] == "cp949" and charsets["ok_euckr_header"] == "cp949"
    assert "똠얌" in kept["ok_euckr_unlabelled"]
    assert set(res.kept.column("extract_engine").to_pylist()) == {engine}
    assert "raw_content" not in res.kept.column_names


def test_demo_sample_broken_records_are_rejected_for_their_reason(tmp_path):
    from sample.demo import read_truth, write_demo_warc

    warc = tmp_path / "demo.warc.gz"
    write_demo_warc(warc, seed=3, n_pages=300)
    truth = {t["url"]: t for t in read_truth(warc)}
    read_stats, stats = StageStats("read"), StageStats("extract")
    stage = Extract()
    rejected: dict[str, str] = {}
    kept = 0
    for batch in read_batches(warc, "warc", "demo", 128, read_stats):
        res = apply_stage(stage, batch, stats)
        kept += res.kept.num_rows
        if res.rejected is not None:
            rejected.update(zip(res.rejected.column("url").to_pylist(), res.rejected.column("reject_reason").to_pylist()))
    assert read_stats.balanced() and stats.balanced() and stats.docs_in == 300
    expected = {"non_html": "non_html", "empty_body": "empty", "not_found": "http_status",
                "redirect": "http_status", "truncated_length": "truncated", "truncated_time": "truncated"}
    broken = {u: t for u, t in truth.items() if t.get("kind") == "broken"}
    assert broken, json.dumps(list(truth.values())[:2])
    checked = 0
    for url, t in broken.items():
        sub = t.get("subkind")
        if sub in expected:
            assert rejected.get(url) == expected[sub], (sub, rejected.get(url))
            checked += 1
    assert checked == len(expected)
