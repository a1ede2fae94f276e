"""``axk1 pack``: tokenize a Parquet corpus into packed token shards that trainers read directly.

Per input shard ``i`` and per source ``s`` the output is ``<out>/<s>/part-{i:05d}.bin/.idx``
(Megatron IndexedDataset, int32 tokens for vocabularies above 65,500, one sequence per document
with EOS appended) and optionally ``part-{i:05d}.ds`` (+ ``.ds.index``/``.ds.metadata``,
datatrove/nanotron). ``<out>/manifest.json`` (and one per source directory, prefixes relative to
it) records the tokenizer fingerprint and vocabulary size plus documents/tokens per file, so
loaders can refuse shards from another tokenizer. Empty or null texts are counted and skipped.

Shards are independent tasks mapped over a local process pool, or Ray tasks when ``RAY_ADDRESS``
is set / ``executor="ray"``. Input is streamed in row batches, so memory stays bounded.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.config import StrictConfig
from core.indexed import DsWriter, MegatronWriter, token_dtype
from core.io import read_json, write_json_atomic
from tokenizer.fast_bpe import FastBPE, load_fast_bpe

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


@runtime_checkable
class PackTokenizer(Protocol):
    """What packing needs from a tokenizer (the project tokenizer and ``HFTokenizer`` both fit)."""

    eos_id: int
    bos_id: int | None
    vocab_size: int
    fingerprint: str

    def encode_batch(self, texts: list[str]) -> list[list[int]]: ...


class HFTokenizer:
    """A Hugging Face ``tokenizers`` JSON file seen through ``PackTokenizer`` (no special tokens added)."""

    def __init__(self, path: str | Path, eos_token: str, bos_token: str | None = None) -> None:
        import hashlib

        from tokenizers import Tokenizer

        self.path = Path(path)
        self._tok = Tokenizer.from_file(str(self.path))
        eos = self._tok.token_to_id(eos_token)
        if eos is None:
            raise ValueError(f"EOS token {eos_token!r} is not in the vocabulary of {self.path}")
        self.eos_id = int(eos)
        bos = self._tok.token_to_id(bos_token) if bos_token else None
        self.bos_id = int(bos) if bos is not None else None
        self.vocab_size = int(self._tok.get_vocab_size(with_added_tokens=True))
        self.fingerprint = "sha256:" + hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def tokenizer_json(self) -> Path:
        return self.path

    @property
    def hf_tokenizer(self) -> Any:
        return self._tok

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch_fast(texts, add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=False)


def load_pack_tokenizer(spec: str | Path, eos_token: str | None = None) -> PackTokenizer:
    """Load the tokenizer named by ``spec``.

    A trained A.X K1 tokenizer folder (with ``tokenizer.model``) goes through
    ``tokenizer.api.load_tokenizer``, so shards carry the fingerprint the trainer checks. A
    ``*.json`` file, or a folder with only ``tokenizer.json``, is a plain Hugging Face tokenizer
    (``eos_token`` required).
    """
    path = Path(spec)
    if path.is_dir() and (path / "tokenizer.model").is_file():
        from tokenizer.api import load_tokenizer

        return load_tokenizer(path)
    if path.is_dir() and (path / "tokenizer.json").is_file():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer not found: {spec}")
    if not eos_token:
        raise ValueError(f"{path} is a plain Hugging Face tokenizer: give its EOS token (--eos-token)")
    return HFTokenizer(path, eos_token)


def _tokenizer_json(tok: PackTokenizer, spec: str | Path) -> Path | None:
    """The HF JSON behind a tokenizer, if any (enables the verified fast encoder)."""
    p = getattr(tok, "tokenizer_json", None)
    if p is not None:
        return Path(p)
    cand = Path(spec) / "tokenizer.json"
    return cand if cand.is_file() else None


class PackConfig(StrictConfig):
    """Options of ``axk1 pack`` (also usable from a job file)."""

    inputs: list[str]
    output_dir: str
    tokenizer: str
    eos_token: str | None = None
    text_column: str = "text"
    #: Per-row source column; rows without it (or null) use ``source`` or the input's directory name.
    source_column: str = "source"
    source: str | None = None
    batch_rows: int = 4096
    write_megatron: bool = True
    write_ds: bool = False
    workers: int = 0
    executor: Literal["auto", "local", "ray"] = "auto"
    #: Use the pre-token cache encoder for HF BPE tokenizers (checked against the tokenizer per shard).
    fast_encode: bool = True
    #: In that encoder, merge words not seen yet with the compiled BPE kernel (else the tokenizer's BPE).
    compiled_bpe: bool = True
    #: Documents per shard compared between the fast encoder and the tokenizer before trusting it.
    verify_docs: int = 32
    overwrite: bool = False
    #: Token dtype of the shards: ``auto`` is uint16 below 65,500 ids, else int32 (Megatron's rule).
    token_dtype: Literal["auto", "int32", "uint16"] = "auto"


# ---------------------------------------------------------------------------------------------
# Encoding a batch into (flat tokens with EOS, lengths)


class _Encoder:
    """Tokenizer + optional fast encoder, with EOS appended after every document."""

    def __init__(self, tok: PackTokenizer, fast: FastBPE | None, verify_docs: int) -> None:
        self.tok = tok
        self.fast = fast
        self.verify_left = verify_docs if fast is not None else 0
        self.fast_rejected = False

    def _fast(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """Fast-path tokens and counts, or None once the fast encoder has been found to disagree."""
        assert self.fast is not None
        flat, counts, delegated = self.fast.encode_flat(texts)
        k = min(self.verify_left, len(texts))
        if delegated or k:
            pieces: list[Any] = np.split(flat, np.cumsum(counts)[:-1])
            for i, ids in zip(delegated, self.tok.encode_batch([texts[i] for i in delegated])):
                pieces[i] = np.asarray(ids, np.int64)
            if k:
                self.verify_left -= k
                ref = self.tok.encode_batch(texts[:k])
                if any(a.tolist() != list(b) for a, b in zip(pieces[:k], ref)):
                    log.warning("fast encoder disagrees with the tokenizer; using the tokenizer directly")
                    self.fast, self.fast_rejected = None, True
                    return None
            if delegated:
                counts = np.fromiter(map(len, pieces), np.int64, count=len(pieces))
                flat = np.concatenate(pieces) if pieces else flat
        return flat, counts

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return (int64 concatenated tokens incl. one EOS per document, per-document lengths)."""
        got = self._fast(texts) if self.fast is not None else None
        if got is None:
            import itertools

            ids = self.tok.encode_batch(texts)
            counts = np.fromiter(map(len, ids), np.int64, count=len(ids))
            flat = np.fromiter(itertools.chain.from_iterable(ids), np.int64, count=int(counts.sum()))
        else:
            flat, counts = got
        lengths = counts + 1
        out = np.empty(int(lengths.sum()), np.int64)
        eos = np.zeros(out.size, bool)
        eos[np.cumsum(lengths) - 1] = True
        out[eos] = self.tok.eos_id
        out[~eos] = flat
        return out, lengths


