"""Conversation curation with the existing stages, run on flattened text views and mapped back.

* ``langid``: one document per conversation, the user and assistant contents joined; the label
  becomes the conversation's ``language``, a rejection rejects the conversation.
* ``pii``: one document per message field (system prompt, each content, reasoning); scrubbed texts
  replace the originals, a PII rejection rejects the whole conversation.
* ``exact_dedup`` / ``minhash_dedup``: one document per conversation, the prompt view (system
  prompt and user turns), so two conversations asking the same thing keep one answer.

Each step returns conversation-level ``StageStats`` (in = kept + rejected + errors); the stage's own
per-document counters travel in ``extra``.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.executors import LocalContext
from core.schema import REJECT_COLUMN
from core.stage import GlobalStage, Stage, apply_stage
from core.stats import StageStats
from sft.schema import CONVERSATION_SCHEMA, dialogue_text, prompt_text
from stages.dedup import ExactDedup, MinHashDedup
from stages.langid import LangIDStage
from stages.pii import PiiStage

log = logging.getLogger(__name__)

_DEDUP: dict[str, type[GlobalStage]] = {"exact_dedup": ExactDedup, "minhash_dedup": MinHashDedup}

Rejects = list[tuple[dict[str, Any], str, str]]  # (conversation row, stage, reason)


def _doc_table(ids: list[str], texts: list[str], sources: list[str]) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.string()), "text": pa.array(texts, pa.string()),
                     "source": pa.array(sources, pa.string())})


def _merge_extra(into: StageStats, inner: StageStats) -> None:
    for k, v in inner.extra.items():
        into.add(k, v)
    for k, v in inner.rejected.items():
        into.add(f"documents_rejected.{k}", v)


def run_langid(rows: list[dict[str, Any]], config: dict[str, Any]) -> tuple[list[dict], Rejects, StageStats]:
    """Label each conversation's language; reject per the langid config."""
    stage = LangIDStage(config)
    assert isinstance(stage, Stage)
    st = StageStats("langid", docs_in=len(rows))
    inner = StageStats("langid")
    docs = _doc_table([r["id"] for r in rows], [dialogue_text(r) for r in rows], [r["source"] for r in rows])
    res = apply_stage(stage, docs, inner)
    _merge_extra(st, inner)
    langs = dict(zip(res.kept.column("id").to_pylist(), res.kept.column("lang").to_pylist()))
    why: dict[str, str] = {}
    if res.rejected is not None:
        why = dict(zip(res.rejected.column("id").to_pylist(), res.rejected.column(REJECT_COLUMN).to_pylist()))
    kept, rejects = [], []
    for r in rows:
        if r["id"] in langs:
            kept.append({**r, "language": langs[r["id"]] or r.get("language")})
        else:
            reason = why.get(r["id"], "error:missing")
            bucket = st.errors if reason.startswith("error:") else st.rejected
            bucket[reason.removeprefix("error:")] += 1
            rejects.append((r, "langid", reason))
    st.kept = len(kept)
    return kept, rejects, st


def _fields(row: dict[str, Any]) -> list[tuple[str, str]]:
    out = [("s", row["system"])] if row.get("system") else []
    for i, m in enumerate(row["messages"]):
        out.append((f"c{i}", m["content"]))
        if m.get("reasoning"):
            out.append((f"r{i}", m["reasoning"]))
    return out


