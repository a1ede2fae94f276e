"""Charset decoding of pages: legacy Korean encodings against gold text, labels, meta tags."""

from __future__ import annotations

import pytest

from stages.extract.charset import decode_html, normalize_charset
from tests.conftest import shared_path

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
