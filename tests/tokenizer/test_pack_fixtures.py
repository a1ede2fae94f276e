"""Helpers shared by the pack and loader tests: real text, an in-test BPE tokenizer, a Parquet corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
EOS = "<|endoftext|>"

# Used when ../shared/data is absent (a fresh checkout): a few real sentences of each language.
_FALLBACK_KO = [
    "대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다.",
    "흡연자분들은 발코니가 있는 방이면 발코니에서 흡연이 가능합니다.",
    "오랜만에 드래곤볼  즐겁습니다 ㅋㅋㅋ 10점 만점에 9점!",
    "기원전 44년 옥타비아누스는 카이사르의 양자가 되어 그 후계자가 되었다.",
    "서울특별시는 대한민국의 수도이며, 인구는 약 940만 명이다.\n\n한강이 도시를 가로지른다.",
]
_FALLBACK_EN = [
    "Gaming used to be so simple. We'd buy a game, sit down in front of a console or PC, grind our way to the end.",
    "The quick brown fox jumps over the lazy dog; it's 3:45 pm and they've gone.",
    "  Indented code:\n    def f(x):\n\treturn x * 2  # tabs and spaces\n",
    "Prices rose 12.5% in 2024 — the highest since 1990s… or so they say 🙂.",
]


def korean_texts(limit: int = 400) -> list[str]:
    """Real Korean sentences: KLUE-NLI premises and Kiwi wikipedia/blog sets, else the fallback."""
    out: list[str] = []
    klue = DATA / "D7_klue_nli_dev" / "klue_benchmark" / "klue-nli-v1.1" / "klue-nli-v1.1_dev.json"
    if klue.is_file():
        rows = json.loads(klue.read_text(encoding="utf-8"))
        out += list(dict.fromkeys(r["premise"] for r in rows))
    ss = DATA / "D2_kiwipiepy_benchmarks" / "benchmark" / "sentence_split" / "testset"
    for name in ("wikipedia.txt", "blogs_ko.txt"):
        if (ss / name).is_file():
            out += [p for p in (ss / name).read_text(encoding="utf-8").split("\n\n") if p.strip()]
    return (out or _FALLBACK_KO)[:limit]


def english_texts(limit: int = 120) -> list[str]:
    """Real English article bodies from the extraction benchmark, else the fallback."""
    gt = DATA / "B1_scrapinghub_article_extraction_benchmark" / "ground-truth.json"
    if gt.is_file():
        rows = json.loads(gt.read_text(encoding="utf-8")).values()
        out = [r["articleBody"] for r in rows if r.get("articleBody")]
        return (out + _FALLBACK_EN)[:limit]
    return _FALLBACK_EN


def train_tokenizer(path: Path, texts: list[str], vocab_size: int = 1500) -> Path:
    """Train a byte-level BPE (HF ``tokenizers``) on a few KB of text; save it as JSON."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([t[:2000] for t in texts], trainer)
    tok.save(str(path))
    return path


def write_corpus(root: Path) -> dict[str, list[list[str | None]]]:
    """Two Parquet shards: a mixed one with a ``source`` column and one taking its directory's name.

    Returns the non-empty texts per source, in file order, as a list per shard.
    """
    ko, en = korean_texts(120), english_texts(30)
    long_doc = " ".join(ko[i % len(ko)] for i in range(80))  # longer than the loader's test sequence
    mixed_text: list[str | None] = []
    mixed_src: list[str | None] = []
    for i in range(60):
        mixed_text.append(ko[i % len(ko)])
        mixed_src.append("ko_web")
        if i % 3 == 0:
            mixed_text.append(en[i % len(en)])
            mixed_src.append("en_web")
        if i % 17 == 0:
            mixed_text += ["", None]
            mixed_src += ["ko_web", None]
    mixed_text.append(long_doc)
    mixed_src.append("ko_web")
    (root / "mixed").mkdir(parents=True, exist_ok=True)
    (root / "en_news").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": pa.array(mixed_text, pa.string()), "source": mixed_src}),
                   root / "mixed" / "a.parquet", row_group_size=16)
    news = [en[i % len(en)] + f" ({i})" for i in range(25)]
    pq.write_table(pa.table({"text": news}), root / "en_news" / "b.parquet")
    return {
        "ko_web": [t for t, s in zip(mixed_text, mixed_src) if s == "ko_web" and t],
        "en_web": [t for t, s in zip(mixed_text, mixed_src) if s == "en_web" and t],
        "en_news": news,
    }
