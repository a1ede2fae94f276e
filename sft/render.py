"""Render a conversation with the tokenizer folder's own chat template, split into loss segments.

The template (``chat_template.jinja``, written by ``tokenizer.export``) is compiled the way
``transformers`` compiles chat templates (sandboxed Jinja, ``trim_blocks``/``lstrip_blocks``, the
same ``tojson``), so the text here is exactly what ``apply_chat_template`` renders.

Every trained assistant turn is rendered as a generation in its mode: the template's generation
prompt for the conversation so far (``enable_thinking=True``: ``<|assistant|>\\n``; ``False``: the
same plus the empty ``<think>\\n\\n</think>\\n\\n`` block), then the turn as the template renders it.
The loss covers the turn from after the generation prompt through ``<|end_of_turn|>``: in think
mode that includes the ``<think>`` block the model writes itself; in non-think mode the empty block
is part of the prompt. System, user and tool turns, role headers and the newline after each
``<|end_of_turn|>`` are never trained. In think mode, assistant turns without reasoning (earlier
turns of a multi-turn conversation) are rendered as context and not trained; in non-think mode
reasoning is dropped and every assistant turn is trained.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tokenizer.specials import END_OF_TURN

Mode = Literal["think", "non_think"]


class TemplateError(ValueError):
    """The chat template does not render conversations as prefixes of each other."""


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None,
            sort_keys: bool = False) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def load_template(tokenizer_dir: str | Path) -> str:
    """The chat template of a tokenizer folder (``chat_template.jinja`` or ``tokenizer_config.json``)."""
    d = Path(tokenizer_dir)
    if (d / "chat_template.jinja").is_file():
        return (d / "chat_template.jinja").read_text(encoding="utf-8")
    cfg = json.loads((d / "tokenizer_config.json").read_text(encoding="utf-8"))
    if not isinstance(cfg.get("chat_template"), str):
        raise FileNotFoundError(f"no chat template in {d}")
    return cfg["chat_template"]


class ChatRenderer:
    """Renders conversations with one chat template."""

    def __init__(self, template: str) -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        env.filters["tojson"] = _tojson
        self._template = env.from_string(template)

    def render(self, messages: list[dict[str, Any]], add_generation_prompt: bool = False,
               enable_thinking: bool | None = None) -> str:
        """What ``apply_chat_template(messages, tokenize=False, ...)`` returns."""
        kwargs: dict[str, Any] = {"messages": messages, "add_generation_prompt": add_generation_prompt}
        if enable_thinking is not None:
            kwargs["enable_thinking"] = enable_thinking
        return self._template.render(**kwargs)

    def segments(self, row: dict[str, Any], mode: Mode) -> list[tuple[str, bool]]:
        """``(text, trained)`` pieces whose concatenation is the rendered training text."""
        msgs = template_messages(row, mode)
        trained = trained_turns(row, mode)
        offset = 1 if row.get("system") else 0
        out: list[tuple[str, bool]] = []
        prev = self.render(msgs[:offset]) if offset else ""
        if prev:
            out.append((prev, False))
        for k in range(offset, len(msgs)):
            full = self.render(msgs[:k + 1])
            if not full.startswith(prev):
                raise TemplateError("the chat template does not render a conversation as a prefix of its extension")
            delta = full[len(prev):]
            if (k - offset) in trained:
                header = self.render(msgs[:k], add_generation_prompt=True, enable_thinking=True)[len(prev):]
                prompt = self.render(msgs[:k], add_generation_prompt=True,
                                     enable_thinking=mode == "think")[len(prev):]
                end = delta.rfind(END_OF_TURN)
                if not delta.startswith(header) or end < 0:
                    raise TemplateError("an assistant turn does not start with the generation prompt "
                                        f"or lacks {END_OF_TURN}")
                end += len(END_OF_TURN)
                out += [(prompt, False), (delta[len(header):end], True)]
                if delta[end:]:
                    out.append((delta[end:], False))
            else:
                out.append((delta, False))
            prev = full
        return out

    def text(self, row: dict[str, Any], mode: Mode) -> str:
        return "".join(t for t, _ in self.segments(row, mode))


def template_messages(row: dict[str, Any], mode: Mode) -> list[dict[str, Any]]:
    """The conversation as template input: reasoning as ``reasoning_content`` in think mode only."""
    out: list[dict[str, Any]] = [{"role": "system", "content": row["system"]}] if row.get("system") else []
    for m in row["messages"]:
        msg: dict[str, Any] = {"role": m["role"], "content": m["content"]}
        if m["role"] == "assistant":
            if mode == "think" and m.get("reasoning"):
                msg["reasoning_content"] = m["reasoning"]
            if m.get("tool_calls"):
                msg["tool_calls"] = json.loads(m["tool_calls"])
        out.append(msg)
    return out


def trained_turns(row: dict[str, Any], mode: Mode) -> set[int]:
    """Indexes (in ``row["messages"]``) of the assistant turns that carry loss."""
    return {i for i, m in enumerate(row["messages"]) if m["role"] == "assistant"
            and (mode == "non_think" or m.get("reasoning"))}
