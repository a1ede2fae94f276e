"""``axk1 tokenizer eval``: compression per language, Korean fertility, vocabulary make-up, round trip."""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from tokenizer.api import Tokenizer, load_tokenizer
from tokenizer.config import EvalConfig
from tokenizer.sample import iter_documents, plan, resolve_inputs, scan
from tokenizer.specials import BASE_PIECES, special_base
from tokenizer.stress import stress_corpus

log = logging.getLogger(__name__)

_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0xAC00, 0xD7A3, "hangul"), (0x1100, 0x11FF, "hangul"), (0x3130, 0x318F, "hangul"),
    (0xA960, 0xA97F, "hangul"), (0xD7B0, 0xD7FF, "hangul"),
    (0x4E00, 0x9FFF, "han"), (0x3400, 0x4DBF, "han"), (0xF900, 0xFAFF, "han"), (0x20000, 0x3FFFF, "han"),
    (0x3040, 0x30FF, "kana"), (0x31F0, 0x31FF, "kana"), (0xFF66, 0xFF9F, "kana"),
)


def char_script(ch: str) -> str:
    """Coarse script of one character: hangul, han, kana, latin, cyrillic, greek, arabic, ...,
    digit, whitespace or symbol (punctuation, symbols, controls)."""
    cp = ord(ch)
    for lo, hi, name in _SCRIPT_RANGES:
        if lo <= cp <= hi:
            return name
    if ch.isspace():
        return "whitespace"
    cat = unicodedata.category(ch)
    if cat == "Nd":
        return "digit"
    if cat.startswith("L") or cat.startswith("M"):
        word = unicodedata.name(ch, "OTHER").split(" ")[0].lower()
        return word if word in {"latin", "cyrillic", "greek", "arabic", "hebrew", "thai",
                                "devanagari", "cjk", "hangul"} else "other_letter"
    return "symbol"


def piece_script(text: str) -> str:
    """Script of a vocabulary piece: its one letter script, ``mixed``, ``symbol`` or ``whitespace``."""
    scripts = {char_script(c) for c in text}
    if scripts <= {"whitespace"}:
        return "whitespace"
    letters = scripts - {"whitespace", "symbol"}
    if not letters:
        return "symbol"
    if len(letters) == 1:
        return next(iter(letters))
    return "mixed"


def vocabulary_share(tok: Tokenizer) -> dict[str, Any]:
    """Count learned pieces (bytes, unk and specials excluded) by script."""
    base = special_base(tok.vocab_size)
    counts: Counter = Counter()
    for i in range(BASE_PIECES, base):
        counts[piece_script(tok.id_to_token(i).replace("\u2581", " "))] += 1
    total = sum(counts.values())
    return {"learned_pieces": total,
            "by_script": {k: {"pieces": v, "share": round(v / total, 4)} for k, v in counts.most_common()}}


def round_trip(tok: Tokenizer, texts: list[str], other: Tokenizer | None = None) -> dict[str, Any]:
    """Exact ``decode(encode(x)) == x`` count; with ``other``, also identical ids across backends."""
    ids = tok.encode_batch(texts)
    failures = [t for t, seq in zip(texts, ids) if tok.decode(seq) != t]
    out: dict[str, Any] = {"strings": len(texts), "exact": len(texts) - len(failures),
                           "failures": len(failures), "failure_examples": [repr(t[:80]) for t in failures[:5]]}
    if other is not None:
        other_ids = other.encode_batch(texts)
        out["backend_mismatches"] = sum(a != b for a, b in zip(ids, other_ids))
    return out


def _inherit_split(cfg: EvalConfig, tok: Tokenizer) -> EvalConfig:
    """Use the training run's seed and hold-out fraction unless the eval config sets them."""
    trained = tok.meta.get("config", {})
    update = {k: trained[k] for k in ("seed", "holdout_fraction", "text_column", "lang_column")
              if k in trained and k not in cfg.model_fields_set}
    return cfg.model_copy(update=update) if update else cfg


