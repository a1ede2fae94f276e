"""A round-trip stress corpus: strings a lossless tokenizer must give back byte for byte."""

from __future__ import annotations

import random

from tokenizer.specials import special_tokens

#: Hand-picked hard cases: whitespace layouts, scripts, emoji, controls, lookalikes of our syntax.
FIXED_CASES: tuple[str, ...] = (
    "def f(x):\n    if x:\n        return x  # two spaces\n\treturn None\t\n",
    "    \n\t\t\n  \t  mixed indentation\n",
    "line one\r\nline two\r\n\r\n",
    "trailing spaces   ",
    "   leading spaces",
    " ",
    "\n",
    "a" * 5000,
    " " * 3000 + "x",
    "1234567890" * 50,
    "3.14159 2,718 1e-10 0x1F -42 ０１２３",
    "안녕하세요, 세계! 오늘은 2024년 5월 1일입니다.",
    "똠방각하 뷁 쐈다 햏 갗 (KS X 1001 밖의 음절)",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab",  # conjoining jamo (NFD Hangul)
    "ㄱㄴㄷ ㅏㅑㅓ ㅋㅋㅋㅋㅋ ㅠㅠ",
    "大韓民國 憲法 𠀀𠀁 𪜀 𫝀 𬺰 𰀀 𲎯",  # rare Hanja in CJK extensions B-H
    "日本語のテキスト、カタカナ ｶﾀｶﾅ",
    "中文文本，繁體字與简体字。",
    "Ελληνικά Русский текст עברית العربية हिन्दी ไทย",
    "emoji 👩‍👩‍👧‍👦 👍🏽 🇰🇷 🏳️‍🌈 ❤️ 1️⃣",
    "combining: e\u0301 a\u0308\u0323 Z\u0335\u0321\u0358",
    "controls \x00\x01\x02\x07\x08\x0b\x0c\x1b[31m\x1f\x7f end",
    "C1 \x80\x85\x9f and BOM \ufeff and ZW \u200b\u200c\u200d\u2060",
    "bidi \u202e\u2066abc\u2069\u202c",
    "private use \ue000\uf8ff \U000f0000 \U0010fffd",
    "noncharacters \ufffe\uffff \U0001fffe \U0010ffff",
    "replacement \ufffd",
    "math 𝐀𝐁𝐂 𝔸𝔹ℂ ∑∫√∞ ≠ ≤",
    "sentencepiece space ▁ and ▁▁ and a▁b",
    "byte lookalikes <0x41> <0xE2> <unk> <s> </s>",
    "<|endoftext|> <think>x</think> <|user|> <tool_call>{}</tool_call>",
    "전화번호 <|pii:phone|> 로 연락, 이메일 <|pii:email|>",
    "<|pii:rrn|><|pii:rrn|>붙여쓰기 <|pii:rrn <|pii:unknown|>",
    "mixed한국어English123혼합",
    "\t",
    "",
)


def _random_char(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.25:
        return chr(rng.randint(0x20, 0x7E))
    if r < 0.45:
        return chr(rng.randint(0xAC00, 0xD7A3))
    if r < 0.55:
        return rng.choice(" \t\n\r  ")
    if r < 0.65:
        return chr(rng.randint(0x4E00, 0x9FFF))
    if r < 0.72:
        return chr(rng.randint(0x1F300, 0x1FAFF))
    if r < 0.78:
        return chr(rng.randint(0x0, 0x1F))
    while True:  # anywhere in Unicode except surrogates (not encodable as UTF-8)
        cp = rng.randint(0, 0x10FFFF)
        if not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)


def stress_corpus(n_random: int = 2000, seed: int = 0) -> list[str]:
    """Fixed hard cases, every special token's text, plus ``n_random`` seeded random strings."""
    rng = random.Random(seed)
    cases = list(FIXED_CASES)
    cases.append(" ".join(t.content for t in special_tokens()))
    for _ in range(n_random):
        cases.append("".join(_random_char(rng) for _ in range(rng.randint(1, 80))))
    return cases
