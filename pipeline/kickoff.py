"""End-to-end kickoff: curation -> mixing -> tokenizer -> packing -> pretraining -> report.

A job file with ``tokenizer``, ``pack`` and ``pretrain`` sections (see ``jobs/pretrain_kickoff.yaml``)
runs every step after curation. Each step writes ``_step.json`` with a stamp: the hash of its own
config and of the stamps of the steps it reads. A rerun skips a step whose stamp is unchanged and
whose outputs exist, and reruns it (and everything after it) when its inputs or config changed.
Paths inside the sections default to folders of the run directory.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from core import fs, mirror
from core.io import read_json, stamp, write_json_atomic
from core.runlock import run_lock
from pipeline.job import JobConfig, JobError
from pipeline.runner import RunResult, check_run_dir, run_job

log = logging.getLogger(__name__)


class TorchrunSpec(BaseModel):
    """How to launch the trainer on many GPUs; ``nproc_per_node: 1`` trains in-process."""

    model_config = ConfigDict(extra="forbid")
    nproc_per_node: int = Field(1, ge=1)
    nnodes: int = Field(1, ge=1)
    rdzv_endpoint: str | None = Field(None, description="host:port of the rendezvous (multi-node)")


def _step_done(step_dir: Path, want: str, outputs: list[Path]) -> bool:
    marker = step_dir / "_step.json"
    return marker.exists() and read_json(marker).get("stamp") == want and all(p.exists() for p in outputs)


def _run_step(name: str, step_dir: Path, want: str, outputs: list[Path], fn: Callable[[], Any],
              clean: bool = True) -> bool:
    """Run ``fn`` unless the step is up to date; returns True when it ran."""
    if _step_done(step_dir, want, outputs):
        log.info("step %s: up to date (stamp %s), skipped", name, want)
        return False
    if clean and step_dir.exists():
        shutil.rmtree(step_dir)  # stale outputs of another config/input
    step_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log.info("step %s: running", name)
    fn()
    write_json_atomic({"stamp": want, "seconds": round(time.perf_counter() - t0, 2)}, step_dir / "_step.json")
    return True


def corpus_stamp(result: RunResult) -> str:
    manifest = read_json(result.run_dir / "manifest.json")
    return stamp("corpus", manifest["files"], manifest.get("mix"))


def tokenizer_config(job: JobConfig, corpus: Path) -> Any:
    from tokenizer.config import TrainConfig

    section = dict(job.tokenizer or {})
    section.setdefault("inputs", [str(corpus)])
    section.setdefault("output_dir", str(job.run_dir / "tokenizer"))
    section.setdefault("seed", job.seed)
    return TrainConfig(**section)


def pack_config(job: JobConfig, corpus: Path, tokenizer_dir: Path) -> Any:
    from tokenizer.pack import PackConfig

    section = dict(job.pack or {})
    section.setdefault("inputs", [str(corpus)])
    section.setdefault("output_dir", str(job.run_dir / "shards"))
    section.setdefault("tokenizer", str(tokenizer_dir))
    section.setdefault("source_column", "mix_source")
    section.setdefault("workers", job.workers)
    section.setdefault("executor", job.executor)
    return PackConfig(**section)


def pretrain_job(job: JobConfig, shards: Path, vocab_size: int) -> Any:
    """The trainer job: data prefixes from the packing manifest, weighted by their tokens."""
    from trainer.job import PretrainJob

    section = json.loads(json.dumps(job.pretrain or {}))
    data = section.setdefault("data", {})
    if not data.get("synthetic") and not data.get("prefixes"):
        manifest = read_json(shards / "manifest.json")
        prefixes, weights = [], []
        for src in manifest["sources"].values():
            for f in src["files"]:
                if f["tokens"] > 0:
                    prefixes.append(str(shards / f["prefix"]))
                    weights.append(float(f["tokens"]))
        data["prefixes"], data["weights"] = prefixes, weights
    model = section.setdefault("model", {})
    overrides = model.setdefault("overrides", {})
    overrides.setdefault("vocab_size", vocab_size)
    section.setdefault("checkpoint_dir", str(job.run_dir / "train"))
    section.setdefault("seed", job.seed)
    return PretrainJob(**section)


def run_kickoff(job: JobConfig, executor: str | None = None) -> dict[str, Any]:
    """Run curation and every downstream step the job declares; return where each output is.
    Holds the run directory's lock throughout (the curation run inside shares it).

    With ``output_dir`` on a bucket every step runs in the local staging folder; a finished step's
    folder is uploaded (its ``_step.json`` last), and a rerun first fetches the steps the bucket
    holds as finished, so it skips them as a local rerun would."""
    check_run_dir(job.run_dir)
    with run_lock(job.run_dir):
        try:
            return _run_kickoff(job, executor)
        except fs.StorageError as exc:
            raise JobError(str(exc)) from None


def _run_kickoff(job: JobConfig, executor: str | None) -> dict[str, Any]:
    result = run_job(job.model_copy(update={"report": False}), executor=executor)
    url = job.output_url

    def publish(step_dir: Path) -> None:
        if url is not None:
            mirror.publish_step(result.run_dir, url, step_dir)

    if url is not None:
        for name in ("tokenizer", "shards", "train"):
            mirror.pull_step(result.run_dir, url, name)
    corpus = result.output_dir
    outputs: dict[str, Any] = {"run_dir": str(result.run_dir), "corpus": str(corpus)}
    upstream = corpus_stamp(result)
    if job.tokenizer is not None:
        from tokenizer.train import train_tokenizer

        cfg = tokenizer_config(job, corpus)
        tok_dir = Path(cfg.output_dir)
        upstream = stamp("tokenizer", cfg.model_dump(mode="json"), upstream)
        _run_step("tokenizer", tok_dir, upstream, [tok_dir / "tokenizer.json"], lambda: train_tokenizer(cfg))
        _evaluate_tokenizer(job, corpus, tok_dir, upstream)
        publish(tok_dir)
        outputs["tokenizer"] = str(tok_dir)
        if job.pack is not None:
            from tokenizer.pack import pack

            pcfg = pack_config(job, corpus, tok_dir)
            shards = Path(pcfg.output_dir)
            upstream = stamp("pack", pcfg.model_dump(mode="json"), upstream)
            _run_step("pack", shards, upstream, [shards / "manifest.json"], lambda: pack(pcfg))
            publish(shards)
            outputs["shards"] = str(shards)
            if job.pretrain is not None:
                from tokenizer.api import load_tokenizer

                vocab = load_tokenizer(tok_dir).vocab_size
                pjob = pretrain_job(job, shards, vocab)
                train_dir = Path(pjob.checkpoint_dir)
                want = stamp("pretrain", pjob.model_dump(mode="json"), upstream)
                # no clean: an interrupted run resumes from its last checkpoint
                _run_step("pretrain", train_dir, want, [train_dir / "metrics.jsonl"],
                          lambda: _pretrain(job, pjob, want), clean=not _same_stamp_started(train_dir, want))
                publish(train_dir)
                outputs["train"] = str(train_dir)
    if job.report:
        from pipeline.report import build_report

        outputs["report"] = str(build_report(result.run_dir))
    write_json_atomic(outputs, result.run_dir / "kickoff.json")
    if url is not None:
        mirror.publish_tree(result.run_dir, url, ["kickoff.json", "report"])
    return outputs


def _same_stamp_started(train_dir: Path, want: str) -> bool:
    started = train_dir / "_started.json"
    return started.exists() and read_json(started).get("stamp") == want


def _evaluate_tokenizer(job: JobConfig, corpus: Path, tok_dir: Path, upstream: str) -> None:
    from tokenizer.config import EvalConfig
    from tokenizer.evaluate import evaluate

    section = dict(job.tokenizer_eval or {})
    section.setdefault("inputs", [str(corpus)])
    section.setdefault("tokenizer_dir", str(tok_dir))
    section.setdefault("output", str(tok_dir / "eval.json"))
    section.setdefault("seed", job.seed)
    cfg = EvalConfig(**section)
    want = stamp("tokenizer_eval", cfg.model_dump(mode="json"), upstream)
    marker = tok_dir / "_eval_step.json"
    if marker.exists() and read_json(marker).get("stamp") == want and Path(cfg.output).exists():
        return
    evaluate(cfg)
    write_json_atomic({"stamp": want}, marker)


def _pretrain(job: JobConfig, pjob: Any, want: str) -> None:
    train_dir = Path(pjob.checkpoint_dir)
    train_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic({"stamp": want}, train_dir / "_started.json")
    spec = TorchrunSpec(**(job.torchrun or {}))
    if spec.nproc_per_node == 1 and spec.nnodes == 1:
        from trainer.train import run_pretrain

        run_pretrain(pjob)
        return
    job_file = train_dir / "pretrain.yaml"
    job_file.write_text(yaml.safe_dump(pjob.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    cmd = ["torchrun", f"--nproc-per-node={spec.nproc_per_node}", f"--nnodes={spec.nnodes}"]
    if spec.rdzv_endpoint:
        cmd += ["--rdzv-backend=c10d", f"--rdzv-endpoint={spec.rdzv_endpoint}"]
    cmd += ["-m", "trainer.train", str(job_file)]
    log.info("launching %s", " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=sys.stdout, stderr=sys.stderr)
