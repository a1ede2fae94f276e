"""The ``cc_index`` input: select Common Crawl records from the URL index, one shard per WARC file.

Planning (on the driver, before any segment runs):

1. ``core.cc_index.select_records`` filters each index file (status, MIME, host, URL, and the
   index's ``content_languages`` unless WET pre-selection is on) and dedups URLs, one file per
   worker task on the run's executor; ``merge_selections`` dedups URLs across the files.
2. ``core.cc_index.write_pointer_shards`` writes the selected pointers of each WARC file to one
   Parquet file under ``<run>/input/cc_select-<stamp>/``.
3. With ``preselect`` (WET mode) every pointer shard is narrowed, in parallel on the run's
   executor, to the pages whose WET text the langid stage labels with a wanted language
   (``preselect_shard``). The WET file of a WARC file follows Common Crawl's naming.
4. ``_selection.json`` records the counts (every index row and every pointer accounted for) and
   marks the selection complete; the folder's stamp covers the index files' identities and the
   selection config, so a rerun reuses it and a changed selection recomputes.

Each pointer shard is then an ordinary input file of format ``cc_records``: the first segment
fetches its records by byte range (``core.cc_records``) and extraction sees raw rows.
"""

from __future__ import annotations

import glob
import logging
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.byte_range import RangeMissing, open_stream
from core.cc_index import (
    CCIndexSelect,
    join_location,
    merge_selections,
    select_records,
    wet_name,
    write_pointer_shards,
)
from core.cc_records import META_RETRIES, META_TIMEOUT
from core.io import AtomicParquetWriter, read_json, stamp, write_json_atomic
from core.readers import InputFile
from core.stage import RunContext, apply_stage
from core.stats import StageStats

log = logging.getLogger(__name__)

#: WET records language-identified per batch.
_WET_BATCH = 1000
#: A Hangul syllable (U+AC00..U+D7A3) in UTF-8, searched in the raw bytes before any decoding
#: (also matches U+D7A4..U+D7FF, unassigned or jamo: harmless for a pre-check).
_HANGUL_UTF8 = re.compile(rb"\xea[\xb0-\xbf][\x80-\xbf]|[\xeb\xec][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]")


def _index_files(cfg: CCIndexSelect, resolve: Any) -> list[Path]:
    files: list[Path] = []
    for pattern in cfg.paths:
        resolved = str(resolve(pattern))
        hits = sorted(glob.glob(resolved, recursive=True)) if glob.has_magic(resolved) else [resolved]
        files.extend(Path(h) for h in hits)
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise FileNotFoundError(f"cc_index: index file not found: {', '.join(missing[:5])}")
    if not files:
        raise FileNotFoundError(f"cc_index: no index file matches {cfg.paths}")
    return files


def _prefix(prefix: str, resolve: Any) -> str:
    return prefix if "://" in prefix else str(resolve(prefix))


def expand_cc_index(cfg: CCIndexSelect, source: str, text_field: str, run_dir: Path, resolve: Any,
                    ctx: RunContext | None = None) -> list[InputFile]:
    """The pointer shards of a ``cc_index`` input (selecting them first unless already done)."""
    files = _index_files(cfg, resolve)
    warc_prefix = _prefix(cfg.warc_prefix, resolve)
    identity = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    options = cfg.model_dump(mode="json", exclude={"paths", "warc_prefix"})
    sel_dir = run_dir / "input" / f"cc_select-{stamp('cc_index', identity, warc_prefix, options, length=10)}"
    marker = sel_dir / "_selection.json"
    if not marker.exists():
        if sel_dir.exists():  # an interrupted selection
            shutil.rmtree(sel_dir)
        _select(cfg, files, warc_prefix, sel_dir, marker, ctx, resolve)
    else:
        log.info("cc_index: reusing the selection in %s", sel_dir)
    done = read_json(marker)
    return [InputFile(sel_dir / s["file"], "cc_records", source, text_field, s["warc_filename"])
            for s in done["shards"]]


def _select(cfg: CCIndexSelect, files: list[Path], warc_prefix: str, sel_dir: Path, marker: Path,
            ctx: RunContext | None, resolve: Any) -> None:
    tasks = [(str(f), cfg.model_dump(mode="json")) for f in files]
    if ctx is None or len(files) == 1:
        parts = [select_file(t) for t in tasks]
    else:
        parts = ctx.map(select_file, tasks, desc="index selection")
    table, stats = merge_selections(parts, cfg.dedup_urls)
    meta = {META_TIMEOUT: str(cfg.timeout_s), META_RETRIES: str(cfg.retries)}
    if cfg.preselect is None:
        shards = write_pointer_shards(table, sel_dir, warc_prefix, meta)
        entries = [{"file": p.name, "warc_filename": w} for p, w in shards]
    else:
        cand_dir = sel_dir / "_candidates"
        shards = write_pointer_shards(table, cand_dir, warc_prefix, meta)
        wet_prefix = _prefix(cfg.preselect.wet_prefix or cfg.warc_prefix, resolve)
        hangul = cfg.preselect.hangul_prefilter and cfg.preselect.languages == ["ko"]
        tasks = [(str(p), join_location(wet_prefix, wet_name(w)), str(sel_dir / p.name), cfg.preselect.languages,
                  cfg.preselect.langid, hangul, cfg.timeout_s, cfg.retries) for p, w in shards]
        if ctx is None:
            results = [preselect_shard(t) for t in tasks]
        else:
            results = ctx.map(preselect_shard, tasks, desc="wet pre-selection")
        wet: Counter[str] = Counter()
        entries = []
        for (p, w), res in zip(shards, results):
            wet.update(res["counts"])
            if res["selected"]:
                entries.append({"file": p.name, "warc_filename": w})
            else:
                (sel_dir / p.name).unlink(missing_ok=True)  # nothing to fetch from this WARC file
        shutil.rmtree(cand_dir, ignore_errors=True)
        stats["wet_preselect"] = dict(sorted(wet.items()))
        stats["selected"] = wet.get("selected", 0)
    stats["shards"] = len(entries)
    log.info("cc_index: %d of %d index rows selected in %d WARC files; rejected %s", stats["selected"],
             stats["rows_in"], len(entries), stats["rejected"])
    write_json_atomic({"stats": stats, "shards": entries}, marker)


