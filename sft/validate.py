"""Structural checks on a normalised conversation; each failure is one named rejection reason.

A valid conversation is: optional system prompt, then ``user`` first; ``assistant`` answers a
``user`` or ``tool`` turn; ``tool`` follows an assistant turn that made tool calls (or another tool
turn); ``user`` follows an ``assistant`` turn; the last turn is a non-empty ``assistant`` answer.
No turn may contain the text of a chat control token (it would be read as markup).
"""

from __future__ import annotations

from typing import Any

from tokenizer.specials import CONTROL_TOKENS

#: Reasons this module can return, in the order they are checked.
REASONS = ("no_turns", "system_not_first", "roles_out_of_order", "empty_user", "empty_assistant",
           "no_final_assistant", "control_token_in_text")


def _has_control(text: str | None) -> bool:
    return bool(text) and any(tok in text for tok in CONTROL_TOKENS)


def check(row: dict[str, Any]) -> str | None:
    """The rejection reason for ``row``, or None when it is a valid conversation."""
    msgs = row["messages"]
    if not msgs:
        return "no_turns"
    prev: dict[str, Any] | None = None
    for m in msgs:
        role = m["role"]
        if role == "system":
            return "system_not_first"
        before = prev["role"] if prev else None
        ok = {
            "user": before in (None, "assistant"),
            "assistant": before in ("user", "tool"),
            "tool": before == "tool" or (before == "assistant" and bool(prev and prev["tool_calls"])),
        }[role]
        if not ok:
            return "roles_out_of_order"
        if role == "user" and not m["content"].strip():
            return "empty_user"
        if role == "assistant" and not m["content"].strip() and not m["tool_calls"]:
            return "empty_assistant"
        prev = m
    last = msgs[-1]
    if last["role"] != "assistant":
        return "no_final_assistant"
    if not last["content"].strip():
        return "empty_assistant"
    texts = [row.get("system")] + [t for m in msgs for t in (m["content"], m["reasoning"], m["tool_calls"])]
    if any(_has_control(t) for t in texts):
        return "control_token_in_text"
    return None
