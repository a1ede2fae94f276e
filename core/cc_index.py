"""Select WARC records from Common Crawl's columnar URL index and write one pointer shard per WARC file.

The index ("cc-index-table", ``s3://commoncrawl/cc-index/table/cc-main/warc/crawl=.../subset=warc/``)
is Parquet with a flat schema. The columns this module reads (others are ignored):

==============================  =========  ===================================================
column                          type       meaning
==============================  =========  ===================================================
``url``                         string     the captured URL
``url_host_name``               string     host name (``www.example.co.kr``)
``url_host_registered_domain``  string     domain below the registry suffix (``example.co.kr``)
``fetch_time``                  timestamp  capture time
``fetch_status``                int16      HTTP status (``subset=warc`` holds 200s; others in
                                           ``crawldiagnostics``)
``content_mime_detected``       string     MIME type detected from the payload
``content_charset``             string     charset of HTML/text pages (since CC-MAIN-2018-39)
``content_languages``           string     up to three ISO-639-3 codes by CLD2, most used first,
                                           comma separated (``kor,eng``; since CC-MAIN-2018-39)
``warc_filename``               string     WARC path below ``s3://commoncrawl/``
``warc_record_offset``          int32      byte offset of the record's gzip member in the WARC
``warc_record_length``          int32      byte length of that gzip member
==============================  =========  ===================================================

Other columns of the real table: ``url_surtkey``, ``url_host_tld``, ``url_host_2nd_last_part`` ..
``url_host_5th_last_part``, ``url_host_registry_suffix``, ``url_host_private_suffix``,
``url_host_private_domain``, ``url_host_name_reversed``, ``url_protocol``, ``url_port``,
``url_path``, ``url_query``, ``fetch_redirect``, ``content_digest``, ``content_mime_type``,
``content_truncated``, ``warc_record_id`` (since CC-MAIN-2026-30), ``warc_segment``, and the
partition columns ``crawl`` and ``subset``.

``select_records`` streams the index files (only the columns above, one record batch at a time) and
keeps a row when, in this order, its status is wanted, its detected MIME type is wanted, its host
passes the include/exclude lists, its URL passes the include/exclude patterns and its languages
contain a wanted language. Every index row is accounted for: ``rows_in = selected + rejected by
reason``. Optionally a host whose labelled pages are mostly in a wanted language also contributes
its other pages (CLD2 labels are missing or wrong on a few percent of pages). URL dedup keeps one
record per URL: the latest capture, ties broken by (WARC file, offset), so the choice never depends
on file order. ``write_pointer_shards`` then writes the selected rows of each WARC file, sorted by
offset, to one Parquet file: a shard that ``core.cc_records`` reads by byte range.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.io import AtomicParquetWriter

log = logging.getLogger(__name__)

#: Index columns a selection needs (``fetch_time`` is optional in hand-made indexes).
INDEX_COLUMNS = ["url", "url_host_name", "url_host_registered_domain", "fetch_time", "fetch_status",
                 "content_mime_detected", "content_charset", "content_languages", "warc_filename",
                 "warc_record_offset", "warc_record_length"]
_REQUIRED = {"url", "url_host_name", "fetch_status", "content_languages", "warc_filename",
             "warc_record_offset", "warc_record_length"}

#: Columns of a pointer shard (one row per WARC record to fetch).
POINTER_SCHEMA = pa.schema([
    pa.field("url", pa.string()),
    pa.field("url_host_name", pa.string()),
    pa.field("fetch_time", pa.timestamp("us", tz="UTC")),
    pa.field("content_languages", pa.string()),
    pa.field("content_charset", pa.string()),
    pa.field("warc_filename", pa.string()),
    pa.field("warc_record_offset", pa.int64()),
    pa.field("warc_record_length", pa.int64()),
    pa.field("selected_by", pa.string()),
    pa.field("warc_location", pa.string()),
])

#: Rejection reasons in the order the filters apply.
REASONS = ("fetch_status", "mime", "host", "url", "language")


class CCIndexSelect(BaseModel):
    """What to take from the index (the ``cc_index`` key of a job input)."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(..., min_length=1, description="index Parquet files or glob patterns")
    warc_prefix: str = Field(..., min_length=1, description="URL prefix (https://data.commoncrawl.org/) "
                             "or local folder that warc_filename is relative to")
    languages: list[str] = Field(default_factory=lambda: ["kor"], min_length=1,
                                 description="ISO-639-3 codes as in content_languages")
    primary_language_only: bool = Field(False, description="require the first listed language to match "
                                        "(default: any of the up to three listed)")
    fetch_status: list[int] = Field(default_factory=lambda: [200], min_length=1)
    mime_types: list[str] | None = Field(default_factory=lambda: ["text/html", "application/xhtml+xml"],
                                         description="content_mime_detected values to keep; null keeps all")
    hosts_include: list[str] = Field(default_factory=list, description="keep only these hosts or domains "
                                     "(a domain matches its subdomains)")
    hosts_exclude: list[str] = Field(default_factory=list, description="drop these hosts or domains")
    url_include: list[str] = Field(default_factory=list, description="regexes; a URL must match one")
    url_exclude: list[str] = Field(default_factory=list, description="regexes; a URL matching one is dropped")
    dedup_urls: bool = Field(True, description="one record per URL (latest capture)")
    rescue_host_share: float | None = Field(
        None, gt=0.0, le=1.0, description="also take every page of a host when at least this share of its "
        "language-labelled pages is in a wanted language (recovers missing/wrong CLD2 labels)")
    rescue_min_pages: int = Field(3, ge=1, description="labelled pages a host needs before it is rescued")
    timeout_s: float = Field(30.0, gt=0, description="per-request timeout when fetching records")
    retries: int = Field(4, ge=1, le=20, description="attempts per record before the shard fails")
    preselect: WetPreselect | None = Field(None, description="choose pages by language ID on WET text "
                                           "instead of content_languages")

    @field_validator("url_include", "url_exclude")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
        return v

    @field_validator("languages")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        for code in v:
            if not re.fullmatch(r"[a-z]{3}", code):
                raise ValueError(f"{code!r} is not an ISO-639-3 code as content_languages writes them (e.g. kor)")
        return v