def evaluate(cfg: EvalConfig | dict[str, Any]) -> dict[str, Any]:
    """Compute every metric; write ``cfg.output`` (JSON) and a Markdown rendering beside it."""
    if isinstance(cfg, dict):
        cfg = EvalConfig(**cfg)
    t0 = time.perf_counter()
    tok = load_tokenizer(cfg.tokenizer_dir, backend=cfg.backend)
    cfg = _inherit_split(cfg, tok)
    files = resolve_inputs(cfg.inputs)
    report = scan(files, cfg)
    split = "holdout" if cfg.use_holdout and cfg.holdout_fraction > 0 else "all"
    plan(report, cfg, split)
    per_lang: dict[str, Counter] = {}
    counts = np.zeros(tok.vocab_size, dtype=np.int64)
    batch: list[tuple[str, str]] = []
    sample_texts: list[str] = []

    def flush() -> None:
        seqs = tok.encode_batch([t for _, t in batch])
        flat = np.fromiter((i for seq in seqs for i in seq), dtype=np.int64)
        if flat.size:
            counts[:] += np.bincount(flat, minlength=tok.vocab_size)
        for (lang, text), seq in zip(batch, seqs):
            c = per_lang.setdefault(lang, Counter())
            c["docs"] += 1
            c["bytes"] += len(text.encode("utf-8"))
            c["chars"] += len(text)
            c["tokens"] += len(seq)
            c["words"] += len(text.split())
        batch.clear()

    for lang, text in iter_documents(files, cfg, report, split=split):
        batch.append((lang, text))
        if len(sample_texts) < 500:
            sample_texts.append(text)
        if len(batch) >= 512:
            flush()
    flush()
    languages = {}
    for lang, c in sorted(per_lang.items()):
        tokens = max(c["tokens"], 1)
        languages[lang] = {"docs": c["docs"], "bytes": c["bytes"], "tokens": c["tokens"],
                           "bytes_per_token": round(c["bytes"] / tokens, 4),
                           "chars_per_token": round(c["chars"] / tokens, 4),
                           "tokens_per_word": round(c["tokens"] / max(c["words"], 1), 4)}
    base = special_base(tok.vocab_size)
    learned = counts[BASE_PIECES:base]
    total_tokens = int(counts.sum())
    other = load_tokenizer(cfg.tokenizer_dir, backend="sentencepiece" if cfg.backend == "hf" else "hf")
    stress = stress_corpus(cfg.stress_random_strings, cfg.seed)
    result = {
        "tokenizer_dir": str(cfg.tokenizer_dir),
        "fingerprint": tok.fingerprint,
        "vocab_size": tok.vocab_size,
        "split": split,
        "eval_bytes": int(sum(c["bytes"] for c in per_lang.values())),
        "languages": languages,
        "korean_fertility_tokens_per_eojeol": languages.get("ko", {}).get("tokens_per_word"),
        "vocabulary": vocabulary_share(tok),
        "unused": {
            "learned_pieces_unused": int((learned == 0).sum()),
            "learned_pieces": int(learned.size),
            "byte_tokens_used": int((counts[1:BASE_PIECES] > 0).sum()),
            "byte_token_share": round(float(counts[1:BASE_PIECES].sum()) / max(total_tokens, 1), 6),
        },
        "round_trip": {
            "stress": round_trip(tok, stress, other),
            "heldout_sample": round_trip(tok, sample_texts, other),
        },
        "seconds": 0.0,
    }
    result["seconds"] = round(time.perf_counter() - t0, 2)
    out = Path(cfg.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(render_markdown(result), encoding="utf-8")
    return result


def render_markdown(r: dict[str, Any]) -> str:
    """The tokenizer section of the statistics report."""
    lines = ["## Tokenizer", "",
             f"Vocabulary {r['vocab_size']:,} (`{r['fingerprint'][:23]}`), evaluated on "
             f"{r['eval_bytes'] / 1e6:.1f} MB of {r['split']} text.", "",
             "| language | docs | MB | bytes/token | chars/token | tokens/word |", "|---|---:|---:|---:|---:|---:|"]
    for lang, m in r["languages"].items():
        lines.append(f"| {lang} | {m['docs']:,} | {m['bytes'] / 1e6:.2f} | {m['bytes_per_token']:.2f} | "
                     f"{m['chars_per_token']:.2f} | {m['tokens_per_word']:.2f} |")
    fert = r["korean_fertility_tokens_per_eojeol"]
    lines += ["", f"Korean fertility: {fert if fert is not None else 'n/a'} tokens per eojeol.", "",
              "| script | learned pieces | share |", "|---|---:|---:|"]
    for script, m in r["vocabulary"]["by_script"].items():
        lines.append(f"| {script} | {m['pieces']:,} | {m['share']:.2%} |")
    u = r["unused"]
    lines += ["", f"Unused learned pieces on this text: {u['learned_pieces_unused']:,} of {u['learned_pieces']:,}; "
              f"byte-fallback tokens: {u['byte_token_share']:.4%} of all tokens.", ""]
    for name, rt in r["round_trip"].items():
        lines.append(f"Round trip ({name}): {rt['exact']:,}/{rt['strings']:,} exact"
                     + (f", backend id mismatches {rt['backend_mismatches']}" if "backend_mismatches" in rt else "")
                     + ".")
    return "\n".join(lines) + "\n"
