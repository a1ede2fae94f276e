"""fastText quality classifier: train from labelled files (``axk1 quality train``), load, score.

Labels are ``__label__hq`` (positive: clean reference text) and ``__label__lq`` (negative: random web
text, spam, boilerplate); the score is P(hq). Inputs are Parquet files (a ``text`` column), JSONL
(``text`` field) or plain text (one document per line, or per blank-line-separated block with
``--blocks``). Training is deterministic with ``thread=1`` (the default).

The shipped default model (``stages/quality/resources/quality_model.ftz``) is trained on documents the project
generates itself: ``axk1 quality train --synthetic --output stages/quality/resources/quality_model.ftz``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "resources" / "quality_model.ftz"
POS, NEG = "__label__hq", "__label__lq"
_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"([^\w\s])")


def prepare(text: str) -> str:
    """One line of model input: NFC, lower-case, punctuation spaced out, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text).lower()
    return _SPACE.sub(" ", _PUNCT.sub(r" \1 ", text)).strip()


class QualityModel:
    """A loaded fastText model scoring texts with P(``__label__hq``)."""

    _cache: dict[str, QualityModel] = {}

    def __init__(self, model, path: str) -> None:
        self.model = model
        self.path = path

    @classmethod
    def load(cls, path: str | Path) -> QualityModel:
        key = str(path)
        if key not in cls._cache:
            import fasttext

            if not Path(key).exists():
                raise FileNotFoundError(f"quality model not found: {key}")
            cls._cache[key] = cls(fasttext.load_model(key), key)
        return cls._cache[key]

    def score(self, texts: list[str], label: str = POS) -> np.ndarray:
        """P(``label``) for every text (the positive class by default)."""
        lines = [prepare(t) for t in texts]
        labels, probs = self.model.predict(lines, k=-1)
        out = np.zeros(len(lines))
        for i, (ls, ps) in enumerate(zip(labels, probs)):
            for lab, p in zip(ls, ps):
                if lab == label:
                    out[i] = float(p)
        return np.clip(out, 0.0, 1.0)


def read_documents(path: str | Path, blocks: bool = False, column: str = "text") -> Iterator[str]:
    """Documents from a Parquet, JSONL or text file."""
    p = Path(path)
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(p).iter_batches(columns=[column]):
            yield from (t for t in batch.column(0).to_pylist() if t)
    elif p.suffix in (".jsonl", ".json"):
        with p.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    t = json.loads(line).get(column)
                    if t:
                        yield t
    else:
        raw = p.read_text(encoding="utf-8")
        parts = re.split(r"\n\s*\n", raw) if blocks else raw.splitlines()
        yield from (t for t in parts if t.strip())


def write_training_file(pos: Iterable[str], neg: Iterable[str], out: Path, seed: int = 0,
                        labels: tuple[str, str] = (POS, NEG)) -> tuple[int, int]:
    """Labelled, shuffled fastText training lines; returns (positives, negatives)."""
    rows = [f"{labels[0]} {prepare(t)}" for t in pos] + [f"{labels[1]} {prepare(t)}" for t in neg]
    n_pos = sum(1 for r in rows if r.startswith(labels[0] + " "))
    order = np.random.default_rng(seed).permutation(len(rows))
    out.write_text("\n".join(rows[i] for i in order) + "\n", encoding="utf-8")
    return n_pos, len(rows) - n_pos


def train(pos: Iterable[str], neg: Iterable[str], output: str | Path, *, epoch: int = 10, dim: int = 32,
          lr: float = 0.5, word_ngrams: int = 2, minn: int = 2, maxn: int = 3, bucket: int = 200_000,
          thread: int = 1, seed: int = 0, quantize: bool = True,
          labels: tuple[str, str] = (POS, NEG)) -> dict[str, float]:
    """Train, optionally quantise, and save a model; returns training-set counts and accuracy."""
    import fasttext

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.txt"
        n_pos, n_neg = write_training_file(pos, neg, data, seed, labels)
        if not n_pos or not n_neg:
            raise ValueError("training needs both positive and negative documents")
        model = fasttext.train_supervised(
            input=str(data), epoch=epoch, dim=dim, lr=lr, wordNgrams=word_ngrams, minn=minn, maxn=maxn,
            bucket=bucket, thread=thread, seed=seed, loss="softmax", verbose=0)
        if quantize:
            model.quantize(input=str(data), qnorm=True, retrain=False, cutoff=50_000, thread=thread)
        _, precision, _ = model.test(str(data))
    tmp_out = output.with_name(output.name + ".tmp")
    model.save_model(str(tmp_out))
    os.replace(tmp_out, output)
    QualityModel._cache.pop(str(output), None)
    return {"positives": n_pos, "negatives": n_neg, "train_accuracy": float(precision),
            "bytes": output.stat().st_size}


def add_fasttext_arguments(ap: argparse.ArgumentParser, epoch: int) -> None:
    """The output path and fastText hyper-parameters every classifier-training command takes."""
    ap.add_argument("--output", required=True, help="model path (.ftz when quantised, else .bin)")
    ap.add_argument("--epoch", type=int, default=epoch)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--word-ngrams", type=int, default=2)
    ap.add_argument("--bucket", type=int, default=200_000)
    ap.add_argument("--thread", type=int, default=1, help="1 = deterministic")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-quantize", action="store_true")


def fasttext_options(args: argparse.Namespace) -> dict[str, Any]:
    """The training keyword arguments ``add_fasttext_arguments`` parsed."""
    return {"epoch": args.epoch, "dim": args.dim, "lr": args.lr, "word_ngrams": args.word_ngrams,
            "bucket": args.bucket, "thread": args.thread, "seed": args.seed, "quantize": not args.no_quantize}


def train_main(argv: list[str] | None = None) -> int:
    """``axk1 quality train``: train a fastText quality model from labelled files."""
    ap = argparse.ArgumentParser(prog="axk1 quality train", description=train_main.__doc__)
    ap.add_argument("--positive", nargs="*", default=[], help="clean reference documents (.parquet/.jsonl/.txt)")
    ap.add_argument("--negative", nargs="*", default=[], help="low-quality documents (.parquet/.jsonl/.txt)")
    ap.add_argument("--synthetic", action="store_true",
                    help="add the project's generated clean (positive) and spam/boilerplate (negative) documents")
    ap.add_argument("--synthetic-docs", type=int, default=3000, help="generated documents per class")
    ap.add_argument("--blocks", action="store_true", help="text files hold one document per blank-line block")
    ap.add_argument("--column", default="text", help="text column/field in Parquet/JSONL inputs")
    add_fasttext_arguments(ap, epoch=10)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    pos = [t for p in args.positive for t in read_documents(p, args.blocks, args.column)]
    neg = [t for p in args.negative for t in read_documents(p, args.blocks, args.column)]
    if args.synthetic:
        from stages.quality.synth import synthetic_training_set

        sp, sn = synthetic_training_set(args.synthetic_docs, seed=args.seed)
        pos += sp
        neg += sn
    if not pos or not neg:
        ap.error("need positive and negative documents (--positive/--negative or --synthetic)")
    res = train(pos, neg, args.output, **fasttext_options(args))
    log.info("saved %s: %s", args.output, res)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(train_main())
