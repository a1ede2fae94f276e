"""Readers on damaged, hostile and wrongly typed input: everything counted, nothing lost, memory bounded."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from core.limits import ReadLimits, TooLarge, inflate_bounded
from core.readers import read_batches
from core.stats import StageStats
from sample.demo import write_demo_warc
from sample.hostile import (
    damage_members,
    member_offsets,
    write_gzip_bomb_warc,
    write_huge_record_warc,
    write_long_line_jsonl,
    write_not_a_warc,
)

PAGES = 60  # demo WARC: warcinfo + (request, response) per page = 121 records, one gzip member each


@pytest.fixture(scope="module")
def demo_warc(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("demo") / "demo.warc.gz"
    write_demo_warc(path, seed=5, n_pages=PAGES)
    return path.read_bytes()


def _read(path: Path, fmt: str = "auto", **kw) -> tuple[pa.Table | None, StageStats]:
    stats = StageStats("read")
    tables = list(read_batches(path, fmt, "s", 25, stats, name=kw.pop("name", "file"), **kw))
    assert stats.balanced(), stats
    return (pa.concat_tables(tables) if tables else None), stats


def _baseline(tmp_path: Path, data: bytes) -> pa.Table:
    clean = tmp_path / "clean.warc.gz"
    clean.write_bytes(data)
    table, stats = _read(clean)
    assert stats.docs_in == 2 * PAGES + 1 and stats.kept == PAGES and not stats.errors
    return table


@pytest.mark.parametrize("members", [[61], [60, 61], [1], [0], [120]])
def test_damaged_members_are_skipped_counted_and_reading_goes_on(tmp_path, demo_warc, members):
    clean = _baseline(tmp_path, demo_warc)
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(damage_members(demo_warc, members))
    table, stats = _read(bad)
    spans = member_offsets(demo_warc)
    assert stats.errors == {"warc_corrupt_member": len(members)}
    assert stats.extra["warc_skipped_bytes"] == sum(spans[k][1] - spans[k][0] for k in members)
    assert stats.docs_in == 2 * PAGES + 1  # every record is either read or counted as skipped
    lost_responses = sum(1 for k in members if k % 2 == 0 and k > 0)  # members 2i are responses
    assert stats.kept == PAGES - lost_responses
    # every page that was read is byte-identical to the clean read
    ids = set(table.column("id").to_pylist())
    assert clean.filter(pc.is_in(clean.column("id"), pa.array(sorted(ids)))).equals(table)


def test_truncated_and_garbage_tails_are_counted(tmp_path, demo_warc):
    spans = member_offsets(demo_warc)
    start, end = spans[-1]
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(demo_warc[: (start + end) // 2])  # the file ends inside the last member
    _, stats = _read(cut)
    assert stats.errors == {"warc_corrupt_member": 1}
    tail = tmp_path / "tail.warc.gz"
    tail.write_bytes(demo_warc + b"not gzip at all" * 100)
    _, stats = _read(tail)
    assert stats.kept == PAGES and stats.errors == {"warc_corrupt_member": 1}
    assert stats.extra["warc_skipped_bytes"] == 1500
    padded = tmp_path / "padded.warc.gz"
    padded.write_bytes(demo_warc + b"\0" * 4096)
    _, stats = _read(padded)
    assert stats.kept == PAGES and not stats.errors


@pytest.mark.parametrize("name", ["notes.warc.gz", "notes.warc", "notes.arc.gz"])
def test_a_file_that_is_not_a_warc_is_one_named_error(tmp_path, caplog, name):
    path = write_not_a_warc(tmp_path / name)
    with caplog.at_level(logging.ERROR, logger="core.readers"):
        table, stats = _read(path)
    assert table is None and stats.errors == {"not_warc": 1} and stats.kept == 0
    assert name in caplog.text and "not a WARC/ARC" in caplog.text


def test_empty_files_and_directories_are_warned_and_counted(tmp_path, caplog):
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    with caplog.at_level(logging.WARNING, logger="core.readers"):
        for path, key in ((empty, "input_empty_file"), (folder, "input_directory")):
            table, stats = _read(path)
            assert table is None and stats.docs_in == 0 and stats.extra == {key: 1}
    assert "empty.warc.gz" in caplog.text and "folder.jsonl" in caplog.text


def test_bounded_inflate():
    data = gzip.compress(b"a" * 5000) * 3
    assert inflate_bounded(data, 31, 15000) == b"a" * 15000
    with pytest.raises(TooLarge):
        inflate_bounded(data, 31, 14999)


def test_gzip_bomb_and_huge_record_are_rejected_and_reading_goes_on(tmp_path):
    bomb = write_gzip_bomb_warc(tmp_path / "bomb.warc.gz", expanded_mib=64)
    table, stats = _read(bomb, limits=ReadLimits(max_body_bytes=8 << 20))
    assert stats.rejected == {"body_too_large": 1} and stats.kept == 1
    assert table.column("url").to_pylist() == ["https://ok.example.kr/99"]
    huge = write_huge_record_warc(tmp_path / "huge.warc.gz", body_mib=4)
    _, stats = _read(huge, limits=ReadLimits(max_body_bytes=1 << 20))
    assert stats.rejected == {"body_too_large": 1} and stats.kept == 1
    _, stats = _read(huge, limits=ReadLimits(max_body_bytes=8 << 20))
    assert not stats.rejected and stats.kept == 2  # under the cap: read as usual


def test_long_jsonl_lines_are_rejected_per_line(tmp_path):
    path = write_long_line_jsonl(tmp_path / "long.jsonl", line_mib=2)
    table, stats = _read(path, limits=ReadLimits(max_line_bytes=1 << 20))
    assert stats.rejected == {"line_too_long": 1} and table.column("id").to_pylist() == ["a", "c"]
    table, stats = _read(path, limits=ReadLimits(max_line_bytes=4 << 20))
    assert not stats.rejected and table.num_rows == 3
    gz = tmp_path / "long.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    table, stats = _read(gz, limits=ReadLimits(max_line_bytes=1 << 20))
    assert stats.rejected == {"line_too_long": 1} and table.num_rows == 2


def test_jsonl_keeps_caller_ids_and_other_fields(tmp_path):
    lines = [{"text": "하나", "id": "doc-1", "lang": "ko", "meta": {"page": 3}},
             {"text": "둘", "id": 7, "url": "https://a.kr/2"},
             {"text": "셋", "id": "doc-1"},  # a duplicate id in the same file
             {"text": "넷"},
             {"text": 5, "id": "x"}, {"text": "여섯", "id": ["a"]}, {"text": "일곱", "url": 3}]
    path = tmp_path / "ids.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    table, stats = _read(path)
    ids = table.column("id").to_pylist()
    assert ids[:3] == ["doc-1", "7", "doc-1#L3"] and len(ids[3]) == 16 and len(set(ids)) == 5
    assert stats.errors == {"text_type": 1, "id_type": 1}
    assert stats.extra == {"id_duplicate": 1, "url_type": 1}
    meta = table.column("metadata").to_pylist()
    assert json.loads(meta[0]) == {"lang": "ko", "meta": {"page": 3}} and meta[1] is None
    assert table.column("url").to_pylist()[1] == "https://a.kr/2"
    again, _ = _read(path)
    assert again.equals(table)  # same input, same ids
    other, _ = _read(path, id_field="lang")
    assert other.column("id").to_pylist()[0] == "ko"
    assert json.loads(other.column("metadata")[0].as_py()) == {"id": "doc-1", "meta": {"page": 3}}
    generated, _ = _read(path, id_field=None)
    assert all(len(i) == 16 for i in generated.column("id").to_pylist())


def test_parquet_wrong_text_type_is_a_counted_error_naming_file_and_column(tmp_path, caplog):
    path = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"text": [1, 2, 3]}), path)
    with caplog.at_level(logging.ERROR, logger="core.readers"):
        table, stats = _read(path)
    assert table is None and stats.docs_in == 3 and stats.errors == {"text_type": 3}
    assert "ints.parquet" in caplog.text and "'text'" in caplog.text and "int64" in caplog.text


def test_parquet_keeps_extra_columns_and_caller_ids(tmp_path):
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"body": ["가", "나", "다"], "doc_no": [10, None, 12], "score": [0.5, 0.1, 0.9],
                             "text": [b"x", b"y", b"z"]}), path)
    table, stats = _read(path, text_field="body", id_field="doc_no")
    assert stats.kept == 3 and table.column("text").to_pylist() == ["가", "나", "다"]
    ids = table.column("id").to_pylist()
    assert ids[0] == "10" and ids[2] == "12" and len(ids[1]) == 16
    assert table.column("score").to_pylist() == [0.5, 0.1, 0.9]
    binary = tmp_path / "binary.parquet"
    pq.write_table(pa.table({"text": pa.array([b"\xed\x95\x9c", b"ok"], pa.binary())}), binary)
    table, stats = _read(binary)
    assert table.column("text").to_pylist() == ["한", "ok"]
