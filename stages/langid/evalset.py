"""A labelled language-ID evaluation set assembled from the real data beside the repository.

Gold labels come from the corpus a text was taken from, checked by script so that stray foreign
lines inside a corpus do not become wrong gold labels:

- ko: Korean corpora (kiwipiepy benchmarks, NSMC reviews, chatbot Q/A, KLUE-NLI); a sentence needs
  at least ``MIN_HANGUL`` Hangul syllables (English terms and Hanja inside are allowed).
- ja: Japanese web feeds and pages (chardet EUC-JP / Shift_JIS / CP932 / ISO-2022-JP files, the
  ClueWeb09-ja WARC sample); a sentence must contain kana and be mostly CJK letters.
- zh: Chinese web feeds and pages (chardet GB2312 / Big5 files, Chinese pages of the Common
  Crawl WARC sample); mostly Han letters, no kana, no Hangul.
- en: article bodies of the article-extraction benchmark; ASCII letters only, with English
  function words.

Short inputs (single words, two-word pairs) are cut from those sentences with a fixed seed.
"""

from __future__ import annotations

import csv
import html
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stages.langid.script import HAN, HANGUL, KANA, script_counts

MIN_HANGUL = 5
_TAG = re.compile(r"<[^<>]{0,2000}>")
_SENT_SPLIT_CJK = re.compile(r"(?<=[。！？!?])|\n")
_SENT_SPLIT_EN = re.compile(r"(?<=[.!?])\s+|\n")
_HANGUL_SYL = re.compile(r"[\uac00-\ud7a3]")
_EN_FUNCTION = re.compile(r"\b(?:the|and|of|to|is|in|that|for|with|was)\b", re.I)
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+")
_META_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
_CODEC_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-kr": "cp949",
                  "big5": "big5hkscs", "shift_jis": "cp932", "x-sjis": "cp932", "sjis": "cp932"}


@dataclass(frozen=True)
class Sample:
    text: str
    lang: str
    source: str


