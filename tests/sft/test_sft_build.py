"""``axk1 sft build`` on the generated demo: funnel, template round trip, loss masks, mix, determinism."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer

from core.sft_shards import SFTShardError, read_sft_shard
from sft.build import build
from sft.config import MixSection, load_sft_job
from sft.mix import mix
from sft.render import ChatRenderer, load_template, template_messages
from sft.schema import prompt_text
from tests.conftest import REPO, shared_path

DEMO_JOB = REPO / "jobs" / "sft_demo.yaml"


def _job(out: Path, **over):
    return load_sft_job(DEMO_JOB, {"output_dir": str(out), **over})


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("sft_demo")
    summary = build(_job(out))
    return out, summary


def _shard_conversations(shard_dir: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    manifest = json.loads((shard_dir / "manifest.json").read_text())
    out = []
    for s in manifest["shards"]:
        shard = read_sft_shard(shard_dir / s["prefix"])
        out += [shard.conversation(c) for c in range(shard.offsets.size - 1)]
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def test_funnel_accounts_for_every_record(demo):
    out, summary = demo
    fun = summary["funnel"]
    assert all(s["balanced"] for s in fun["stages"])
    by = {s["stage"]: s for s in fun["stages"]}
    reasons = Counter()
    for s in fun["stages"]:
        reasons.update(s["rejected"])
    for r in ("malformed_json", "unknown_role", "malformed_messages", "malformed_message", "roles_out_of_order",
              "no_final_assistant", "system_not_first", "empty_assistant", "control_token_in_text",
              "lang_not_kept", "exact_duplicate", "near_duplicate", "too_long"):
        assert reasons[r] > 0, r
    # the chain: each step's input is the previous step's output, up to the mixer
    chain = ["read", "validate", "langid", "pii", "exact_dedup", "minhash_dedup", "mix"]
    for a, b in zip(chain, chain[1:]):
        assert by[a]["kept"] == by[b]["docs_in"]
    assert by["pack"]["docs_in"] == summary["mix"]["examples"]
    rejects = pq.read_table(out / "curated" / "rejects.parquet")
    kept = pq.read_table(out / "curated" / "conversations.parquet")
    assert rejects.num_rows + kept.num_rows == fun["records_in"]
    assert by["pii"]["extra"].get("conversations_scrubbed", 0) > 0
    assert "010-1234-5678" not in json.dumps(kept.to_pylist(), ensure_ascii=False)


def test_template_matches_transformers(demo):
    transformers = pytest.importorskip("transformers")
    out, summary = demo
    hf = transformers.AutoTokenizer.from_pretrained(summary["tokenizer"])
    r = ChatRenderer(load_template(summary["tokenizer"]))
    rows = pq.read_table(out / "curated" / "conversations.parquet").to_pylist()[:40]
    tool_row = {"system": "S", "messages": [
        {"role": "user", "content": "weather?", "reasoning": None, "tool_calls": None},
        {"role": "assistant", "content": "", "reasoning": "call it",
         "tool_calls": json.dumps([{"name": "weather", "arguments": {"city": "서울"}}])},
        {"role": "tool", "content": "{\"t\": 3}", "reasoning": None, "tool_calls": None},
        {"role": "assistant", "content": "3도입니다.", "reasoning": "read it", "tool_calls": None}]}
    for row in [*rows, tool_row]:
        for mode in ("think", "non_think"):
            msgs = template_messages(row, mode)
            assert r.render(msgs) == hf.apply_chat_template(msgs, tokenize=False)
            for flag in (True, False):
                assert r.render(msgs[:-1], True, flag) == hf.apply_chat_template(
                    msgs[:-1], tokenize=False, add_generation_prompt=True, enable_thinking=flag)
        # think mode with reasoning on every assistant turn is the template's own full rendering
        if all(m["reasoning"] for m in row["messages"] if m["role"] == "assistant"):
            assert r.text(row, "think") == hf.apply_chat_template(template_messages(row, "think"), tokenize=False)
        # non-think: the template's generation prompt with the empty think block, then the answer
        msgs = template_messages(row, "non_think")
        prompt = hf.apply_chat_template(msgs[:-1], tokenize=False, add_generation_prompt=True, enable_thinking=False)
        assert r.text(row, "non_think").endswith(prompt[-40:] + msgs[-1]["content"] + "<|end_of_turn|>\n")
        assert "<think>\n\n</think>\n\n" in prompt


def test_shards_decode_to_rendered_text_and_mask_covers_assistant_spans(demo):
    out, summary = demo
    tok = Tokenizer.from_file(str(Path(summary["tokenizer"]) / "tokenizer.json"))
    renderer = ChatRenderer(load_template(summary["tokenizer"]))
    convs = {r["id"]: r for r in pq.read_table(out / "curated" / "conversations.parquet").to_pylist()}
    examples, _, _ = mix(list(convs.values()), _job(out).mix, 0)
    expected = Counter()
    for ex in examples:
        segs = renderer.segments(ex, ex["mode"])
        expected[("".join(t for t, _ in segs), tuple(t for t, trained in segs if trained))] += 1
    got = Counter()
    for ids, mask in _shard_conversations(out / "shards"):
        text = tok.decode(ids.tolist(), skip_special_tokens=False)
        spans = tuple(tok.decode(ids[a:b].tolist(), skip_special_tokens=False) for a, b in _runs(mask))
        got[(text, spans)] += 1
    too_long = summary["funnel"]["stages"][-1]["rejected"]["too_long"]
    assert sum(got.values()) == len(examples) - too_long
    assert not got - expected  # every packed conversation is exactly a rendered example
    # masks: system/user text never trained; every trained span ends the assistant turn
    think = [s for (text, spans) in got for s in spans if "<think>" in text and s.startswith("<think>\n")]
    assert think and all("</think>" in s for s in think)
    for (text, spans) in got:
        assert all(s.endswith("<|end_of_turn|>") and "<|user|>" not in s and "<|system|>" not in s for s in spans)
        if "<think>\n\n</think>" in text:  # non-think: the empty block is prompt, never trained
            assert not any("<think>" in s for s in spans)


def test_rows_hold_whole_conversations(demo):
    out, summary = demo
    manifest = summary["manifest"]
    cap = manifest["row_tokens"]
    for s in manifest["shards"]:
        shard = read_sft_shard(out / "shards" / s["prefix"])
        for r in range(shard.rows):
            toks, mask, lens = shard.row(r)
            assert toks.size <= cap and lens.sum() == toks.size and lens.min() > 0
    assert manifest["fill"] > 0.8


def test_mix_modes_and_budgets(demo):
    out, summary = demo
    m = summary["mix"]
    assert abs(m["think_share"] - 0.4) < 0.02
    assert set(m["by_language"]) == {"ko", "en"}
    rows = pq.read_table(out / "curated" / "conversations.parquet").to_pylist()
    examples, st, _ = mix(rows, _job(out).mix, 0)
    assert st.balanced()
    modes: dict[str, set[str]] = {}
    for e in examples:
        modes.setdefault(prompt_text(e), set()).add(e["mode"])
        if e["mode"] == "think":
            assert e["messages"][-1]["reasoning"]
    assert all(len(v) == 1 for v in modes.values())  # never one prompt in both modes
    both, _, _ = mix(rows, MixSection(**{**_job(out).mix.model_dump(), "both_modes": True}), 0)
    mixed = Counter()
    for e in both:
        mixed[prompt_text(e)] |= 1 << (e["mode"] == "think")
    assert 3 in mixed.values()  # asked for: some repeated prompts appear in both modes
    tight = MixSection(budget=2000, think_share=0.9, groups=[{"name": "all", "share": 1.0, "max_epochs": 1}])
    ex, _, summ = mix(rows, tight, 0)
    assert summ["groups"]["all"]["shortfall"] == 2000 - len(rows) and summ["think_shortfall"] > 0
    shuffled, _, _ = mix(rows[::-1], _job(out).mix, 0)
    assert [(e["id"], e["copy"], e["mode"]) for e in shuffled] == [(e["id"], e["copy"], e["mode"]) for e in examples]


def _digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())
            if p.is_file() and p.name != "_done.json"}  # the step stamp names the input paths


def test_same_seed_same_bytes_and_resume(demo, tmp_path):
    out, _ = demo
    second = tmp_path / "again"
    build(_job(second))
    assert _digest(out / "shards") == _digest(second / "shards")
    before = {p: p.stat().st_mtime_ns for p in (second / "shards").iterdir()}
    build(_job(second))  # nothing changed: every step is skipped
    assert before == {p: p.stat().st_mtime_ns for p in (second / "shards").iterdir()}
    build(_job(second, seed=1))
    assert _digest(out / "shards") != _digest(second / "shards")


def test_truncated_shard_is_refused(demo, tmp_path):
    out, _ = demo
    src = out / "shards" / "part-00000"
    for suffix in (".bin", ".idx", ".mask.bin"):
        (tmp_path / f"p{suffix}").write_bytes(Path(f"{src}{suffix}").read_bytes())
    (tmp_path / "p.mask.bin").write_bytes((tmp_path / "p.mask.bin").read_bytes()[:-1])
    with pytest.raises(SFTShardError, match="mask file"):
        read_sft_shard(tmp_path / "p")


def test_real_korean_chatbot_pairs(tmp_path):
    """Korean chatbot Q/A pairs (public data) through the whole build, when the folder is present."""
    src = shared_path("D4_songys_chatbot_data", "ChatbotData.csv")
    with open(src, encoding="utf-8") as fh:
        pairs = [(r["Q"], r["A"]) for r in csv.DictReader(fh)][:1500]
    lines = [json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]},
                        ensure_ascii=False) for q, a in pairs]
    (tmp_path / "chat.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = load_sft_job(DEMO_JOB, {
        "output_dir": str(tmp_path / "run"), "inputs": [{"paths": [str(tmp_path / "chat.jsonl")], "source": "songys"}],
        "mix": {"budget": 800, "think_share": 0.3, "groups": [{"name": "ko", "where": {"language": ["ko"]}, "share": 1.0}]},
        "curate": {"langid": {"keep_languages": ["ko"]}, "pii": {}, "exact_dedup": {}, "minhash_dedup": None}})
    summary = build(job)
    fun = summary["funnel"]
    assert fun["records_in"] == len(pairs) and all(s["balanced"] for s in fun["stages"])
    by = {s["stage"]: s for s in fun["stages"]}
    assert by["exact_dedup"]["rejected"].get("exact_duplicate", 0) > 0  # the set repeats some questions
    assert summary["mix"]["think"] == 0  # no reasoning in this data: every example is non-think
    assert summary["mix"]["think_shortfall"] > 0
    assert summary["manifest"]["rows"] > 0


def test_cli_and_report(demo, capsys):
    from pipeline.cli import main

    out, summary = demo
    assert main(["sft", "build", str(DEMO_JOB), "--output-dir", str(out)]) == 0  # finished steps are reused
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["examples"] == summary["mix"]["examples"] and printed["rows"] == summary["manifest"]["rows"]
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["mix"]["think"] + report["mix"]["non_think"] == report["mix"]["examples"]
    hist = report["length_histograms"]
    assert sum(hist["think"]["counts"]) + sum(hist["non_think"]["counts"]) == summary["manifest"]["conversations"]
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "Think-Fusion mix" in page and "<svg" in page and "too_long" in page
    assert main(["sft", "build", str(out / "missing.yaml")]) == 2


def test_megatron_core_reads_the_token_shards(demo):
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    out, _ = demo
    ours = read_sft_shard(out / "shards" / "part-00000")
    theirs = indexed.IndexedDataset(str(out / "shards" / "part-00000"), mmap=True)
    assert len(theirs) == ours.offsets.size - 1
    assert np.array_equal(theirs.document_indices, ours.row_starts)  # documents are packed rows
    for c in (0, len(theirs) // 2, len(theirs) - 1):
        assert np.array_equal(theirs[c], ours.conversation(c)[0])
