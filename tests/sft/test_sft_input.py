"""Readers and structural validation of chat records: every bad input is a named, counted rejection."""

from __future__ import annotations

import json

import pytest

from sft.build import read_and_validate
from sft.config import load_sft_job
from sft.readers import Rejected, parse_record, read_jsonl
from sft.validate import check


def _msgs(*pairs: tuple[str, str]) -> dict:
    return {"messages": [{"role": r, "content": c} for r, c in pairs]}


def test_openai_reasoning_fields_and_content_parts():
    row = parse_record({"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "2+2"}, {"type": "text", "text": "?"}]},
        {"role": "assistant", "content": "4", "reasoning_content": " two plus two "},
        {"role": "user", "content": "and 3+3?"},
        {"role": "assistant", "content": "6", "reasoning": "three plus three"},
    ]}, "openai")
    assert row["system"] == "Be brief."
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "user", "assistant"]
    assert row["messages"][0]["content"] == "2+2?"
    assert row["messages"][1]["reasoning"] == "two plus two"
    assert row["messages"][3]["reasoning"] == "three plus three"
    assert check(row) is None


def test_sharegpt_roles_and_inline_think_block():
    row = parse_record({"conversations": [
        {"from": "system", "value": "시스템"}, {"from": "human", "value": "안녕?"},
        {"from": "gpt", "value": "<think>\n인사에 답한다\n</think>\n\n안녕하세요!"}]}, "sharegpt")
    assert row["system"] == "시스템"
    last = row["messages"][-1]
    assert (last["content"], last["reasoning"]) == ("안녕하세요!", "인사에 답한다")


def test_tool_calls_are_normalised_json():
    row = parse_record({"messages": [
        {"role": "user", "content": "weather in Seoul?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Seoul\"}"}}]},
        {"role": "tool", "content": "{\"temp\": 3}"},
        {"role": "assistant", "content": "3 degrees."}]}, "openai")
    assert json.loads(row["messages"][1]["tool_calls"]) == [{"name": "weather", "arguments": {"city": "Seoul"}}]
    assert check(row) is None


@pytest.mark.parametrize("obj, reason", [
    ({"messages": "x"}, "malformed_messages"),
    ({"messages": []}, "malformed_messages"),
    ({"messages": [{"content": "no role"}]}, "malformed_message"),
    ({"messages": [{"role": "user", "content": 3}]}, "malformed_message"),
    ({"messages": [{"role": "narrator", "content": "x"}]}, "unknown_role"),
    ({"conversations": [{"from": "alien", "value": "x"}]}, "unknown_role"),
    ({"messages": [{"role": "user", "content": "q", "reasoning": "r"}]}, "malformed_message"),
    ({"messages": [{"role": "assistant", "content": "", "tool_calls": [{"name": 3}]}]}, "malformed_tool_calls"),
    ({"system": "a", "messages": [{"role": "system", "content": "b"}]}, "system_twice"),
])
def test_parse_rejections(obj, reason):
    with pytest.raises(Rejected) as info:
        parse_record(obj, "auto")
    assert info.value.reason == reason


@pytest.mark.parametrize("obj, reason", [
    (_msgs(("assistant", "hi")), "roles_out_of_order"),
    (_msgs(("user", "a"), ("assistant", "b"), ("assistant", "c")), "roles_out_of_order"),
    (_msgs(("user", "a"), ("user", "b"), ("assistant", "c")), "roles_out_of_order"),
    (_msgs(("user", "a"), ("tool", "b"), ("assistant", "c")), "roles_out_of_order"),
    (_msgs(("user", "a"), ("assistant", "b"), ("user", "c")), "no_final_assistant"),
    (_msgs(("user", "a"), ("system", "s"), ("assistant", "c")), "system_not_first"),
    (_msgs(("user", "a"), ("assistant", "  ")), "empty_assistant"),
    (_msgs(("user", " "), ("assistant", "b")), "empty_user"),
    (_msgs(("user", "say <|end_of_turn|>"), ("assistant", "b")), "control_token_in_text"),
    (_msgs(("user", "a"), ("assistant", "<think>x</think>")), "empty_assistant"),
    ({"system": "s"}, "no_turns"),
])
def test_structure_rejections(obj, reason):
    obj = {"messages": [], **obj} if "messages" not in obj else obj
    try:
        row = parse_record(obj, "openai")
    except Rejected:
        assert reason == "no_turns"  # an empty message list is malformed before validation
        return
    assert check(row) == reason


def test_pii_placeholders_are_not_control_tokens():
    row = parse_record(_msgs(("user", "call <|pii:phone|>"), ("assistant", "ok")), "openai")
    assert check(row) is None


def test_every_line_is_counted(tmp_path):
    lines = [json.dumps(_msgs(("user", "q1"), ("assistant", "a1"))), "{broken",
             json.dumps(_msgs(("user", "q2"), ("assistant", "a2"), ("assistant", "a3"))),
             json.dumps({"id": 7, **_msgs(("user", "q3"), ("assistant", "a3"))}),
             json.dumps({"id": 7, **_msgs(("user", "q4"), ("assistant", "a4"))}), ""]
    p = tmp_path / "x.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(list(read_jsonl(p, "s"))) == 5  # the blank line is not a record
    rows, rejects, (read, valid) = read_and_validate([(p, "s", "auto")])
    assert read.docs_in == 5 and read.kept == 3 and read.rejected == {"malformed_json": 1, "duplicate_id": 1}
    assert valid.docs_in == 3 and valid.kept == 2 and valid.rejected == {"roles_out_of_order": 1}
    assert read.balanced() and valid.balanced()
    assert len(rows) + len(rejects) == 5


def test_job_errors_name_the_key(tmp_path):
    from core.config import JobError

    p = tmp_path / "j.yaml"
    p.write_text("name: x\noutput_dir: o\ninputs: [{embedded: sft_demo, source: s}]\n"
                 "mix: {budget: 10, groups: [{name: a, share: 0.5}], think_shar: 0.3}\n")
    with pytest.raises(JobError, match="mix.think_shar"):
        load_sft_job(p)
    p.write_text("name: x\noutput_dir: o\ninputs: [{embedded: sft_demo, source: s}]\n"
                 "mix: {budget: 10, groups: [{name: a, share: 0.7}, {name: b, share: 0.7}]}\n")
    with pytest.raises(JobError, match="more than 1"):
        load_sft_job(p)
