"""The conversation table: one row per conversation, messages as a list of structs (Parquet).

``messages`` holds the turns after the optional system prompt, in order; ``reasoning`` is an
assistant turn's chain of thought (rendered inside ``<think>`` in think mode), ``tool_calls`` a JSON
list of ``{"name", "arguments"}`` calls the assistant made. ``language`` is the language ID result
on the user and assistant text.
"""

from __future__ import annotations

import pyarrow as pa

ROLES = ("system", "user", "assistant", "tool")

MESSAGE_TYPE = pa.struct([
    pa.field("role", pa.string(), nullable=False),
    pa.field("content", pa.string(), nullable=False),
    pa.field("reasoning", pa.string()),
    pa.field("tool_calls", pa.string()),
])

CONVERSATION_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("source", pa.string()),
    pa.field("language", pa.string()),
    pa.field("system", pa.string()),
    pa.field("messages", pa.list_(MESSAGE_TYPE)),
])

REJECT_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("source", pa.string()),
    pa.field("reject_stage", pa.string()),
    pa.field("reject_reason", pa.string()),
    pa.field("raw", pa.string()),
])


def conversations_table(rows: list[dict]) -> pa.Table:
    """Rows (dicts with the schema's keys) as a table of ``CONVERSATION_SCHEMA``."""
    return pa.Table.from_pylist(rows, schema=CONVERSATION_SCHEMA)


def prompt_text(row: dict) -> str:
    """The prompt view used for deduplication: system prompt and user turns, newline-joined."""
    parts = [row["system"]] if row.get("system") else []
    parts += [m["content"] for m in row["messages"] if m["role"] == "user"]
    return "\n".join(parts)


def dialogue_text(row: dict) -> str:
    """The text view used for language ID: user and assistant contents, newline-joined."""
    return "\n".join(m["content"] for m in row["messages"] if m["role"] in ("user", "assistant") and m["content"])


def has_final_reasoning(row: dict) -> bool:
    """True when the last assistant turn carries reasoning (eligible for think mode)."""
    last = row["messages"][-1]
    return last["role"] == "assistant" and bool((last.get("reasoning") or "").strip())
