"""Selecting records from a cc-index-table Parquet and reading them back by byte range."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from core.cc_index import CCIndexSelect, dedup_urls, merge_selections, select_records, write_pointer_shards
from core.cc_records import iter_cc_records
from core.readers import read_batches
from core.stats import StageStats
from tests.range_server import RangeServer


def _cfg(sample, **kw) -> CCIndexSelect:
    return CCIndexSelect(paths=[str(sample.index)], warc_prefix=str(sample.root), **kw)


def _truth(sample) -> list[dict]:
    return [json.loads(line) for line in sample.truth.read_text().splitlines()]


def test_selects_korean_html_200_and_accounts_for_every_row(cc_sample):
    table, stats = select_records([cc_sample.index], _cfg(cc_sample))
    index = pq.read_table(cc_sample.index).to_pylist()
    expected = {r["url"] for r in index if r["fetch_status"] == 200 and r["content_mime_detected"] == "text/html"
                and r["content_languages"] and "kor" in r["content_languages"].split(",")}
    assert set(table.column("url").to_pylist()) == expected
    assert stats["rows_in"] == len(index)
    assert stats["selected"] + sum(stats["rejected"].values()) == len(index)
    not_200 = sum(r["fetch_status"] != 200 for r in index)
    not_html = sum(r["fetch_status"] == 200 and r["content_mime_detected"] != "text/html" for r in index)
    assert not_200 and stats["rejected"]["fetch_status"] == not_200
    assert stats["rejected"].get("mime", 0) == not_html
    assert stats["rejected"]["language"] == len(index) - not_200 - not_html - len(expected)
    # labels are noisy on purpose: a few Korean pages are not labelled kor
    ko_truth = {t["url"] for t in _truth(cc_sample) if t["lang"] == "ko" and t["kind"] != "broken"}
    assert 0 < len(ko_truth - expected) < 0.1 * len(ko_truth)


def test_filters_languages_primary_hosts_and_urls(cc_sample):
    index = pq.read_table(cc_sample.index).to_pylist()
    jpn, _ = select_records([cc_sample.index], _cfg(cc_sample, languages=["jpn"]))
    assert set(jpn.column("url").to_pylist()) == {
        r["url"] for r in index if r["content_languages"] == "jpn" and r["fetch_status"] == 200}
    primary, _ = select_records([cc_sample.index], _cfg(cc_sample, languages=["eng"], primary_language_only=True))
    anywhere, _ = select_records([cc_sample.index], _cfg(cc_sample, languages=["eng"]))
    assert all(x.startswith("eng") for x in primary.column("content_languages").to_pylist())
    assert primary.num_rows < anywhere.num_rows  # "kor,eng" pages only in the second
    host = index[0]["url_host_name"]
    only, st = select_records([cc_sample.index], _cfg(cc_sample, languages=["kor", "zho"], hosts_include=[host]))
    assert set(only.column("url_host_name").to_pylist()) == {host} and st["rejected"]["host"] > 0
    dropped, _ = select_records([cc_sample.index], _cfg(cc_sample, hosts_exclude=["co.kr"]))
    assert dropped.num_rows and not any(h.endswith(".co.kr") for h in dropped.column("url_host_name").to_pylist())
    news, st = select_records([cc_sample.index], _cfg(cc_sample, url_include=[r"/news/"], url_exclude=[r"idxno=1000"]))
    urls = news.column("url").to_pylist()
    assert urls and all("/news/" in u and "idxno=1000" not in u for u in urls) and st["rejected"]["url"] > 0


def test_url_dedup_keeps_latest_capture_whatever_the_file_order(cc_sample, tmp_path):
    index = pq.read_table(cc_sample.index)
    first = index.slice(0, 5)
    later = first.set_column(first.schema.get_field_index("fetch_time"), "fetch_time",
                             pa.array([t + timedelta(days=30) for t in first.column("fetch_time").to_pylist()],
                                      first.schema.field("fetch_time").type))
    later = later.set_column(later.schema.get_field_index("warc_record_offset"), "warc_record_offset",
                             pa.array([7] * 5, pa.int32()))
    pq.write_table(index, tmp_path / "a.parquet")
    pq.write_table(later, tmp_path / "b.parquet")
    cfg = _cfg(cc_sample, languages=["kor", "eng", "jpn", "zho"], mime_types=None, fetch_status=[200, 301, 404])
    ab, st = select_records([tmp_path / "a.parquet", tmp_path / "b.parquet"], cfg)
    ba, _ = select_records([tmp_path / "b.parquet", tmp_path / "a.parquet"], cfg)
    assert ab.equals(ba)
    dup_urls = set(first.column("url").to_pylist())
    labelled = [r for r in first.to_pylist() if r["content_languages"]]
    assert st["rejected"]["duplicate_url"] == len(labelled)
    chosen = {r["url"]: r["warc_record_offset"] for r in ab.to_pylist() if r["url"] in dup_urls}
    assert all(chosen[r["url"]] == 7 for r in labelled)  # the later capture wins
    assert len(ab.column("url").unique()) == ab.num_rows
    assert dedup_urls(ab).equals(ab)
    # selected one file per worker, then merged: the same rows and counts as one pass over both
    parts = [select_records([tmp_path / n], cfg) for n in ("b.parquet", "a.parquet")]
    merged, mst = merge_selections(parts, dedup=True)
    assert merged.equals(ab) and mst == st


def test_host_rescue_recovers_missing_labels(cc_sample):
    plain, _ = select_records([cc_sample.index], _cfg(cc_sample))
    rescued, st = select_records([cc_sample.index], _cfg(cc_sample, rescue_host_share=0.8, rescue_min_pages=1))
    assert st["rescued"] > 0 and rescued.num_rows == plain.num_rows + st["rescued"]
    assert st["selected"] + sum(st["rejected"].values()) == st["rows_in"]
    ko = {t["url"] for t in _truth(cc_sample) if t["lang"] == "ko"}
    extra = set(rescued.column("url").to_pylist()) - set(plain.column("url").to_pylist())
    assert len(extra & ko) / len(extra) > 0.8
    assert set(rescued.filter(pa.compute.equal(rescued.column("selected_by"), "host_rescue"))
               .column("url").to_pylist()) == extra


def test_config_errors_name_the_key(cc_sample):
    with pytest.raises(ValidationError, match="languages"):
        _cfg(cc_sample, languages=["ko"])
    with pytest.raises(ValidationError, match="url_include"):
        _cfg(cc_sample, url_include=["("])
    with pytest.raises(ValidationError, match="fetch_statuss"):
        _cfg(cc_sample, fetch_statuss=[200])
    with pytest.raises(ValueError, match="lacks column"):
        bad = cc_sample.root / "not_index.parquet"
        pq.write_table(pa.table({"x": [1]}), bad)
        select_records([bad], _cfg(cc_sample))


def _warc_rows(sample) -> dict[str, dict]:
    stats = StageStats("read")
    out = {}
    for b in read_batches(sample.root / sample.warc_filename, "warc", "cc", 1000, stats, name=sample.warc_filename):
        out.update({r["url"]: r for r in b.to_pylist()})
    return out


@pytest.mark.parametrize("over", ["http", "local"])
def test_pointer_shard_reads_the_same_rows_as_the_whole_warc(cc_sample, tmp_path, over):
    table, _ = select_records([cc_sample.index], _cfg(cc_sample))
    with RangeServer(cc_sample.root) as srv:
        prefix = srv.url if over == "http" else str(cc_sample.root)
        [(shard, warc)] = write_pointer_shards(table, tmp_path, prefix)
        assert warc == cc_sample.warc_filename
        offsets = pq.read_table(shard).column("warc_record_offset").to_pylist()
        assert offsets == sorted(offsets)
        stats = StageStats("read")
        got = [r for b in read_batches(shard, "cc_records", "cc", 50, stats) for r in b.to_pylist()]
        if over == "http":
            assert srv.requests == table.num_rows  # one range request per record, one connection reused
    assert stats.docs_in == table.num_rows == stats.kept and stats.balanced()
    whole = _warc_rows(cc_sample)
    assert [r["url"] for r in got] == [r["url"] for r in sorted(table.to_pylist(), key=lambda r: r["warc_record_offset"])]
    for row in got:
        assert row == whole[row["url"]]  # same id, same raw bytes, same headers


def test_bad_pointers_are_counted_with_reasons(cc_sample, tmp_path):
    table, _ = select_records([cc_sample.index], _cfg(cc_sample))
    size = (cc_sample.root / cc_sample.warc_filename).stat().st_size
    first_response = min(json.loads(t)["offset"] for t in cc_sample.truth.read_text().splitlines())
    req_off, req_len = _request_member(cc_sample, first_response)
    with RangeServer(cc_sample.root) as srv:
        where = srv.url + cc_sample.warc_filename
        good = [{**r, "warc_location": where} for r in table.slice(0, 3).to_pylist()]
        g = good[0]
        bad = [
            {**g, "warc_record_offset": size - 10, "warc_record_length": 500},           # ends past the end
            {**g, "warc_record_offset": size + 100, "warc_record_length": 500},          # starts past it
            {**g, "warc_record_offset": g["warc_record_offset"] + 3},                     # not a member start
            {**g, "warc_location": srv.url + "crawl-data/none.warc.gz"},                  # HTTP 404
            {**g, "warc_record_length": None},                                            # no length
            {**g, "warc_record_offset": req_off, "warc_record_length": req_len},          # a request record
        ]
        shard = tmp_path / "p.ptr.parquet"
        pq.write_table(pa.Table.from_pylist(good + bad, schema=table.schema), shard)
        stats = StageStats("read")
        rows = [r for b in read_batches(shard, "cc_records", "cc", 50, stats) for r in b.to_pylist()]
    assert stats.balanced() and stats.docs_in == len(good) + len(bad)
    assert stats.kept == len(rows) == len(good)
    assert stats.errors == Counter({"fetch:range_past_end": 2, "record_parse:bad_gzip": 1, "fetch:not_found": 1,
                                    "fetch:bad_pointer": 1})
    assert stats.rejected == Counter({"record:request": 1})


def test_unreachable_endpoint_fails_the_shard_with_a_clear_error(cc_sample, tmp_path):
    import socket

    from core.byte_range import RangeUnavailable

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    table, _ = select_records([cc_sample.index], _cfg(cc_sample))
    [(shard, _)] = write_pointer_shards(table.slice(0, 2), tmp_path, f"http://127.0.0.1:{port}/",
                                        {"cc_fetch_timeout_s": "2", "cc_fetch_retries": "2"})
    with pytest.raises(RangeUnavailable, match="unreachable after 2 attempts"):
        list(read_batches(shard, "cc_records", "cc", 50, StageStats("read")))


def _request_member(sample, response_offset: int) -> tuple[int, int]:
    from sample.cc_sample import gzip_members

    data = (sample.root / sample.warc_filename).read_bytes()
    prev = None
    for off, n in gzip_members(data):
        if off == response_offset:
            return prev
        prev = (off, n)
    raise AssertionError("response member not found")


def test_real_common_crawl_record_by_range():
    """The whirlwind sample's response record, fetched alone by its gzip member's offset."""
    from sample.cc_sample import gzip_members
    from tests.conftest import shared_path

    warc = shared_path("C1_commoncrawl_whirlwind_warc_wet_wat", "whirlwind.warc.gz")
    data = warc.read_bytes()
    stats = StageStats("read")
    whole = [r for b in read_batches(warc, "warc", "cc", 100, stats, name="w.warc.gz") for r in b.to_pylist()]
    [(resp_off, resp_len)] = [(o, n) for o, n in gzip_members(data) if b"response" in _head(data[o:o + n])]
    ptr = pa.table({"url": [whole[0]["url"]], "warc_filename": ["w.warc.gz"], "warc_record_offset": [resp_off],
                    "warc_record_length": [resp_len], "warc_location": [str(warc)]})
    stats2 = StageStats("read")
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        pq.write_table(ptr, Path(d) / "p.parquet")
        got = list(iter_cc_records(Path(d) / "p.parquet", "cc", stats2))
    assert stats2.kept == 1 and got[0] == whole[0]


def _head(member: bytes) -> bytes:
    import zlib

    return zlib.decompressobj(31).decompress(member, 300)