def run_pii(rows: list[dict[str, Any]], config: dict[str, Any]) -> tuple[list[dict], Rejects, StageStats]:
    """Scrub every message field; a field the stage rejects rejects its conversation."""
    stage = PiiStage(config)
    assert isinstance(stage, Stage)
    st = StageStats("pii", docs_in=len(rows))
    inner = StageStats("pii")
    ids, texts, sources = [], [], []
    for r in rows:
        for key, text in _fields(r):
            ids.append(f"{r['id']}/{key}")
            texts.append(text)
            sources.append(r["source"])
    res = apply_stage(stage, _doc_table(ids, texts, sources), inner)
    _merge_extra(st, inner)
    scrubbed = dict(zip(res.kept.column("id").to_pylist(), res.kept.column("text").to_pylist()))
    bad: dict[str, str] = {}
    if res.rejected is not None:
        for fid, reason in zip(res.rejected.column("id").to_pylist(),
                               res.rejected.column(REJECT_COLUMN).to_pylist()):
            bad.setdefault(fid.split("/", 1)[0], reason)
    kept, rejects = [], []
    for r in rows:
        if r["id"] in bad:
            reason = bad[r["id"]]
            bucket = st.errors if reason.startswith("error:") else st.rejected
            bucket[reason.removeprefix("error:")] += 1
            rejects.append((r, "pii", reason))
            continue
        new = {**r, "messages": [dict(m) for m in r["messages"]]}
        if r.get("system"):
            new["system"] = scrubbed[f"{r['id']}/s"]
        for i, m in enumerate(new["messages"]):
            m["content"] = scrubbed[f"{r['id']}/c{i}"]
            if m.get("reasoning"):
                m["reasoning"] = scrubbed[f"{r['id']}/r{i}"]
        if new != r:
            st.add("conversations_scrubbed")
        kept.append(new)
    st.kept = len(kept)
    return kept, rejects, st


def run_dedup(name: str, rows: list[dict[str, Any]], config: dict[str, Any], work: Path, seed: int,
              workers: int) -> tuple[list[dict], Rejects, StageStats]:
    """Exact or MinHash dedup of the prompt views with the global stage; keeps the first of a group."""
    stage = _DEDUP[name]({"keep": "first", **config})
    assert isinstance(stage, GlobalStage)
    shutil.rmtree(work, ignore_errors=True)
    (work / "in").mkdir(parents=True)
    docs = _doc_table([r["id"] for r in rows], [prompt_text(r) for r in rows], [r["source"] for r in rows])
    pq.write_table(docs, work / "in" / "part-00000.parquet")
    ctx = LocalContext(max(1, workers), seed, work / "scratch")
    (work / "out").mkdir()
    stats = stage.run([work / "in" / "part-00000.parquet"], work / "out", work / "rejects", ctx)
    kept_ids = set(pq.read_table(work / "out" / "part-00000.parquet", columns=["id"]).column("id").to_pylist())
    why: dict[str, str] = {}
    for p in sorted((work / "rejects").rglob("*.parquet")):
        t = pq.read_table(p, columns=["id", REJECT_COLUMN])
        why.update(zip(t.column("id").to_pylist(), t.column(REJECT_COLUMN).to_pylist()))
    st = StageStats(name, docs_in=len(rows))
    for inner in stats:
        for k, v in inner.extra.items():
            st.add(k, v)
    kept, rejects = [], []
    for r in rows:
        if r["id"] in kept_ids:
            kept.append(r)
        else:
            reason = why.get(r["id"], "missing_from_output")
            st.rejected[reason] += 1
            rejects.append((r, name, reason))
    st.kept = len(kept)
    shutil.rmtree(work, ignore_errors=True)
    return kept, rejects, st


def curate(rows: list[dict[str, Any]], cfg: Any, work: Path, seed: int,
           workers: int) -> tuple[list[dict], Rejects, list[StageStats]]:
    """Run the configured steps in order: langid, pii, exact_dedup, minhash_dedup."""
    rejects: Rejects = []
    stats: list[StageStats] = []
    for name in ("langid", "pii", "exact_dedup", "minhash_dedup"):
        options = getattr(cfg, name)
        if options is None:
            continue
        if name == "langid":
            rows, rej, st = run_langid(rows, options)
        elif name == "pii":
            rows, rej, st = run_pii(rows, options)
        else:
            rows, rej, st = run_dedup(name, rows, options, work / name, seed, workers)
        log.info("%s: %d in, %d kept", name, st.docs_in, st.kept)
        rejects += rej
        stats.append(st)
    return rows, rejects, stats


def to_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=CONVERSATION_SCHEMA)