class WetPreselect(BaseModel):
    """Choose pages by language ID on Common Crawl's WET text (``cc_index.preselect``)."""

    model_config = ConfigDict(extra="forbid")

    wet_prefix: str | None = Field(None, description="URL prefix or folder of the WET files "
                                   "(default: warc_prefix); names follow CC: warc/X.warc.gz -> wet/X.warc.wet.gz")
    languages: list[str] = Field(default_factory=lambda: ["ko"], min_length=1,
                                 description="language codes as the langid stage writes them")
    langid: dict[str, Any] = Field(default_factory=dict, description="options of the langid stage")
    hangul_prefilter: bool = Field(True, description="when the only wanted language is ko, skip language ID "
                                   "on texts without one Hangul syllable (they cannot be Korean)")


CCIndexSelect.model_rebuild()


def wet_name(warc_filename: str) -> str:
    """Common Crawl's WET file for a WARC file: ``.../warc/X.warc.gz`` -> ``.../wet/X.warc.wet.gz``."""
    name = warc_filename.replace("/warc/", "/wet/")
    return name[: -len(".warc.gz")] + ".warc.wet.gz" if name.endswith(".warc.gz") else name + ".wet"


def join_location(prefix: str, filename: str) -> str:
    """``prefix`` + ``filename`` for a URL prefix or a local folder."""
    if "://" in prefix:
        return prefix.rstrip("/") + "/" + filename.lstrip("/")
    return str(Path(prefix).expanduser() / filename)


def _language_pattern(languages: list[str], primary_only: bool) -> str:
    alt = "|".join(re.escape(x) for x in languages)
    return f"^({alt})(,|$)" if primary_only else f"(^|,)({alt})(,|$)"


