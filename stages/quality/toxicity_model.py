"""fastText toxicity classifier: train from labelled documents, score as ``toxicity_score``.

``axk1 quality train-toxicity --input labelled.jsonl --output toxicity.ftz`` reads JSONL (or Parquet)
rows with a text field and a label field: 1/true/"toxic"/"offensive"/"hate" mark toxic documents,
0/false/"clean"/"none" clean ones. The model predicts ``__label__toxic`` vs ``__label__clean``; the
score is P(toxic). Training is deterministic with ``thread=1`` (the default). No model ships with the
project: toxicity labels are the user's to choose.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stages.quality.classifier import QualityModel, add_fasttext_arguments, fasttext_options, train

log = logging.getLogger(__name__)

TOXIC, CLEAN = "__label__toxic", "__label__clean"
_TRUE = {"1", "true", "toxic", "offensive", "hate", "yes"}
_FALSE = {"0", "false", "clean", "none", "no", "neutral"}


def parse_label(value: Any, where: str) -> bool:
    """True for a toxic label, False for a clean one; anything else is an error naming ``where``."""
    key = str(value).strip().lower()
    if isinstance(value, bool):
        return value
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{where}: label {value!r} is neither toxic ({sorted(_TRUE)}) nor clean ({sorted(_FALSE)})")


def read_labelled(path: str | Path, text_field: str = "text", label_field: str = "label") -> Iterator[tuple[str, bool]]:
    """(text, is_toxic) rows of a JSONL or Parquet file; rows without text are skipped."""
    p = Path(path)
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(p, columns=[text_field, label_field])
        for i, (t, lab) in enumerate(zip(table.column(0).to_pylist(), table.column(1).to_pylist())):
            if t:
                yield t, parse_label(lab, f"{p} row {i}")
        return
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if label_field not in row:
                raise ValueError(f"{p}:{n}: no {label_field!r} field")
            if row.get(text_field):
                yield row[text_field], parse_label(row[label_field], f"{p}:{n}")


class ToxicityModel:
    """A loaded toxicity model: ``score`` gives P(toxic) per text."""

    def __init__(self, path: str | Path) -> None:
        self._model = QualityModel.load(path)

    def score(self, texts: list[str]):  # noqa: ANN201 - numpy array
        return self._model.score(texts, label=TOXIC)


def train_toxicity(rows: list[tuple[str, bool]], output: str | Path, **kwargs: Any) -> dict[str, float]:
    """Train and save a toxicity model from (text, is_toxic) rows."""
    toxic = [t for t, y in rows if y]
    clean = [t for t, y in rows if not y]
    return train(toxic, clean, output, labels=(TOXIC, CLEAN), **kwargs)


def train_toxicity_main(argv: list[str] | None = None) -> int:
    """``axk1 quality train-toxicity``: train the fastText toxicity classifier from labelled files."""
    ap = argparse.ArgumentParser(prog="axk1 quality train-toxicity", description=train_toxicity_main.__doc__)
    ap.add_argument("--input", nargs="+", required=True, help="labelled .jsonl/.parquet files")
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--label-field", default="label")
    add_fasttext_arguments(ap, epoch=25)
    args = ap.parse_args(argv)
    rows = [r for p in args.input for r in read_labelled(p, args.text_field, args.label_field)]
    if not any(y for _, y in rows) or all(y for _, y in rows):
        ap.error("need both toxic and clean documents")
    res = train_toxicity(rows, args.output, **fasttext_options(args))
    log.info("saved %s: %s", args.output, res)
    return 0
