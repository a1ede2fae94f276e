"""The ``axk1`` command line."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from core.fs import StorageError
from core.io import is_no_space
from core.runlock import RunDirBusy
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
    "sft": ("sft.build", "main", "SFT data: 'axk1 sft build JOB.yaml' curates, mixes and packs chat data"),
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
    if args.workers is not None:
        overrides["workers"] = args.workers  # validated with the job, like every other key
    job = load_job(args.job, overrides)
    if job.is_kickoff:
        from pipeline.kickoff import run_kickoff

        print(json.dumps(run_kickoff(job, executor=args.executor), ensure_ascii=False))
        return 0
    result = run_job(job, executor=args.executor)
    url = job.output_url  # a bucket run: name the objects, not the staging folder
    output = f"{url}/{result.output_dir.relative_to(result.run_dir).as_posix()}" if url else str(result.output_dir)
    print(json.dumps({"run_dir": url or str(result.run_dir), "output": output,
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


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every output of a run against its markers and the funnel; one line per problem."""
    from core import fs
    from core.verify import verify_run

    if fs.is_remote(args.run_dir):
        return _verify_remote(args.run_dir)
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise JobError(f"run dir {run_dir} is not a directory")
    problems = verify_run(run_dir)
    return _report_problems(str(run_dir), problems)


def _verify_remote(url: str) -> int:
    """Verify a run directory on a bucket: download it whole into a temporary folder, then check
    it as a local one (every object's bytes, not only its size and footer)."""
    import tempfile

    from core import fs
    from core.verify import verify_run

    base = url.rstrip("/") + "/"
    try:
        objects = fs.listdir(url)
        if not objects:
            raise JobError(f"run dir {url}: no objects there")
        with tempfile.TemporaryDirectory(prefix="axk1-verify-") as tmp:
            for u in objects:
                fs.download(u, Path(tmp) / u[len(base):])
            problems = verify_run(Path(tmp))
    except fs.StorageError as exc:
        raise JobError(str(exc)) from None
    return _report_problems(url, problems)


def _report_problems(where: str, problems: list) -> int:
    """One ``DAMAGED`` line per problem; exit code 1 if there is any, else 0."""
    for p in problems:
        print(f"DAMAGED {p}")
    if problems:
        log.error("%s: %d problems", where, len(problems))
        return 1
    print(f"OK {where}: every output matches its marker and the funnel balances")
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

    v = sub.add_parser("verify", help="check a run's outputs against its markers and funnel (exit 1 if damaged)")
    v.add_argument("run_dir")
    v.set_defaults(fn=cmd_verify)

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
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # run finally blocks (Ray shutdown) on kill
    try:
        return int(args.fn(args) or 0)
    except (JobError, RunDirBusy) as exc:
        log.error("%s", exc)
        return 2
    except Exception as exc:
        message = _one_line(exc)
        if message is None:
            raise
        log.debug("details", exc_info=exc)
        log.error("%s", message)
        return 2


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (chained causes, a Ray task error's ``cause``)."""
    out: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is seen for seen in out):
            continue
        out.append(e)
        todo.extend([e.__cause__, e.__context__, getattr(e, "cause", None)])
    return out


#: Environment problems reported as one line: (test, message).
_ONE_LINE: list[tuple[Callable[[BaseException], bool], Callable[[BaseException], str]]] = [
    (lambda e: isinstance(e, StorageError), str),  # names the path or URL and the reason
    (is_no_space, lambda e: f"no space left on device writing {getattr(e, 'filename', None) or 'the output'}; "
                            "free space or point output_dir at a larger disk"),
    (lambda e: isinstance(e, (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError,
                              FileExistsError)),
     lambda e: f"{getattr(e, 'strerror', None) or e}: {getattr(e, 'filename', None) or ''}".rstrip(": ")),
]


def _one_line(exc: BaseException) -> str | None:
    """A one-line message for an environment problem anywhere in ``exc``'s chain, else ``None``."""
    for test, message in _ONE_LINE:
        for e in _causes(exc):
            if isinstance(e, OSError) and test(e):
                return message(e)
    return None


if __name__ == "__main__":
    sys.exit(main())