# ---------------------------------------------------------------------------------------------
# One input shard -> one part file per source


_SAFE = re.compile(r"[^\w.\-]+")


def source_dirname(source: str) -> str:
    """Filesystem-safe directory name for a source (Unicode word characters kept)."""
    name = _SAFE.sub("_", source).strip("._")
    return name or "unknown"


_TOKENIZERS: dict[tuple[str, str | None], PackTokenizer] = {}
_FAST: dict[tuple[str, bool], FastBPE | None] = {}


def _cached_tokenizer(cfg: PackConfig) -> PackTokenizer:
    """The tokenizer, loaded once per process."""
    key = (cfg.tokenizer, cfg.eos_token)
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = load_pack_tokenizer(cfg.tokenizer, cfg.eos_token)
    return _TOKENIZERS[key]


def _worker_tokenizer(cfg: PackConfig) -> tuple[PackTokenizer, FastBPE | None]:
    tok = _cached_tokenizer(cfg)
    if not cfg.fast_encode:
        return tok, None
    js = _tokenizer_json(tok, cfg.tokenizer)
    if js is None:
        return tok, None
    key = (str(js), cfg.compiled_bpe)
    if key not in _FAST:  # share the adapter's loaded tokenizer when there is one
        _FAST[key] = load_fast_bpe(js, getattr(tok, "hf_tokenizer", None), compiled=cfg.compiled_bpe)
    return tok, _FAST[key]


def preload(cfg: PackConfig) -> None:
    """Load this process's tokenizer and fast encoder now (what a worker does once, before its first shard)."""
    _worker_tokenizer(cfg)


def clear_caches(keep_tokenizers: bool = False) -> None:
    """Forget word tables, and unless ``keep_tokenizers`` the loaded tokenizers too (benchmarks)."""
    for fast in _FAST.values():
        if fast is not None:
            fast.reset()
    if not keep_tokenizers:
        _TOKENIZERS.clear()
        _FAST.clear()