def _host_mask(hosts: pa.Array, domains: pa.Array, wanted: list[str]) -> np.ndarray:
    mask = np.zeros(len(hosts), dtype=bool)
    for h in (x.lower().strip(".") for x in wanted):
        mask |= pc.fill_null(pc.equal(hosts, h), False).to_numpy(zero_copy_only=False)
        mask |= pc.fill_null(pc.ends_with(hosts, "." + h), False).to_numpy(zero_copy_only=False)
        mask |= pc.fill_null(pc.equal(domains, h), False).to_numpy(zero_copy_only=False)
    return mask


def _regex_any(values: pa.Array, patterns: list[str]) -> np.ndarray:
    mask = np.zeros(len(values), dtype=bool)
    for p in patterns:
        mask |= pc.fill_null(pc.match_substring_regex(values, p), False).to_numpy(zero_copy_only=False)
    return mask


def _base_reasons(batch: pa.Table, cfg: CCIndexSelect) -> np.ndarray:
    """Index of the first failed filter before the language filter, or -1 when all pass."""
    n = batch.num_rows
    reason = np.full(n, -1, dtype=np.int8)

    def fail(k: int, bad: np.ndarray) -> None:
        reason[(reason < 0) & bad] = k

    status = batch.column("fetch_status").cast(pa.int32())
    fail(0, ~pc.fill_null(pc.is_in(status, pa.array(cfg.fetch_status, pa.int32())), False).to_numpy(
        zero_copy_only=False))
    if cfg.mime_types is not None:
        mime = (batch.column("content_mime_detected") if "content_mime_detected" in batch.column_names
                else pa.nulls(n, pa.string()))
        fail(1, ~pc.fill_null(pc.is_in(mime, pa.array(cfg.mime_types, pa.string())), False).to_numpy(
            zero_copy_only=False))
    if cfg.hosts_include or cfg.hosts_exclude:
        hosts = pc.utf8_lower(batch.column("url_host_name"))
        domains = (pc.utf8_lower(batch.column("url_host_registered_domain"))
                   if "url_host_registered_domain" in batch.column_names else pa.nulls(n, pa.string()))
        if cfg.hosts_include:
            fail(2, ~_host_mask(hosts, domains, cfg.hosts_include))
        if cfg.hosts_exclude:
            fail(2, _host_mask(hosts, domains, cfg.hosts_exclude))
    if cfg.url_include:
        fail(3, ~_regex_any(batch.column("url"), cfg.url_include))
    if cfg.url_exclude:
        fail(3, _regex_any(batch.column("url"), cfg.url_exclude))
    return reason


def _dataset(paths: list[Path]) -> ds.Dataset:
    dataset = ds.dataset([str(p) for p in paths], format="parquet")
    missing = _REQUIRED - set(dataset.schema.names)
    if missing:
        raise ValueError(f"index {paths[0]} lacks column(s) {', '.join(sorted(missing))}; "
                         "is it a cc-index-table Parquet file?")
    return dataset


def _scan(dataset: ds.Dataset, batch_rows: int) -> Any:
    columns = [c for c in INDEX_COLUMNS if c in dataset.schema.names]
    for rb in dataset.to_batches(columns=columns, batch_size=batch_rows, use_threads=False):
        yield pa.Table.from_batches([rb])


def _pointers(table: pa.Table, selected_by: str) -> pa.Table:
    n = table.num_rows
    cols: dict[str, Any] = {}
    for f in POINTER_SCHEMA:
        if f.name == "selected_by":
            cols[f.name] = pa.array([selected_by] * n, pa.string())
        elif f.name == "warc_location":
            cols[f.name] = pa.nulls(n, pa.string())
        elif f.name in table.column_names:
            col = table.column(f.name)
            if f.name == "fetch_time" and pa.types.is_timestamp(col.type) and col.type.tz is None:
                col = pc.assume_timezone(col, "UTC")
            cols[f.name] = col.cast(f.type)
        else:
            cols[f.name] = pa.nulls(n, f.type)
    return pa.table(cols, schema=POINTER_SCHEMA)