def select_file(task: tuple[str, dict[str, Any]]) -> tuple[pa.Table, dict[str, Any]]:
    """Select from one index file (a worker task: index files are selected in parallel)."""
    path, options = task
    return select_records([Path(path)], CCIndexSelect(**options))


def preselect_shard(task: tuple[str, str, str, list[str], dict[str, Any], bool, float, int]) -> dict[str, Any]:
    """Narrow one pointer shard to the pages whose WET text has a wanted language.

    Every pointer is counted once: ``selected``, ``rejected:<langid reason>`` (the langid stage
    rejected the WET text or labelled it with another language), ``rejected:no_hangul`` (Korean
    wanted, and the text has no Hangul syllable: not worth a model call) or
    ``rejected:no_wet_text`` (no WET record: not HTML, or no text). A WET file that does not exist counts its pointers as
    ``errors:wet_not_found``.
    """
    from stages.langid.stage import LangIDStage

    ptr_path, wet_location, out_path, languages, langid_options, hangul, timeout, retries = task
    pointers = pq.read_table(ptr_path)
    counts: Counter[str] = Counter(pointers_in=pointers.num_rows)
    stage = LangIDStage({**langid_options, "keep_languages": list(languages)})
    stats = StageStats("langid")
    wanted: set[str] = set()
    urls = set(pointers.column("url").to_pylist())
    seen: set[str] = set()
    try:
        with open_stream(wet_location, timeout=timeout, retries=retries) as remote, _seekable(remote) as fh:
            for batch in _wet_batches(fh, urls, seen, counts, hangul):
                kept = apply_stage(stage, batch, stats).kept
                wanted.update(kept.column("url").to_pylist())
    except RangeMissing as exc:
        log.warning("%s", exc)
        counts["errors:wet_not_found"] += pointers.num_rows
        selected = pointers.slice(0, 0)
    else:
        url_col = pointers.column("url")
        is_wanted = pc.is_in(url_col, pa.array(sorted(wanted), pa.string()))
        is_seen = pc.is_in(url_col, pa.array(sorted(seen), pa.string()))
        selected = pointers.filter(is_wanted)
        n_seen = int(pc.sum(is_seen).as_py() or 0)
        counts["rejected:no_wet_text"] += pointers.num_rows - n_seen
        no_hangul = counts.pop("no_hangul", 0)
        counts["rejected:no_hangul"] += no_hangul
        counts["rejected:langid"] += n_seen - selected.num_rows - no_hangul
        counts.update({f"langid:{k}": v for k, v in (stats.rejected + stats.errors).items()})
    counts["selected"] += selected.num_rows
    if selected.num_rows:
        with AtomicParquetWriter(Path(out_path), schema=pointers.schema) as writer:
            writer.write(selected)
            writer.commit()
    return {"counts": dict(counts), "selected": selected.num_rows}


@contextmanager
def _seekable(fh: Any) -> Iterator[Any]:
    """``fh`` itself when it can seek (FastWARC needs that), else a local temp-file copy of it."""
    if fh.seekable():
        yield fh
        return
    with tempfile.TemporaryFile() as tmp:
        shutil.copyfileobj(fh, tmp, 1 << 20)
        tmp.seek(0)
        yield tmp


def _wet_batches(fh: Any, urls: set[str], seen: set[str], counts: Counter[str], hangul: bool) -> Any:
    """Tables (id, text, url) of the WET records whose URL is among ``urls`` (first record per URL,
    added to ``seen``); with ``hangul``, texts without a Hangul syllable are counted, not yielded."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    rows: list[dict[str, Any]] = []
    for record in ArchiveIterator(fh, record_types=WarcRecordType.conversion, parse_http=False):
        counts["wet_records"] += 1
        url = (record.headers.get("WARC-Target-URI") or "").strip().strip("<>")
        if url not in urls or url in seen:
            continue
        seen.add(url)
        raw = record.reader.read()
        if hangul and not _HANGUL_UTF8.search(raw):
            counts["no_hangul"] += 1
            continue
        rows.append({"id": url, "text": raw.decode("utf-8", errors="replace"), "url": url})
        if len(rows) >= _WET_BATCH:
            yield pa.Table.from_pylist(rows)
            rows = []
    if rows:
        yield pa.Table.from_pylist(rows)