class _PartWriters:
    """Lazily opened writers for one input shard, one set per source."""

    def __init__(self, cfg: PackConfig, index: int, tok: PackTokenizer) -> None:
        self.cfg, self.index, self.tok = cfg, index, tok
        self.dtype = shard_dtype(cfg, tok)
        self.writers: dict[str, list[Any]] = {}
        self.stats: dict[str, Counter] = {}

    def _open(self, source: str) -> list[Any]:
        base = Path(self.cfg.output_dir) / source_dirname(source) / f"part-{self.index:05d}"
        ws: list[Any] = []
        if self.cfg.write_megatron:
            ws.append(MegatronWriter(base, self.dtype))
        if self.cfg.write_ds:
            ws.append(DsWriter(base.with_name(base.name + ".ds"), 2 if self.dtype == np.uint16 else 4,
                               self.tok.fingerprint))
        self.writers[source] = ws
        self.stats[source] = Counter()
        return ws

    def add(self, source: str, tokens: np.ndarray, lengths: np.ndarray) -> None:
        ws = self.writers.get(source) or self._open(source)
        for w in ws:
            w.add(tokens, lengths)
        st = self.stats[source]
        st["documents"] += int(lengths.size)
        st["tokens"] += int(tokens.size)
        st["max_token_id"] = max(st["max_token_id"], int(tokens.max()) if tokens.size else 0)

    def close(self) -> dict[str, dict[str, Any]]:
        files = {}
        for source, ws in self.writers.items():
            for w in ws:
                w.close()
            rel = f"{source_dirname(source)}/part-{self.index:05d}"
            files[source] = {"prefix": rel, **dict(self.stats[source])}
        return files

    def abort(self) -> None:
        for ws in self.writers.values():
            for w in ws:
                w.abort()


def _batch_sources(batch: pa.RecordBatch, cfg: PackConfig, default: str) -> list[str] | str:
    if cfg.source is not None or cfg.source_column not in batch.schema.names:
        return cfg.source or default
    col = pc.fill_null(batch.column(cfg.source_column).cast(pa.string()), default)
    return col.to_pylist()


def pack_shard(task: tuple[int, str, dict[str, Any], bool]) -> dict[str, Any]:
    """Tokenize one Parquet shard into per-source part files; never raises for bad input."""
    index, path, cfg_dict, single_thread = task
    if single_thread:  # one tokenizer thread per worker process (read when its pool starts)
        os.environ["RAYON_NUM_THREADS"] = "1"
    cfg = PackConfig(**cfg_dict)
    t0 = time.perf_counter()
    result: dict[str, Any] = {"input": path, "index": index, "documents_in": 0, "empty": 0,
                              "errors": {}, "files": {}}
    tok, fast = _worker_tokenizer(cfg)
    enc = _Encoder(tok, fast, cfg.verify_docs)
    writers = _PartWriters(cfg, index, tok)
    default_source = cfg.source or Path(path).parent.name
    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        if cfg.text_column not in names:
            raise KeyError(f"no {cfg.text_column!r} column")
        cols = [cfg.text_column] + ([cfg.source_column] if cfg.source_column in names else [])
        for rb in pf.iter_batches(batch_size=cfg.batch_rows, columns=cols):
            _pack_batch(rb, cfg, enc, writers, default_source, result)
        result["files"] = writers.close()
    except Exception as exc:  # unreadable or truncated input: count it, leave no partial output
        writers.abort()
        kind = f"unreadable_input:{type(exc).__name__}"
        result["errors"][kind] = result["errors"].get(kind, 0) + 1
        result["error_message"] = f"{path}: {exc}"
        log.error("pack: skipping %s (%s: %s)", path, type(exc).__name__, exc)
    result["fast_encoder"] = enc.fast is not None
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result


