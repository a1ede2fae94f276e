"""The ``axk1`` command line."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import yaml

from pipeline.job import JobError

log = logging.getLogger("axk1")

DEMO_JOB = Path(__file__).resolve().parents[1] / "jobs" / "demo.yaml"

#: Subcommands implemented by other packages: name -> (module, function, help).
DELEGATED: dict[str, tuple[str, str, str]] = {
    "quality-train": ("stages.quality.classifier", "train_main", "train the fastText quality classifier"),
    "quality-train-toxicity": ("stages.quality.toxicity_model", "train_toxicity_main",
                               "train the fastText toxicity classifier from labelled JSONL/Parquet"),
    "tokenizer-train": ("tokenizer.cli", "train_main", "train the tokenizer from a corpus"),
    "tokenizer-eval": ("tokenizer.cli", "eval_main", "evaluate a trained tokenizer"),
    "pack": ("tokenizer.pack", "main", "tokenize a corpus into packed Megatron/nanotron shards"),
    "pretrain": ("trainer.train", "main", "pretrain the MoE model on packed shards"),
    "model-info": ("trainer.params", "main", "parameter counts of the model presets (meta device)"),
    "report": ("pipeline.report", "main", "write the corpus statistics report for a run"),
}
#: Two-word spellings accepted for delegated commands (``axk1 tokenizer train``).
ALIASES = {("quality", "train"): "quality-train", ("quality", "train-toxicity"): "quality-train-toxicity",
           ("tokenizer", "train"): "tokenizer-train",
           ("tokenizer", "eval"): "tokenizer-eval"}


def _parse_value(raw: str) -> Any:
    """``--set`` values are YAML scalars/lists: 0.8, true, [ko, en], "text"."""
    return yaml.safe_load(raw)


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise JobError(f"--set expects key=value, got {pair!r}")
        key, raw = pair.split("=", 1)
        out[key.strip()] = _parse_value(raw)
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.job import load_job
    from pipeline.runner import run_job

    overrides = _parse_sets(args.set or [])
    if args.output_dir:
        overrides["output_dir"] = args.output_dir
    job = load_job(args.job, overrides)
    if args.workers is not None:
        job = job.model_copy(update={"workers": args.workers})
    if job.is_kickoff:
        from pipeline.kickoff import run_kickoff

        print(json.dumps(run_kickoff(job, executor=args.executor), ensure_ascii=False))
        return 0
    result = run_job(job, executor=args.executor)
    print(json.dumps({"run_dir": str(result.run_dir), "output": str(result.output_dir),
                      "docs_in": result.funnel["docs_in"], "docs_out": result.funnel["docs_out"],
                      "seconds": round(result.seconds, 1)}, ensure_ascii=False))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    args.job = str(DEMO_JOB)
    return cmd_run(args)


def cmd_stage(args: argparse.Namespace) -> int:
    """Run one stage (map or global) over a file or a folder and write the kept documents to OUTPUT."""
    from pipeline.stage_cmd import run_stage

    result = run_stage(args.name, _parse_sets(args.set or []), Path(args.input), Path(args.output),
                       Path(args.rejects) if args.rejects else None, fmt=args.format, source=args.source,
                       batch_rows=args.batch_rows, workers=args.workers, seed=args.seed)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_stages(_: argparse.Namespace) -> int:
    from pipeline.registry import registry

    for name, cls in sorted(registry().items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{name:18s} {doc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="axk1", description="A.X K1 data system: curation, tokenizer, shards, trainer")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    def add_run_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--executor", choices=["local", "ray"], help="override the job's executor")
        sp.add_argument("--workers", type=int, help="override the job's worker count")
        sp.add_argument("--output-dir", help="override the job's output directory")
        sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a top-level job key")

    r = sub.add_parser("run", help="run a job file")
    r.add_argument("job")
    add_run_options(r)
    r.set_defaults(fn=cmd_run)

    d = sub.add_parser("demo", help="run the embedded demo job (no input needed)")
    add_run_options(d)
    d.set_defaults(fn=cmd_demo)

    s = sub.add_parser("stage", help="run one stage (map or global) over a file or a folder of files")
    s.add_argument("name")
    s.add_argument("--input", required=True, help="a WARC/ARC/JSONL/Parquet file, or a folder of them")
    s.add_argument("--output", required=True, help="OUT.parquet (one file) or a folder (one shard per input)")
    s.add_argument("--format", default="auto", choices=["auto", "warc", "arc", "jsonl", "parquet"])
    s.add_argument("--source", default="input")
    s.add_argument("--rejects", help="also write rejected documents here (a .parquet file or a folder)")
    s.add_argument("--batch-rows", type=int, default=1000)
    s.add_argument("--workers", type=int, default=1, help="local worker processes (0 = every core)")
    s.add_argument("--seed", type=int, default=0, help="seed of seeded stages (MinHash, mixing)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="stage config key")
    s.set_defaults(fn=cmd_stage)

    ls = sub.add_parser("stages", help="list the registered stages")
    ls.set_defaults(fn=cmd_stages)

    for name, (_, _, help_text) in DELEGATED.items():  # listed for --help; dispatched in main()
        sub.add_parser(name, help=help_text, add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 2 and (argv[0], argv[1]) in ALIASES:
        argv = [ALIASES[(argv[0], argv[1])], *argv[2:]]
    if argv and argv[0] in DELEGATED:  # the delegate parses (and documents) its own options
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        module, fn, _ = DELEGATED[argv[0]]
        return int(getattr(importlib.import_module(module), fn)(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.fn(args) or 0)
    except JobError as exc:
        log.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