def select_records(paths: list[Path], cfg: CCIndexSelect, batch_rows: int = 65_536
                   ) -> tuple[pa.Table, dict[str, Any]]:
    """Pointer rows of every selected record (``POINTER_SCHEMA``, no locations yet) and the counts.

    Memory holds the selected rows only (a few hundred bytes each), never the whole index.
    """
    dataset = _dataset(paths)
    lang_re = _language_pattern(cfg.languages, cfg.primary_language_only)
    rejected: Counter[str] = Counter()
    rows_in = 0
    picked: list[pa.Table] = []
    host_hits: Counter[str] = Counter()
    for batch in _scan(dataset, batch_rows):
        rows_in += batch.num_rows
        reason = _base_reasons(batch, cfg)
        if cfg.preselect is None:  # WET mode: language ID on the text decides later
            langs = batch.column("content_languages")
            lang_ok = pc.fill_null(pc.match_substring_regex(langs, lang_re), False).to_numpy(zero_copy_only=False)
            reason[(reason < 0) & ~lang_ok] = len(REASONS) - 1
        for k, name in enumerate(REASONS):
            rejected[name] += int((reason == k).sum())
        keep = reason < 0
        if keep.any():
            chosen = batch.filter(pa.array(keep))
            picked.append(_pointers(chosen, "language"))
            if cfg.rescue_host_share is not None:
                host_hits.update(chosen.column("url_host_name").to_pylist())
    stats: dict[str, Any] = {"rows_in": rows_in}
    if cfg.rescue_host_share is not None and cfg.preselect is None and host_hits:
        rescued = _rescue(dataset, cfg, host_hits, lang_re, batch_rows)
        if rescued.num_rows:
            picked.append(rescued)
            rejected["language"] -= rescued.num_rows
        stats["rescued"] = rescued.num_rows
    table = pa.concat_tables(picked) if picked else POINTER_SCHEMA.empty_table()
    if cfg.dedup_urls and table.num_rows:
        before = table.num_rows
        table = dedup_urls(table)
        rejected["duplicate_url"] = before - table.num_rows
    stats["selected"] = table.num_rows
    stats["rejected"] = {k: v for k, v in rejected.items() if v}
    assert rows_in == stats["selected"] + sum(stats["rejected"].values()), stats
    return table, stats


def merge_selections(parts: list[tuple[pa.Table, dict[str, Any]]], dedup: bool) -> tuple[pa.Table, dict[str, Any]]:
    """Combine the selections of several index files (selected in parallel, one file each).

    URL dedup across the parts gives the same rows as one selection over every file: each part is
    deduped already, and ``dedup_urls`` keeps the same (latest, then smallest WARC file and offset)
    capture of a URL wherever it is. Within one crawl a URL lies in one index file (the files are
    ranges of SURT keys), so this only removes captures of the same URL in other crawls.
    """
    tables = [t for t, _ in parts if t.num_rows]
    table = pa.concat_tables(tables) if tables else POINTER_SCHEMA.empty_table()
    rejected: Counter[str] = Counter()
    stats: dict[str, Any] = {"rows_in": 0}
    for _, st in parts:
        stats["rows_in"] += st["rows_in"]
        rejected.update(st["rejected"])
        if "rescued" in st:
            stats["rescued"] = stats.get("rescued", 0) + st["rescued"]
    if dedup and len(parts) > 1 and table.num_rows:
        before = table.num_rows
        table = dedup_urls(table)
        rejected["duplicate_url"] += before - table.num_rows
    stats["selected"] = table.num_rows
    stats["rejected"] = {k: v for k, v in sorted(rejected.items()) if v}
    return table, stats