def _pack_batch(rb: pa.RecordBatch, cfg: PackConfig, enc: _Encoder, writers: _PartWriters,
                default_source: str, result: dict[str, Any]) -> None:
    text = rb.column(cfg.text_column)
    result["documents_in"] += rb.num_rows
    nonempty = pc.fill_null(pc.greater(pc.utf8_length(text), 0), False)
    n_keep = pc.sum(nonempty).as_py() or 0
    result["empty"] += rb.num_rows - n_keep
    if n_keep == 0:
        return
    sources = _batch_sources(rb, cfg, default_source)
    keep_idx = np.flatnonzero(nonempty.to_numpy(zero_copy_only=False))
    texts = text.filter(nonempty).to_pylist()
    tokens, lengths = enc.encode(texts)
    if tokens.size and int(tokens.max()) >= enc.tok.vocab_size:
        raise ValueError(f"tokenizer produced id {int(tokens.max())} >= vocab size {enc.tok.vocab_size}")
    if isinstance(sources, str):
        writers.add(sources, tokens, lengths)
        return
    src = np.asarray(sources, dtype=object)[keep_idx]
    ends = np.cumsum(lengths)
    starts = ends - lengths
    for s in sorted(set(src.tolist())):  # sorted: deterministic order of writers and files
        sel = np.flatnonzero(src == s)
        if sel.size == len(src):
            writers.add(s, tokens, lengths)
            continue
        tok_idx = np.concatenate([np.arange(starts[i], ends[i]) for i in sel])
        writers.add(s, tokens[tok_idx], lengths[sel])


# ---------------------------------------------------------------------------------------------
# Parallel map, manifest, entry points


def parallel_map(fn: Callable[[Any], Any], items: Sequence[Any], workers: int, executor: str = "auto",
                 scratch_dir: Path | None = None) -> list[Any]:
    """Map a picklable top-level function over items in order: Ray tasks (``executor="ray"``, or
    ``auto`` with ``RAY_ADDRESS`` set) or the pipeline's local process pool."""
    use_ray = executor == "ray" or (executor == "auto" and bool(os.environ.get("RAY_ADDRESS")))
    if not use_ray and (workers <= 1 or len(items) <= 1):
        return [fn(it) for it in items]
    from core.executors import make_context

    ctx = make_context("ray" if use_ray else "local", workers, 0, scratch_dir or Path("."))
    return ctx.map(fn, items, desc="pack")


def expand_inputs(inputs: Sequence[str]) -> list[Path]:
    """Files, directories (their ``*.parquet``, recursively) and globs, deduplicated and sorted."""
    found: set[Path] = set()
    for spec in inputs:
        p = Path(spec)
        if p.is_dir():
            found.update(q for q in p.rglob("*.parquet") if not q.name.startswith("."))
        elif any(ch in spec for ch in "*?["):
            found.update(Path(q) for q in glob.glob(spec, recursive=True))
        else:
            found.add(p)  # a missing file is reported by its task, not silently dropped
    return sorted(found)


def shard_dtype(cfg: PackConfig, tok: PackTokenizer) -> type[np.number]:
    if cfg.token_dtype == "auto":
        return token_dtype(tok.vocab_size)
    if cfg.token_dtype == "uint16" and tok.vocab_size > 65_536:
        raise ValueError(f"vocab size {tok.vocab_size} does not fit uint16 tokens")
    return np.int32 if cfg.token_dtype == "int32" else np.uint16


def _tokenizer_info(tok: PackTokenizer, spec: str) -> dict[str, Any]:
    return {"fingerprint": tok.fingerprint, "vocab_size": int(tok.vocab_size), "eos_id": int(tok.eos_id),
            "bos_id": None if tok.bos_id is None else int(tok.bos_id), "path": str(spec)}


def _check_existing(out: Path, info: dict[str, Any], overwrite: bool) -> None:
    path = out / MANIFEST
    if not path.is_file() or overwrite:
        return
    old = read_json(path).get("tokenizer", {})
    if old.get("fingerprint") != info["fingerprint"] or old.get("vocab_size") != info["vocab_size"]:
        raise ValueError(f"{path} was written with another tokenizer (fingerprint {old.get('fingerprint')}, "
                         f"vocab {old.get('vocab_size')}); refusing to mix shards (use overwrite)")


