"""``axk1 sft build JOB.yaml``: chat JSONL -> curated conversations -> Think-Fusion mix -> SFT shards.

Steps, each skipped on a rerun when its stamp (config + inputs + upstream) is unchanged:

1. ``curated/``: read and validate every record, then langid, PII, exact and MinHash dedup;
   ``conversations.parquet`` (``sft.schema``), ``rejects.parquet`` (every rejected record with its
   stage and reason) and ``funnel.json``;
2. ``tokenizer/``: only when the job names no tokenizer folder: a small tokenizer trained on the
   curated conversations (demos and tests);
3. ``shards/``: the mix and the packed shards with ``manifest.json``; then ``report/``.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.config import JobError
from core.io import read_json, stamp, write_json_atomic
from core.stats import StageStats, funnel
from sft.config import SFTJob, load_sft_job
from sft.curate import curate
from sft.mix import mix
from sft.pack import ConversationEncoder, pack_examples
from sft.readers import read_jsonl
from sft.render import ChatRenderer, load_template
from sft.schema import CONVERSATION_SCHEMA, REJECT_SCHEMA
from sft.validate import check

log = logging.getLogger(__name__)
DONE = "_done.json"


def _input_files(job: SFTJob) -> list[tuple[Path, str, str]]:
    """(path, source, format) of every input file; the embedded demo is generated under the run."""
    out: list[tuple[Path, str, str]] = []
    for inp in job.inputs:
        if inp.embedded:
            from sft.demo_sample import generate

            paths = generate(job.run_dir / "input" / inp.source, seed=job.seed)
        else:
            paths = sorted({Path(p) for pat in inp.paths for p in glob.glob(pat)})
            if not paths:
                raise JobError(f"inputs: no file matches {inp.paths} (source {inp.source})")
        out += [(p, inp.source, inp.format) for p in paths]
    return out


def _done(step_dir: Path, key: str) -> bool:
    marker = step_dir / DONE
    return marker.is_file() and read_json(marker).get("stamp") == key


def _reject_rows(rejects: list[tuple[Any, str, str]]) -> list[dict[str, Any]]:
    rows = []
    for rec, stage, reason in rejects:
        if isinstance(rec, dict):
            raw = json.dumps({k: rec.get(k) for k in ("system", "messages", "language")}, ensure_ascii=False)
            rows.append({"id": rec["id"], "source": rec["source"], "reject_stage": stage,
                         "reject_reason": reason, "raw": raw})
        else:
            rows.append({"id": rec.id, "source": rec.source, "reject_stage": stage,
                         "reject_reason": reason, "raw": rec.raw})
    return rows


def read_and_validate(files: list[tuple[Path, str, str]]) -> tuple[list[dict], list, list[StageStats]]:
    """Parse and check every record; every line is counted in ``read`` then ``validate``."""
    read, valid = StageStats("read"), StageStats("validate")
    rows: list[dict[str, Any]] = []
    rejects: list[tuple[Any, str, str]] = []
    seen: set[str] = set()
    for path, source, fmt in files:
        for rec in read_jsonl(path, source, fmt):  # type: ignore[arg-type]
            read.docs_in += 1
            if rec.reason:
                read.rejected[rec.reason] += 1
                rejects.append((rec, "read", rec.reason))
                continue
            if rec.id in seen:
                read.rejected["duplicate_id"] += 1
                rejects.append((rec, "read", "duplicate_id"))
                continue
            seen.add(rec.id)
            read.kept += 1
            valid.docs_in += 1
            assert rec.row is not None
            try:
                reason = check(rec.row)
            except Exception as exc:  # an unforeseen shape is an error with its kind, not a crash
                valid.errors[type(exc).__name__] += 1
                rejects.append((rec, "validate", f"error:{type(exc).__name__}"))
                continue
            if reason:
                valid.rejected[reason] += 1
                rejects.append((rec, "validate", reason))
            else:
                valid.kept += 1
                rows.append(rec.row)
    return rows, rejects, [read, valid]


def _curate_step(job: SFTJob, files: list[tuple[Path, str, str]]) -> Path:
    out = job.run_dir / "curated"
    key = stamp("curate", job.curate.model_dump(mode="json"), job.seed,
                [(str(p), p.stat().st_size, p.stat().st_mtime_ns, s, f) for p, s, f in files])
    if _done(out, key):
        log.info("curated conversations are up to date: %s", out)
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows, rejects, stats = read_and_validate(files)
    rows, more, cstats = curate(rows, job.curate, job.run_dir / "scratch", job.seed, job.workers)
    rows.sort(key=lambda r: r["id"])
    pq.write_table(pa.Table.from_pylist(rows, schema=CONVERSATION_SCHEMA), out / "conversations.parquet",
                   compression="zstd")
    pq.write_table(pa.Table.from_pylist(_reject_rows(rejects + more), schema=REJECT_SCHEMA),
                   out / "rejects.parquet", compression="zstd")
    write_json_atomic([s.to_dict() for s in stats + cstats], out / "stats.json")
    write_json_atomic({"stamp": key}, out / DONE)
    return out


def _tokenizer_step(job: SFTJob, curated: Path) -> Path:
    if job.tokenizer.dir:
        d = Path(job.tokenizer.dir)
        if not (d / "tokenizer.json").is_file():
            raise JobError(f"tokenizer.dir: no tokenizer.json in {d}")
        return d
    from tokenizer.config import TrainConfig
    from tokenizer.train import train_tokenizer

    out = job.run_dir / "tokenizer"
    key = stamp("tokenizer", read_json(curated / DONE)["stamp"], job.tokenizer.train_vocab_size)
    if _done(out, key):
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    convs = pq.read_table(curated / "conversations.parquet").to_pylist()
    texts = ["\n".join([c["system"] or ""] + [t for m in c["messages"] for t in (m["content"], m["reasoning"] or "")])
             for c in convs]
    corpus = out / "corpus.parquet"
    pq.write_table(pa.table({"id": [c["id"] for c in convs], "text": texts}), corpus)
    train_tokenizer(TrainConfig(inputs=[str(corpus)], output_dir=str(out), vocab_size=job.tokenizer.train_vocab_size,
                                holdout_fraction=0.0, seed=job.seed))
    corpus.unlink()
    write_json_atomic({"stamp": key}, out / DONE)
    return out


def build(job: SFTJob) -> dict[str, Any]:
    """Run every step of the job; return a summary (paths, funnel, mix)."""
    files = _input_files(job)
    curated = _curate_step(job, files)
    tok_dir = _tokenizer_step(job, curated)
    shards = job.run_dir / "shards"
    tok_key = read_json(tok_dir / DONE)["stamp"] if (tok_dir / DONE).is_file() else str(tok_dir)
    key = stamp("shards", read_json(curated / DONE)["stamp"], tok_key, job.mix.model_dump(mode="json"),
                job.pack.model_dump(mode="json"), job.seed)
    if not _done(shards, key):
        shutil.rmtree(shards, ignore_errors=True)
        convs = pq.read_table(curated / "conversations.parquet").to_pylist()
        examples, mix_stats, mix_summary = mix(convs, job.mix, job.seed)
        encoder = ConversationEncoder(tok_dir, ChatRenderer(load_template(tok_dir)))
        pack_stats, pack_rejects, packed = pack_examples(examples, encoder, job.pack, shards)
        write_json_atomic({"mix": mix_summary, "stats": [mix_stats.to_dict(), pack_stats.to_dict()],
                           "lengths": packed["lengths"]}, shards / "mix.json")
        pq.write_table(pa.Table.from_pylist(_reject_rows(pack_rejects), schema=REJECT_SCHEMA),
                       shards / "rejects.parquet", compression="zstd")
        write_json_atomic({"stamp": key}, shards / DONE)
    stats = [StageStats.from_dict(d) for d in read_json(curated / "stats.json")]
    mixed = read_json(shards / "mix.json")
    stats += [StageStats.from_dict(d) for d in mixed["stats"]]
    fun = funnel(stats)
    write_json_atomic(fun, job.run_dir / "funnel.json")
    from sft.report import write_report

    summary = {"name": job.name, "run_dir": str(job.run_dir), "shards": str(shards), "tokenizer": str(tok_dir),
               "funnel": fun, "mix": mixed["mix"], "manifest": read_json(shards / "manifest.json"),
               "lengths": mixed["lengths"]}
    write_report(summary, job.run_dir / "report")
    return summary


def main(argv: list[str] | None = None) -> int:
    """``axk1 sft build JOB.yaml [--output-dir DIR]``."""
    p = argparse.ArgumentParser(prog="axk1 sft", description="SFT data: curate, mix and pack chat data")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build packed SFT shards from a job file")
    b.add_argument("job")
    b.add_argument("--output-dir", help="override the job's output_dir")
    args = p.parse_args(argv)
    try:
        job = load_sft_job(args.job, {"output_dir": args.output_dir} if args.output_dir else None)
        summary = build(job)
    except JobError as exc:
        log.error("%s", exc)
        return 2
    m = summary["manifest"]
    print(json.dumps({"run_dir": summary["run_dir"], "records_in": summary["funnel"]["records_in"],
                      "examples": summary["mix"]["examples"], "think": summary["mix"]["think"],
                      "rows": m["rows"], "tokens": m["tokens"], "loss_tokens": m["loss_tokens"],
                      "fill": m["fill"]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
