"""Readers on real WARC/WET/ARC edge cases, JSONL damage and format detection."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest

from core.readers import detect_format, read_batches
from core.stats import StageStats
from tests.conftest import shared_path


def _warc_files() -> list[Path]:
    files = []
    for folder in ("C1_commoncrawl_whirlwind_warc_wet_wat", "C3_warcio_warc_edge_cases",
                   "C4_resiliparse_cc_and_clueweb_warc"):
        root = shared_path(folder)
        files += [p for p in sorted(root.rglob("*")) if p.is_file()
                  and any(x in p.name for x in (".warc", ".arc", ".wet"))]
    return files


def _independent_record_count(path: Path) -> int:
    """Records warcio can read (it stops at the first corruption), for a lower bound."""
    from warcio.archiveiterator import ArchiveIterator

    n = 0
    try:
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh, arc2warc=True):
                rec.content_stream().read()
                n += 1
    except Exception:
        pass
    return n


def test_every_shared_warc_is_read_and_accounted_for():
    files = _warc_files()
    assert len(files) >= 20
    for path in files:
        fmt = "arc" if ".arc" in path.name else "warc"
        stats = StageStats("read")
        rows = sum(t.num_rows for t in read_batches(path, fmt, "cc", 100, stats))
        assert stats.balanced(), (path.name, stats)
        assert rows == stats.kept
        # we never see fewer records than a second, independent reader
        assert stats.docs_in - stats.errors_total >= min(_independent_record_count(path), stats.docs_in), path.name


def test_malformed_record_is_recovered_by_the_fallback_reader():
    trunc = shared_path("C3_warcio_warc_edge_cases", "test", "data", "example-trunc.warc")
    stats = StageStats("read")
    list(read_batches(trunc, "warc", "cc", 10, stats))
    # FastWARC stops at the bad Content-Length; warcio picks up the request record after it
    assert stats.docs_in == 4 and stats.kept == 1 and stats.rejected["record:request"] == 1


def test_corrupt_gzip_tail_counts_an_error(tmp_path):
    src = shared_path("C4_resiliparse_cc_and_clueweb_warc", "tests", "data", "warcfile.warc.gz").read_bytes()
    bad = tmp_path / "cut.warc.gz"
    bad.write_bytes(src[: len(src) // 2] + b"\x00garbage" * 50)
    stats = StageStats("read")
    rows = sum(t.num_rows for t in read_batches(bad, "warc", "cc", 10, stats))
    assert rows > 0 and stats.errors_total >= 1 and stats.balanced()
    missing = tmp_path / "missing.warc.gz"
    stats = StageStats("read")
    assert list(read_batches(missing, "warc", "cc", 10, stats)) == []
    assert stats.errors == {"open:FileNotFoundError": 1}


def test_wet_records_carry_text():
    wet = shared_path("C1_commoncrawl_whirlwind_warc_wet_wat", "whirlwind.warc.wet.gz")
    stats = StageStats("read")
    table = pa.concat_tables(list(read_batches(wet, "auto", "cc", 10, stats)))
    assert table.num_rows == 1 and len(table.column("text")[0].as_py()) > 100
    assert stats.rejected["record:warcinfo"] == 1


def test_jsonl_bad_lines_are_counted(tmp_path):
    p = tmp_path / "docs.jsonl.gz"
    lines = [json.dumps({"text": "좋은 문서입니다.", "url": "https://a.kr/1"}), "{not json", json.dumps([1, 2]),
             json.dumps({"body": "no text field"}), "", json.dumps({"text": "bad \ud800 surrogate"})]
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    stats = StageStats("read")
    table = pa.concat_tables(list(read_batches(p, "auto", "s", 100, stats)))
    assert table.num_rows == 2
    assert stats.errors == {"jsonl_decode": 1, "jsonl_not_object": 1}
    assert stats.rejected == {"no_text_field": 1}
    assert stats.balanced()
    assert table.column("domain")[0].as_py() == "a.kr"


def test_truncated_gzip_jsonl_counts_error(tmp_path):
    p = tmp_path / "docs.jsonl.gz"
    data = gzip.compress(("\n".join(json.dumps({"text": f"doc {i}"}) for i in range(5000))).encode())
    p.write_bytes(data[: len(data) // 2])
    stats = StageStats("read")
    rows = sum(t.num_rows for t in read_batches(p, "auto", "s", 1000, stats))
    assert rows > 0 and stats.errors_total == 1 and stats.balanced()


def test_format_detection():
    assert detect_format(Path("x.warc.gz")) == "warc"
    assert detect_format(Path("CC-MAIN-x.warc.wet.gz")) == "warc"
    assert detect_format(Path("a.arc.gz")) == "arc"
    assert detect_format(Path("a.jsonl.zst")) == "jsonl"
    assert detect_format(Path("a.parquet")) == "parquet"
    with pytest.raises(ValueError):
        detect_format(Path("a.bin"))