def pack(cfg: PackConfig) -> dict[str, Any]:
    """Tokenize every input shard and write part files plus manifests; return the manifest."""
    out = Path(cfg.output_dir)
    tok = _cached_tokenizer(cfg)
    info = _tokenizer_info(tok, cfg.tokenizer)
    _check_existing(out, info, cfg.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    inputs = expand_inputs(cfg.inputs)
    if not inputs:
        raise FileNotFoundError(f"no Parquet inputs match {cfg.inputs}")
    workers = cfg.workers or os.cpu_count() or 1
    ray_env = cfg.executor == "auto" and bool(os.environ.get("RAY_ADDRESS"))
    parallel = (workers > 1 and len(inputs) > 1) or cfg.executor == "ray" or ray_env
    tasks = [(i, str(p), cfg.model_dump(), parallel) for i, p in enumerate(inputs)]
    t0 = time.perf_counter()
    results = parallel_map(pack_shard, tasks, workers, cfg.executor, out)
    seconds = time.perf_counter() - t0
    manifest = build_manifest(results, info, shard_dtype(cfg, tok), cfg)
    common = {k: v for k, v in manifest.items() if k not in ("sources", "inputs", "totals")}
    for source, entry in manifest["sources"].items():  # per-source copy: prefixes relative to its dir
        files = [{**f, "prefix": Path(f["prefix"]).name} for f in entry["files"]]
        write_json_atomic({**common, "sources": {source: {**entry, "files": files}}},
                          out / source_dirname(source) / MANIFEST)
    write_json_atomic(manifest, out / MANIFEST)
    tot = manifest["totals"]
    log.info("packed %d documents, %d tokens from %d shards in %.1fs (%.0f tokens/s); %d empty, %d errors",
             tot["documents"], tot["tokens"], len(inputs), seconds, tot["tokens"] / max(seconds, 1e-9),
             tot["empty"], tot["errors"])
    return manifest


def build_manifest(results: list[dict[str, Any]], info: dict[str, Any], dtype: type[np.number],
                   cfg: PackConfig) -> dict[str, Any]:
    """Merge per-shard results into the manifest (deterministic: no timings, sorted keys)."""
    sources: dict[str, dict[str, Any]] = {}
    errors: Counter = Counter()
    for r in results:
        errors.update(r["errors"])
        for source, f in r["files"].items():
            s = sources.setdefault(source, {"dir": source_dirname(source), "documents": 0, "tokens": 0,
                                            "files": []})
            s["documents"] += f["documents"]
            s["tokens"] += f["tokens"]
            s["files"].append({**f, "input": r["input"]})
    formats = (["megatron"] if cfg.write_megatron else []) + (["ds"] if cfg.write_ds else [])
    return {
        "version": MANIFEST_VERSION,
        "tokenizer": info,
        "dtype": np.dtype(dtype).name,
        "formats": formats,
        "eos_appended": True,
        "sources": dict(sorted(sources.items())),
        "inputs": [{k: r.get(k) for k in ("input", "documents_in", "empty", "errors", "error_message")}
                   for r in results],
        "totals": {"documents": sum(s["documents"] for s in sources.values()),
                   "tokens": sum(s["tokens"] for s in sources.values()),
                   "empty": sum(r["empty"] for r in results), "errors": sum(errors.values()),
                   "errors_by_kind": dict(sorted(errors.items()))},
    }


def main(argv: Sequence[str] | None = None) -> int:
    """CLI for ``axk1 pack``; returns a non-zero exit code when some input could not be read."""
    ap = argparse.ArgumentParser(prog="axk1 pack", description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", help="Parquet files, directories or globs")
    ap.add_argument("-o", "--output-dir", required=True)
    ap.add_argument("-t", "--tokenizer", required=True, help="tokenizer directory or HF tokenizer.json")
    ap.add_argument("--eos-token", help="EOS token string (only for a bare HF tokenizer.json)")
    ap.add_argument("--source", help="one source name for every input (default: column, then directory)")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--source-column", default="source")
    ap.add_argument("--batch-rows", type=int, default=4096)
    ap.add_argument("--ds", action="store_true", help="also write datatrove/nanotron .ds files")
    ap.add_argument("--workers", type=int, default=0, help="local processes (0 = all cores)")
    ap.add_argument("--executor", choices=["auto", "local", "ray"], default="auto")
    ap.add_argument("--no-fast-encode", action="store_true",
                    help="call the tokenizer directly instead of the verified word-table encoder")
    ap.add_argument("--no-compiled-bpe", action="store_true",
                    help="in that encoder, merge new words with the tokenizer's own BPE")
    ap.add_argument("--overwrite", action="store_true", help="replace shards from another tokenizer")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = PackConfig(inputs=a.inputs, output_dir=a.output_dir, tokenizer=a.tokenizer, eos_token=a.eos_token,
                     source=a.source, text_column=a.text_column, source_column=a.source_column,
                     batch_rows=a.batch_rows, write_ds=a.ds, workers=a.workers, executor=a.executor,
                     fast_encode=not a.no_fast_encode, compiled_bpe=not a.no_compiled_bpe, overwrite=a.overwrite)
    manifest = pack(cfg)
    return 1 if manifest["totals"]["errors"] else 0
