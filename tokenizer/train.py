"""``axk1 tokenizer train``: sample the corpus, train, lay out specials, export both formats."""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tokenizer.api import HF_FILE, META_FILE, MODEL_FILE, file_fingerprint
from tokenizer.config import TrainConfig
from tokenizer.export import write_hf_folder
from tokenizer.sample import SampleReport, chunk_text, iter_documents, plan, resolve_inputs, scan
from tokenizer.specials import BASE_PIECES, SPECIAL_BLOCK_SIZE, special_base, special_tokens
from tokenizer.spm_model import relayout, train_spm

log = logging.getLogger(__name__)


def _sentences(files: list[Path], cfg: TrainConfig, report: SampleReport) -> Iterator[str]:
    for _, text in iter_documents(files, cfg, report, split="train"):
        yield from chunk_text(text, cfg.max_sentence_chars)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def layout_description(vocab_size: int) -> dict[str, Any]:
    """The id layout written into the tokenizer folder's metadata."""
    base = special_base(vocab_size)
    return {
        "unk": 0,
        "bytes": [1, 256],
        "merges": [BASE_PIECES, base - 1],
        "special_block": [base, vocab_size - 1],
        "bos_id": base, "eos_id": base,
        "specials": [{"id": t.token_id(vocab_size), "content": t.content,
                      "kind": "in_text" if t.in_text else "control"} for t in special_tokens()],
    }


def train_tokenizer(cfg: TrainConfig | dict[str, Any]) -> dict[str, Any]:
    """Train and export; return the training report (also written as ``train_report.json``).

    ``cfg`` may be a plain dict (a job file's ``tokenizer`` section).
    """
    if isinstance(cfg, dict):
        cfg = TrainConfig(**cfg)
    t0 = time.perf_counter()
    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = resolve_inputs(cfg.inputs)
    report = scan(files, cfg)
    plan(report, cfg, "train")
    log.info("sampling %s MB from %d files (%.1f MB available)", cfg.sample_bytes // 10**6, len(files),
             sum(report.available_bytes.values()) / 1e6)
    t_sample = time.perf_counter()
    raw = train_spm(_sentences(files, cfg, report), cfg.vocab_size,
                    input_sentence_size=cfg.input_sentence_size,
                    character_coverage=cfg.character_coverage, max_piece_length=cfg.max_piece_length,
                    max_sentence_chars=cfg.max_sentence_chars, num_threads=cfg.num_threads, seed=cfg.seed)
    t_train = time.perf_counter()
    model = relayout(raw, cfg.vocab_size)
    _atomic_write(out_dir / MODEL_FILE, model)
    write_hf_folder(model, out_dir, cfg.vocab_size)
    fingerprint = file_fingerprint(out_dir / MODEL_FILE)
    meta = {
        "name": "axk1-tokenizer",
        "vocab_size": cfg.vocab_size,
        "model_type": "bpe (sentencepiece, byte fallback, identity normalisation, digits split)",
        "fingerprint": fingerprint,
        "files": {"sentencepiece": MODEL_FILE, "huggingface": HF_FILE},
        "layout": layout_description(cfg.vocab_size),
        "special_block_size": SPECIAL_BLOCK_SIZE,
        "config": cfg.model_dump(),
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    result = {
        "output_dir": str(out_dir),
        "vocab_size": cfg.vocab_size,
        "fingerprint": fingerprint,
        "sample": report.to_dict(),
        "seconds_total": round(time.perf_counter() - t0, 2),
        "seconds_scan": round(t_sample - t0, 2),
        "seconds_sample_and_train": round(t_train - t_sample, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    (out_dir / "train_report.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
    log.info("tokenizer written to %s (%s)", out_dir, fingerprint)
    return result
