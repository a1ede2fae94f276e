"""Entry points for ``axk1 tokenizer train`` and ``axk1 tokenizer eval``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from pydantic import ValidationError

from tokenizer.config import EvalConfig, TrainConfig, load_config
from tokenizer.spm_model import VocabularyTooLargeError, VocabularyTooSmallError

log = logging.getLogger(__name__)


def _common(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--config", help="YAML file (a `tokenizer:` section or top-level keys)")
    ap.add_argument("--input", action="append", dest="inputs", help="Parquet file, directory or glob")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--sample-bytes", type=int, dest="sample_bytes")
    ap.add_argument("--holdout-fraction", type=float, dest="holdout_fraction")
    ap.add_argument("--share", action="append", default=[], metavar="LANG=SHARE",
                    help="language share of sampled bytes, e.g. ko=0.45 (repeatable; '*' = others)")


def _overrides(args: argparse.Namespace, keys: list[str]) -> dict[str, Any]:
    out = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if args.share:
        out["language_shares"] = {k: float(v) for k, v in (s.split("=", 1) for s in args.share)}
    return out


def _setup_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def train_main(argv: list[str] | None = None) -> int:
    """Train the tokenizer; exit 2 on a bad config or a vocabulary the corpus cannot support."""
    ap = argparse.ArgumentParser(prog="axk1 tokenizer train", description=train_main.__doc__)
    _common(ap)
    ap.add_argument("--output", dest="output_dir", help="folder for tokenizer.model / tokenizer.json")
    ap.add_argument("--vocab-size", type=int, dest="vocab_size")
    ap.add_argument("--input-sentence-size", type=int, dest="input_sentence_size")
    ap.add_argument("--threads", type=int, dest="num_threads")
    args = ap.parse_args(argv)
    _setup_logging()
    keys = ["inputs", "seed", "sample_bytes", "holdout_fraction", "output_dir", "vocab_size",
            "input_sentence_size", "num_threads"]
    try:
        cfg = load_config(TrainConfig, args.config, "tokenizer", _overrides(args, keys))
    except ValidationError as exc:
        log.error("invalid tokenizer config:\n%s", exc)
        return 2
    from tokenizer.train import train_tokenizer

    try:
        report = train_tokenizer(cfg)
    except (VocabularyTooLargeError, VocabularyTooSmallError, FileNotFoundError) as exc:
        log.error("%s", exc)
        return 2
    print(json.dumps({k: report[k] for k in ("output_dir", "vocab_size", "fingerprint", "seconds_total")}))
    return 0


def eval_main(argv: list[str] | None = None) -> int:
    """Evaluate a trained tokenizer on held-out text; write JSON and Markdown."""
    ap = argparse.ArgumentParser(prog="axk1 tokenizer eval", description=eval_main.__doc__)
    _common(ap)
    ap.add_argument("--tokenizer", dest="tokenizer_dir", help="trained tokenizer folder")
    ap.add_argument("--output", help="JSON file to write (Markdown goes beside it)")
    ap.add_argument("--backend", choices=["hf", "sentencepiece"])
    ap.add_argument("--all-documents", action="store_true",
                    help="evaluate on every document instead of the training hold-out")
    args = ap.parse_args(argv)
    _setup_logging()
    keys = ["inputs", "seed", "sample_bytes", "holdout_fraction", "tokenizer_dir", "output", "backend"]
    overrides = _overrides(args, keys)
    if args.all_documents:
        overrides["use_holdout"] = False
    try:
        cfg = load_config(EvalConfig, args.config, "tokenizer_eval", overrides)
    except ValidationError as exc:
        log.error("invalid tokenizer eval config:\n%s", exc)
        return 2
    from tokenizer.evaluate import evaluate

    try:
        result = evaluate(cfg)
    except FileNotFoundError as exc:
        log.error("%s", exc)
        return 2
    print(json.dumps({"output": cfg.output, "languages": result["languages"],
                      "korean_fertility": result["korean_fertility_tokens_per_eojeol"],
                      "round_trip_failures": result["round_trip"]["stress"]["failures"]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":  # python -m tokenizer.cli train|eval ...
    if len(sys.argv) < 2 or sys.argv[1] not in ("train", "eval"):
        sys.exit("usage: python -m tokenizer.cli train|eval [options]")
    sys.exit((train_main if sys.argv[1] == "train" else eval_main)(sys.argv[2:]))
