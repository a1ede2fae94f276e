"""Readers on real WARC/WET/ARC edge cases and legacy Korean charsets."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.readers import detect_format, read_batches
from pipeline.stats import StageStats
from stages.charset import decode_html, normalize_charset
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


GOLD = {"EUC-KR": "cp949", "CP949": "cp949", "Johab": "johab", "iso-2022-kr": "iso2022_kr"}


@pytest.mark.parametrize("folder", sorted(GOLD))
def test_korean_legacy_charsets_decode_to_gold(folder):
    root = shared_path("C2_chardet_korean_legacy_charsets", "tests", folder)
    files = sorted(root.iterdir())
    assert files
    for f in files:
        body = f.read_bytes()
        gold = body.decode(GOLD[folder]).lstrip("\ufeff")
        got = decode_html(body, None)
        assert got.text is not None and got.text.lstrip("\ufeff") == gold, f.name
        # a wrong header label falls through to something that decodes the page correctly
        labelled = decode_html(body, "euc-kr")
        if folder in ("EUC-KR", "CP949"):
            assert labelled.text == got.text and labelled.charset == "cp949"


def test_euc_kr_label_decodes_cp949_only_syllables():
    body = "<html><body>똠양꿍 뷁 어쩌고</body></html>".encode("cp949")
    with pytest.raises(UnicodeDecodeError):
        body.decode("euc_kr")
    got = decode_html(body, "EUC-KR")
    assert got.charset == "cp949" and "똠양꿍 뷁" in got.text
    assert normalize_charset("ks_c_5601-1987") == "cp949"


def test_meta_charset_used_when_header_absent():
    body = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=euc-kr"></head><body>한국어 문서</body></html>'.encode("cp949")
    got = decode_html(body, None)
    assert got.origin == "meta" and "한국어 문서" in got.text


def test_undecodable_bytes_are_reported():
    got = decode_html(bytes(range(128, 256)) * 50, "utf-8", max_replacement_ratio=0.0)
    assert got.text is None or got.replacement_ratio == 0.0


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
