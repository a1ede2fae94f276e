"""A generated chat sample for the SFT demo: Korean and English, written by this project.

Deterministic for a seed. It holds single- and multi-turn conversations, some with reasoning (as
``reasoning_content`` in OpenAI style, or an inline ``<think>`` block in ShareGPT style), a system
prompt on some, planted PII, exact and near-duplicate prompts, a Japanese conversation (rejected by
language ID), and malformed records: bad JSON, unknown roles, roles out of order, a conversation
not ending with the assistant, an empty assistant turn, a system prompt in the middle, a control
token in the text, and conversations longer than the demo context.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

KO_NAMES = ["민준", "서연", "도윤", "지우", "하준", "서윤", "시우", "하은", "주원", "지호", "예은", "건우"]
EN_NAMES = ["Alice", "Ben", "Chloe", "David", "Emma", "Finn", "Grace", "Henry", "Ivy", "Jack", "Kate", "Liam"]
KO_ITEMS = [("사과", "개"), ("연필", "자루"), ("공책", "권"), ("우유", "병"), ("빵", "개"), ("책", "권")]
EN_ITEMS = ["apples", "pencils", "notebooks", "bottles of milk", "loaves of bread", "books"]
KO_CITIES = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "제주"]
EN_TOPICS = ["photosynthesis", "the water cycle", "compound interest", "binary search", "plate tectonics",
             "supply and demand", "the Pythagorean theorem", "vaccines", "recursion", "tides"]
KO_TOPICS = ["광합성", "물의 순환", "복리", "이진 탐색", "판 구조론", "수요와 공급", "피타고라스 정리",
             "백신", "재귀 함수", "밀물과 썰물"]
KO_SYSTEM = "당신은 친절하고 정확한 한국어 도우미입니다."
EN_SYSTEM = "You are a helpful, precise assistant."


def _ko_math(rng: random.Random) -> tuple[str, str, str]:
    name = rng.choice(KO_NAMES)
    (item, unit), a, b, price = rng.choice(KO_ITEMS), rng.randint(2, 40), rng.randint(2, 40), rng.randint(3, 90) * 100
    q = f"{name}는 {item}을 {a}{unit} 샀고, 친구에게서 {b}{unit}를 더 받았습니다. 하나에 {price}원이라면 모두 얼마어치인가요?"
    r = (f"{name}가 가진 {item}는 {a} + {b} = {a + b}{unit}입니다. 한 {unit}에 {price}원이므로 "
         f"{a + b} × {price} = {(a + b) * price}원입니다.")
    ans = f"{name}가 가진 {item}는 모두 {a + b}{unit}이고, 금액으로는 {(a + b) * price:,}원어치입니다."
    return q, r, ans


def _en_math(rng: random.Random) -> tuple[str, str, str]:
    name, item = rng.choice(EN_NAMES), rng.choice(EN_ITEMS)
    a, b, k = rng.randint(2, 60), rng.randint(2, 60), rng.randint(2, 9)
    q = f"{name} has {a} {item} and buys {k} boxes with {b} {item} each. How many {item} does {name} have now?"
    r = f"Each box holds {b}, so {k} boxes hold {k} * {b} = {k * b}. Adding the {a} already there: {a} + {k * b} = {a + k * b}."
    ans = f"{name} now has {a + k * b} {item}."
    return q, r, ans


def _ko_explain(rng: random.Random) -> tuple[str, str, str]:
    i = rng.randrange(len(KO_TOPICS))
    city = rng.choice(KO_CITIES)
    q = f"{city}에 사는 중학생에게 {KO_TOPICS[i]}을(를) 쉽게 설명해 주세요. 예시도 하나 들어 주세요."
    r = f"상대는 중학생이므로 전문 용어를 줄이고 {city}의 일상에서 볼 수 있는 예를 고른다. 핵심 개념 하나와 예시 하나면 충분하다."
    ans = (f"{KO_TOPICS[i]}은(는) 한마디로 자연이나 규칙이 일정한 방식으로 움직이는 원리입니다. "
           f"예를 들어 {city}에서 매일 보는 장면 속에서도 이 원리를 찾을 수 있어요. 궁금한 점이 있으면 더 물어보세요!")
    return q, r, ans


def _en_explain(rng: random.Random) -> tuple[str, str, str]:
    topic = rng.choice(EN_TOPICS)
    level = rng.choice(["a ten-year-old", "a high-school student", "a busy manager", "a new engineer"])
    q = f"Explain {topic} to {level} in three sentences."
    r = f"The audience is {level}, so keep it concrete: one definition, one everyday example, one reason it matters."
    ans = (f"{topic.capitalize()} is a simple idea once you see it in action. Think of something you meet every day "
           f"that works the same way. Knowing it helps {level} make better sense of the world.")
    return q, r, ans


GENERATORS = [_ko_math, _en_math, _ko_explain, _en_explain]


def _openai(q: str, r: str | None, a: str, system: str | None, follow: tuple[str, str] | None) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    msgs.append({"role": "user", "content": q})
    if follow:
        msgs += [{"role": "assistant", "content": a}, {"role": "user", "content": follow[0]}]
        a = follow[1]
    last: dict[str, Any] = {"role": "assistant", "content": a}
    if r:
        last["reasoning_content"] = r
    msgs.append(last)
    return {"messages": msgs}


def _sharegpt(q: str, r: str | None, a: str, system: str | None) -> dict[str, Any]:
    turns = [{"from": "system", "value": system}] if system else []
    turns.append({"from": "human", "value": q})
    turns.append({"from": "gpt", "value": f"<think>\n{r}\n</think>\n\n{a}" if r else a})
    return {"conversations": turns}


def _follow_up(rng: random.Random, ko: bool) -> tuple[str, str]:
    if ko:
        return rng.choice([("조금 더 짧게 요약해 줄래요?", "네, 핵심만 말하면 위의 계산 결과가 답입니다."),
                           ("영어로도 한 문장으로 말해 주세요.", "In one sentence: the answer is the result above.")])
    return rng.choice([("Can you make it shorter?", "Sure: the result above is the answer."),
                       ("Say it again in Korean, please.", "위에서 계산한 결과가 답입니다.")])


def _malformed() -> list[str]:
    """One line per kind of bad input (each is a counted rejection)."""
    long_answer = " ".join(f"단계 {i}: 값을 하나씩 더해 나갑니다 ({i} + {i + 1} = {2 * i + 1})." for i in range(400))
    bad = [
        '{"messages": [{"role": "user", "content": "잘린 줄',                                   # malformed_json
        json.dumps({"messages": [{"role": "narrator", "content": "Once upon a time"},
                                 {"role": "assistant", "content": "…"}]}),                      # unknown_role
        json.dumps({"conversations": [{"from": "alien", "value": "hi"}, {"from": "gpt", "value": "hello"}]}),
        json.dumps({"messages": [{"role": "user", "content": "두 번 답해 주세요."},
                                 {"role": "assistant", "content": "첫 번째 답"},
                                 {"role": "assistant", "content": "두 번째 답"}]}),             # roles_out_of_order
        json.dumps({"messages": [{"role": "user", "content": "Hello?"},
                                 {"role": "assistant", "content": "Hi."},
                                 {"role": "user", "content": "Are you there?"}]}),              # no_final_assistant
        json.dumps({"messages": [{"role": "user", "content": "오늘 날씨 어때요?"},
                                 {"role": "assistant", "content": "   "}]}),                     # empty_assistant
        json.dumps({"messages": [{"role": "user", "content": "What is 2 + 2?"},
                                 {"role": "system", "content": "Be terse."},
                                 {"role": "assistant", "content": "4"}]}),                      # system_not_first
        json.dumps({"messages": [{"role": "user", "content": "Print <|endoftext|> please."},
                                 {"role": "assistant", "content": "Done."}]}),                  # control_token_in_text
        json.dumps({"messages": "not a list"}),                                                # malformed_messages
        json.dumps({"messages": [{"role": "user", "content": 42},
                                 {"role": "assistant", "content": "x"}]}),                      # malformed_message
        json.dumps({"messages": [{"role": "user", "content": "1부터 400까지 더하는 과정을 모두 보여 주세요."},
                                 {"role": "assistant", "content": long_answer}]},
                   ensure_ascii=False),                                                        # too_long
        json.dumps({"messages": [{"role": "user", "content": "日本の首都はどこですか？東京について教えてください。"},
                                 {"role": "assistant", "content": "日本の首都は東京です。東京は日本最大の都市です。"}]},
                   ensure_ascii=False),                                                        # langid
    ]
    return bad


def generate(out_dir: str | Path, n: int = 400, seed: int = 0) -> list[Path]:
    """Write ``openai.jsonl`` and ``sharegpt.jsonl`` under ``out_dir``; return their paths."""
    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    openai_lines: list[str] = []
    share_lines: list[str] = []
    for i in range(n):
        gen = GENERATORS[i % len(GENERATORS)]
        ko = gen in (_ko_math, _ko_explain)
        q, r, a = gen(rng)
        if i % 23 == 5:  # planted PII in the prompt
            q += " 연락처는 010-1234-5678, 메일은 minjun.kim@example.com 입니다." if ko else \
                " My number is 010-9876-5432 and my email is jack.lee@example.com."
        reasoning = r if rng.random() < 0.6 else None
        system = (KO_SYSTEM if ko else EN_SYSTEM) if rng.random() < 0.3 else None
        if i % 3 == 2:
            share_lines.append(json.dumps(_sharegpt(q, reasoning, a, system), ensure_ascii=False))
        else:
            follow = _follow_up(rng, ko) if rng.random() < 0.25 else None
            openai_lines.append(json.dumps({"id": f"oa-{i}", **_openai(q, reasoning, a, system, follow)},
                                           ensure_ascii=False))
        if i % 37 == 0:  # an exact duplicate prompt with another answer
            openai_lines.append(json.dumps(_openai(q, None, a + " (다시 답함)" if ko else a + " (answered again)",
                                                   system, None), ensure_ascii=False))
    bad = _malformed()
    openai_lines += bad[:8] + bad[8:]
    paths = [out / "openai.jsonl", out / "sharegpt.jsonl"]
    for path, lines in zip(paths, (openai_lines, share_lines)):
        data = ("\n".join(lines) + "\n").encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:  # unchanged files keep their stamp
            path.write_bytes(data)
    return paths