def data_dir() -> Path:
    """``../shared/data`` beside the repository root."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


# ---------------------------------------------------------------- Korean sources
def _korean_raw(root: Path) -> Iterator[tuple[str, str]]:
    d2 = root / "D2_kiwipiepy_benchmarks"
    for f in sorted((d2 / "benchmark" / "sentence_split" / "testset").glob("*.txt")):
        for line in f.read_text(encoding="utf-8").splitlines():
            yield line, f"D2/{f.stem}"
    for f in sorted((d2 / "benchmark" / "oov" / "testset").glob("*.txt")):
        for line in f.read_text(encoding="utf-8").splitlines():
            yield _TAG.sub("", line), "D2/oov"
    space = d2 / "benchmark" / "space" / "testset" / "written.txt"
    if space.is_file():
        for line in space.read_text(encoding="utf-8").splitlines():
            yield line.replace("\u2594", " ").replace("\u2581", ""), "D2/space"
    for f in sorted((d2 / "benchmark" / "disambiguate" / "testset").glob("*.txt")):
        for line in f.read_text(encoding="utf-8").splitlines():
            yield line.split("\t", 1)[-1], "D2/disambiguate"
    const = d2 / "test" / "test_corpus" / "constitution.txt"
    if const.is_file():
        for line in const.read_text(encoding="utf-8").splitlines():
            yield line, "D2/constitution"
    for f in sorted((root / "D3_nsmc_raw_sample" / "raw").glob("*.json")):
        for rec in json.loads(f.read_text(encoding="utf-8")):
            yield rec.get("review", ""), "D3"
    chat = root / "D4_songys_chatbot_data" / "ChatbotData.csv"
    if chat.is_file():
        with chat.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                yield row["Q"], "D4"
                yield row["A"], "D4"
    for f in sorted((root / "D7_klue_nli_dev").rglob("*dev.json")):
        for rec in json.loads(f.read_text(encoding="utf-8")):
            yield rec["premise"], f"D7/{rec.get('source', '')}"
            yield rec["hypothesis"], "D7/hypothesis"


def korean_sentences(root: Path | None = None) -> list[Sample]:
    root = root or data_dir()
    seen: set[str] = set()
    out = []
    for text, src in _korean_raw(root):
        text = " ".join(text.split())
        if text in seen or len(_HANGUL_SYL.findall(text)) < MIN_HANGUL:
            continue
        seen.add(text)
        out.append(Sample(text, "ko", src))
    return out


# ---------------------------------------------------------------- web text (ja / zh)
def _decode(raw: bytes, declared: str | None) -> str:
    name = (declared or "").lower()
    codec = _CODEC_ALIASES.get(name, name)
    for candidate in (codec, "utf-8"):
        if not candidate:
            continue
        try:
            return raw.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode(codec or "utf-8", errors="replace") if codec else raw.decode("utf-8", "replace")


def _markup_to_text(doc: str) -> str:
    doc = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", " ", doc)
    doc = re.sub(r"(?s)<!--.*?-->", " ", doc)
    doc = doc.replace("<![CDATA[", " ").replace("]]>", " ")
    for _ in range(2):  # feeds often escape HTML inside descriptions
        doc = _TAG.sub("\n", doc)
        doc = html.unescape(doc)
    return _TAG.sub("\n", doc)


def _c2_texts(root: Path, folders: dict[str, str]) -> Iterator[tuple[str, str]]:
    base = root / "C2_chardet_korean_legacy_charsets" / "tests"
    for folder, codec in folders.items():
        for f in sorted((base / folder).glob("*")):
            yield _markup_to_text(_decode(f.read_bytes(), codec)), f"C2/{folder}"


def _warc_texts(path: Path, source: str) -> Iterator[tuple[str, str]]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    if not path.is_file():
        return
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            body = rec.reader.read()
            ctype = (rec.http_headers.get("Content-Type") if rec.http_headers else None) or ""
            m = _META_CHARSET.search(ctype.encode()) or _META_CHARSET.search(body[:4096])
            declared = m.group(1).decode("ascii", "ignore") if m else None
            if source.endswith("ja") and not declared:
                declared = "euc-jp"
            yield _markup_to_text(_decode(body, declared)), source


def _segments(texts: Iterator[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for text, src in texts:
        for seg in _SENT_SPLIT_CJK.split(text):
            seg = " ".join(seg.split())
            if seg:
                yield seg, src


def _cjk_sentences(raw: Iterator[tuple[str, str]], lang: str) -> list[Sample]:
    segs = list(dict.fromkeys(_segments(raw)))
    if not segs:
        return []
    counts = script_counts([s for s, _ in segs])
    letters = counts.letters
    han, kana, hangul = counts.counts[:, HAN], counts.counts[:, KANA], counts.counts[:, HANGUL]
    cjk = han + kana
    if lang == "ja":
        ok = (kana >= 2) & (cjk >= 0.6 * letters) & (cjk >= 8) & (hangul == 0)
    else:
        ok = (kana == 0) & (hangul == 0) & (han >= 0.8 * letters) & (han >= 6)
    seen: set[str] = set()
    out = []
    for (seg, src), good in zip(segs, ok):
        if good and seg not in seen:
            seen.add(seg)
            out.append(Sample(seg, lang, src))
    return out


def japanese_sentences(root: Path | None = None) -> list[Sample]:
    root = root or data_dir()
    folders = {"EUC-JP": "euc-jp", "SHIFT_JIS": "cp932", "CP932": "cp932", "iso-2022-jp": "iso2022_jp"}

    def raw() -> Iterator[tuple[str, str]]:
        yield from _c2_texts(root, folders)
        yield from _warc_texts(root / "C4_resiliparse_cc_and_clueweb_warc" / "tests" / "data"
                               / "clueweb-quirk.warc.gz", "C4/clueweb-ja")

    return _cjk_sentences(raw(), "ja")


def chinese_sentences(root: Path | None = None) -> list[Sample]:
    root = root or data_dir()
    folders = {"GB2312": "gb18030", "Big5": "big5hkscs"}

    def raw() -> Iterator[tuple[str, str]]:
        yield from _c2_texts(root, folders)
        yield from _warc_texts(root / "C4_resiliparse_cc_and_clueweb_warc" / "tests" / "data"
                               / "warcfile.warc.gz", "C4/cc-zh")

    return _cjk_sentences(raw(), "zh")


# ---------------------------------------------------------------- English
def english_sentences(root: Path | None = None) -> list[Sample]:
    root = root or data_dir()
    gt = root / "B1_scrapinghub_article_extraction_benchmark" / "ground-truth.json"
    if not gt.is_file():
        return []
    seen: set[str] = set()
    out = []
    for rec in json.loads(gt.read_text(encoding="utf-8")).values():
        for sent in _SENT_SPLIT_EN.split(rec.get("articleBody") or ""):
            sent = " ".join(sent.split())
            words = sent.split()
            if (len(words) < 5 or sent in seen or not sent.isascii()
                    or len(_EN_FUNCTION.findall(sent)) < 2):
                continue
            seen.add(sent)
            out.append(Sample(sent, "en", "B1"))
    return out


# ---------------------------------------------------------------- short inputs
def _tokens(sample: Sample) -> list[str]:
    if sample.lang in ("ja", "zh"):
        return _CJK_RUN.findall(sample.text)
    return [t.strip(".,!?\"'()[]{}:;~") for t in sample.text.split()]


def _word_ok(tok: str, lang: str) -> bool:
    if lang == "ko":
        return len(_HANGUL_SYL.findall(tok)) >= 2
    if lang == "en":
        return tok.isascii() and tok.isalpha() and len(tok) >= 3
    return len(tok) >= 2


def short_inputs(sentences: list[Sample], n_words: int, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """Single words and two-word pairs cut from ``sentences`` (per language, ``n_words`` each).

    For ja/zh, which have no spaces, a "word" is a 2-4 character piece of a CJK run and a pair is
    two adjacent pieces joined as written (4-8 characters).
    """
    rng = random.Random(seed)
    singles: list[Sample] = []
    pairs: list[Sample] = []
    by_lang: dict[str, list[Sample]] = {}
    for s in sentences:
        by_lang.setdefault(s.lang, []).append(s)
    for lang, group in sorted(by_lang.items()):
        one, two = [], []
        order = list(range(len(group)))
        rng.shuffle(order)
        for i in order:
            s = group[i]
            if lang in ("ja", "zh"):
                for run in _tokens(s):
                    if len(run) >= 4:
                        cut = rng.randint(2, min(4, len(run) - 2))
                        one.append(Sample(run[:cut], lang, s.source))
                        two.append(Sample(run[: min(len(run), cut * 2)], lang, s.source))
                        break
            else:
                toks = [t for t in _tokens(s) if _word_ok(t, lang)]
                if toks:
                    one.append(Sample(rng.choice(toks), lang, s.source))
                words = s.text.split()
                if len(words) >= 2:
                    j = rng.randrange(len(words) - 1)
                    pair = f"{words[j]} {words[j + 1]}"
                    if lang != "ko" or len(_HANGUL_SYL.findall(pair)) >= 2:
                        two.append(Sample(pair, lang, s.source))
            if len(one) >= n_words and len(two) >= n_words:
                break
        singles += list(dict.fromkeys(one))[:n_words]
        pairs += list(dict.fromkeys(two))[:n_words]
    return singles, pairs


def sample_per_language(samples: list[Sample], n: int, seed: int = 0) -> list[Sample]:
    """At most ``n`` samples per language, chosen with a fixed seed, in a stable order."""
    rng = np.random.default_rng(seed)
    out: list[Sample] = []
    for lang in sorted({s.lang for s in samples}):
        group = [s for s in samples if s.lang == lang]
        if len(group) > n:
            idx = np.sort(rng.choice(len(group), size=n, replace=False))
            group = [group[i] for i in idx]
        out += group
    return out


def load_all(root: Path | None = None) -> list[Sample]:
    """Every labelled sentence: ko, ja, zh, en."""
    root = root or data_dir()
    return (korean_sentences(root) + japanese_sentences(root) + chinese_sentences(root)
            + english_sentences(root))


__all__ = ["Sample", "data_dir", "korean_sentences", "japanese_sentences", "chinese_sentences",
           "english_sentences", "short_inputs", "sample_per_language", "load_all"]
