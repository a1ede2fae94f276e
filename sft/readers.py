"""Readers for chat-format JSONL: OpenAI-style ``messages`` and ShareGPT-style ``conversations``.

Each record becomes either a normalised conversation dict (``sft.schema`` columns) or a rejection
reason; nothing is dropped silently. Validation of turn order lives in ``sft.validate``.

* OpenAI: ``{"messages": [{"role", "content", "reasoning_content" | "reasoning", "tool_calls"}]}``;
  ``content`` may be a list of ``{"type": "text", "text": ...}`` parts.
* ShareGPT: ``{"conversations": [{"from": "human" | "gpt" | "system" | ..., "value": ...}]}``.

An assistant content that starts with ``<think>...</think>`` has that block moved to ``reasoning``.
Optional record keys: ``id`` (kept as the locator), ``system``, ``language``/``lang``.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.schema import document_id

Format = Literal["auto", "openai", "sharegpt"]

#: ShareGPT speaker names -> roles.
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "model": "assistant",
                  "system": "system", "tool": "tool", "function": "tool", "observation": "tool"}
OPENAI_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
                "tool": "tool", "function": "tool"}
_INLINE_THINK = re.compile(r"\A\s*<think>(.*?)</think>\s*", re.DOTALL)


class Rejected(Exception):
    """A record that cannot become a conversation; ``reason`` is its funnel key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Record:
    """One input line: where it came from, the raw text, and the parse result or rejection."""

    id: str
    source: str
    raw: str
    row: dict[str, Any] | None
    reason: str | None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # OpenAI content parts
        parts = []
        for p in value:
            if not isinstance(p, dict) or p.get("type") != "text" or not isinstance(p.get("text"), str):
                raise Rejected("malformed_message")
            parts.append(p["text"])
        return "".join(parts)
    raise Rejected("malformed_message")


def _tool_calls(value: Any) -> str | None:
    if not value:
        return None
    if not isinstance(value, list):
        raise Rejected("malformed_tool_calls")
    calls = []
    for c in value:
        fn = c.get("function", c) if isinstance(c, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise Rejected("malformed_tool_calls")
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError as exc:
                raise Rejected("malformed_tool_calls") from exc
        calls.append({"name": fn["name"], "arguments": args})
    return json.dumps(calls, ensure_ascii=False, sort_keys=True)


def _message(role: str, content: Any, reasoning: Any = None, tool_calls: Any = None) -> dict[str, Any]:
    text = _text(content)
    thought = _text(reasoning) if reasoning is not None else ""
    if role == "assistant" and not thought and (m := _INLINE_THINK.match(text)):
        thought, text = m.group(1), text[m.end():]
    if role != "assistant" and (thought or tool_calls):
        raise Rejected("malformed_message")
    return {"role": role, "content": text, "reasoning": thought.strip() or None,
            "tool_calls": _tool_calls(tool_calls)}


def parse_openai(obj: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise Rejected("malformed_messages")
    out = []
    for m in msgs:
        if not isinstance(m, dict) or "role" not in m:
            raise Rejected("malformed_message")
        role = OPENAI_ROLES.get(str(m["role"]).lower())
        if role is None:
            raise Rejected("unknown_role")
        out.append(_message(role, m.get("content"), m.get("reasoning_content", m.get("reasoning")),
                            m.get("tool_calls")))
    return out


def parse_sharegpt(obj: dict[str, Any]) -> list[dict[str, Any]]:
    turns = obj.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise Rejected("malformed_messages")
    out = []
    for t in turns:
        if not isinstance(t, dict) or "from" not in t or "value" not in t:
            raise Rejected("malformed_message")
        role = SHAREGPT_ROLES.get(str(t["from"]).lower())
        if role is None:
            raise Rejected("unknown_role")
        out.append(_message(role, t["value"], t.get("reasoning")))
    return out


def parse_record(obj: Any, fmt: Format) -> dict[str, Any]:
    """A JSON object -> ``{"system", "messages", "language"}``; raises ``Rejected``."""
    if not isinstance(obj, dict):
        raise Rejected("malformed_messages")
    if fmt == "auto":
        fmt = "openai" if "messages" in obj else "sharegpt" if "conversations" in obj else "openai"
    messages = parse_openai(obj) if fmt == "openai" else parse_sharegpt(obj)
    system = obj.get("system")
    if system is not None and not isinstance(system, str):
        raise Rejected("malformed_messages")
    if messages and messages[0]["role"] == "system":
        if system:
            raise Rejected("system_twice")
        system, messages = messages[0]["content"], messages[1:]
    lang = obj.get("language", obj.get("lang"))
    return {"system": system or None, "messages": messages,
            "language": lang if isinstance(lang, str) else None}


def _open_lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="surrogateescape") as fh:
        yield from fh


def read_jsonl(path: Path, source: str, fmt: Format = "auto") -> Iterator[Record]:
    """Every non-blank line of ``path`` as a ``Record`` (parsed or rejected with a reason)."""
    for lineno, line in enumerate(_open_lines(path), 1):
        if not line.strip():
            continue
        raw = line.rstrip("\n")
        try:
            obj = json.loads(raw)
        except ValueError:
            yield Record(document_id(source, f"{path.name}:{lineno}"), source, raw, None, "malformed_json")
            continue
        locator = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str | int) else None
        cid = document_id(source, str(locator) if locator is not None else f"{path.name}:{lineno}")
        try:
            parsed = parse_record(obj, fmt)
        except Rejected as exc:
            yield Record(cid, source, raw, None, exc.reason)
            continue
        yield Record(cid, source, raw, {"id": cid, "source": source, **parsed}, None)