def _rescue(dataset: ds.Dataset, cfg: CCIndexSelect, host_hits: Counter[str], lang_re: str,
            batch_rows: int) -> pa.Table:
    """Pages of mostly-wanted-language hosts that passed every filter but the language one."""
    hosts = pa.array(sorted(host_hits), pa.string())
    labelled: Counter[str] = Counter()
    candidates: list[pa.Table] = []
    for batch in _scan(dataset, batch_rows):
        in_host = pc.fill_null(pc.is_in(batch.column("url_host_name"), hosts), False)
        if not pc.any(in_host).as_py():
            continue
        batch = batch.filter(in_host)
        langs = batch.column("content_languages")
        has_label = pc.is_valid(langs)
        labelled.update(batch.filter(has_label).column("url_host_name").to_pylist())
        lang_ok = pc.fill_null(pc.match_substring_regex(langs, lang_re), False).to_numpy(zero_copy_only=False)
        cand = (_base_reasons(batch, cfg) < 0) & ~lang_ok
        if cand.any():
            candidates.append(batch.filter(pa.array(cand)))
    good = [h for h, hits in host_hits.items()
            if labelled[h] >= cfg.rescue_min_pages and hits / labelled[h] >= cfg.rescue_host_share]
    if not candidates or not good:
        return POINTER_SCHEMA.empty_table()
    cand_table = pa.concat_tables(candidates)
    cand_table = cand_table.filter(pc.is_in(cand_table.column("url_host_name"), pa.array(sorted(good))))
    return _pointers(cand_table, "host_rescue")


def dedup_urls(table: pa.Table) -> pa.Table:
    """One row per URL: the latest ``fetch_time``, then the smallest (WARC file, offset)."""
    order = table.sort_by([("url", "ascending"), ("fetch_time", "descending"),
                           ("warc_filename", "ascending"), ("warc_record_offset", "ascending")])
    urls = order.column("url").combine_chunks()
    n = len(urls)
    if n <= 1:
        return order
    first = np.ones(n, dtype=bool)
    first[1:] = ~pc.fill_null(pc.equal(urls[1:], urls[:-1]), False).to_numpy(zero_copy_only=False)
    return order.filter(pa.array(first))


def shard_file_name(warc_filename: str) -> str:
    """A flat, readable file name for the pointer shard of one WARC file."""
    base = warc_filename.rsplit("/", 1)[-1]
    for suffix in (".warc.gz", ".gz"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in base)
    return f"{safe}.ptr.parquet"


def write_pointer_shards(table: pa.Table, out_dir: Path, warc_prefix: str,
                         metadata: dict[str, str] | None = None) -> list[tuple[Path, str]]:
    """One pointer Parquet per WARC file (rows sorted by offset); returns (path, warc_filename) pairs
    in WARC-file order. ``metadata`` goes into each file's schema metadata (fetch options)."""
    out: list[tuple[Path, str]] = []
    if table.num_rows == 0:
        return out
    files = sorted(pc.unique(table.column("warc_filename")).to_pylist())
    names: dict[str, str] = {}
    schema = POINTER_SCHEMA.with_metadata({k.encode(): v.encode() for k, v in (metadata or {}).items()})
    for warc in files:
        rows = table.filter(pc.equal(table.column("warc_filename"), warc)).sort_by("warc_record_offset")
        loc = join_location(warc_prefix, warc)
        rows = rows.set_column(rows.schema.get_field_index("warc_location"), "warc_location",
                               pa.array([loc] * rows.num_rows, pa.string()))
        name = shard_file_name(warc)
        if name in names and names[name] != warc:  # same base name in two segments
            name = name.replace(".ptr.parquet", f"-{len(out):05d}.ptr.parquet")
        names[name] = warc
        writer = AtomicParquetWriter(out_dir / name, schema=schema)
        writer.write(rows.replace_schema_metadata(schema.metadata))
        writer.commit()
        out.append((out_dir / name, warc))
    return out
