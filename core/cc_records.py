"""Read the WARC records a pointer shard (``core.cc_index``) lists, by byte range, as raw rows.

Common Crawl writes every WARC record as its own gzip member, and the index gives each member's
offset and length, so one range request returns one complete record. Each record is decompressed,
parsed with FastWARC and turned into the same row the WARC reader yields for it (same columns, same
document id ``<source>/<warc_filename>:<WARC-Record-ID>``), so extraction cannot tell a selected
record from one read out of the whole file.

Accounting in the ``read`` stats: every pointer is one document in. A response becomes a row
(kept); another record type is ``rejected["record:<type>"]``; a pointer that cannot give a record is
an error: ``fetch:not_found`` (HTTP 404, no file), ``fetch:range_past_end``, ``record_parse:bad_gzip``
(the range is not one whole gzip member), ``record_parse:no_record``, ``record_parse:<exception>``.
An unreachable source (``RangeUnavailable`` after the retries) raises: the shard fails and stays
unfinished, so a rerun fetches it again instead of recording a transient outage as lost pages.
"""

from __future__ import annotations

import io
import logging
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from core.byte_range import RangeMissing, RangeReader, RangeShort
from core.limits import DEFAULT_LIMITS, TooLarge

log = logging.getLogger(__name__)

#: Pointer columns a shard must have.
_POINTER_COLUMNS = ["url", "warc_filename", "warc_record_offset", "warc_record_length", "warc_location"]
#: Schema-metadata keys of a pointer shard that set the fetch options.
META_TIMEOUT = "cc_fetch_timeout_s"
META_RETRIES = "cc_fetch_retries"
#: Largest record fetched (Common Crawl truncates payloads at 1 MiB; headers and gzip add little).
MAX_RECORD_BYTES = 16 << 20


def gunzip_member(data: bytes, cap: int = DEFAULT_LIMITS.max_body_bytes + (1 << 20)) -> bytes:
    """The content of ``data`` when it is exactly one complete gzip member; ``ValueError`` otherwise,
    ``TooLarge`` when it would expand beyond ``cap`` bytes (a bomb never grows past the cap)."""
    d = zlib.decompressobj(31)
    try:
        out = d.decompress(data, cap + 1)
    except zlib.error as exc:
        raise ValueError(f"not a gzip member ({exc})") from None
    if len(out) > cap or d.unconsumed_tail:
        raise TooLarge(f"record expands beyond {cap} bytes")
    if not d.eof:
        raise ValueError("gzip member is incomplete")
    if d.unused_data.strip(b"\x00\r\n "):
        raise ValueError(f"{len(d.unused_data)} bytes after the gzip member")
    return out


def parse_record(member: bytes, name: str, source: str,
                 max_body: int = DEFAULT_LIMITS.max_body_bytes) -> tuple[str, dict[str, Any] | None]:
    """``(record type, raw row or None)`` for one uncompressed WARC record."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    from core.readers import _warc_record_row

    records = iter(ArchiveIterator(io.BytesIO(member), parse_http=False, record_types=WarcRecordType.any_type))
    record = next(records, None)
    if record is None:
        raise LookupError("no WARC record in the range")
    kind = str(record.record_type).rsplit(".", 1)[-1]
    if kind != "response":
        return kind, None
    return kind, _warc_record_row(record, "response", name, source, max_body)


def iter_cc_records(path: Path, source: str, stats: Any, name: str | None = None,
                    reader: RangeReader | None = None,
                    max_body: int = DEFAULT_LIMITS.max_body_bytes) -> Iterator[dict[str, Any]]:
    """Raw rows of the records one pointer shard lists, in offset order (see the module doc)."""
    pf = pq.ParquetFile(path)
    missing = set(_POINTER_COLUMNS) - set(pf.schema_arrow.names)
    if missing:
        raise ValueError(f"{path} is not a pointer shard: no column(s) {', '.join(sorted(missing))}")
    meta = {k.decode(): v.decode() for k, v in (pf.schema_arrow.metadata or {}).items()}
    own = reader is None
    reader = reader or RangeReader(timeout=float(meta.get(META_TIMEOUT, 30)),
                                   retries=int(meta.get(META_RETRIES, 4)))
    try:
        for rb in pf.iter_batches(batch_size=1024, columns=_POINTER_COLUMNS):
            for ptr in rb.to_pylist():
                stats.docs_in += 1
                row = _fetch_one(ptr, reader, source, name or ptr["warc_filename"], stats, max_body)
                if row is not None:
                    stats.kept += 1
                    yield row
    finally:
        if own:
            reader.close()


def _fetch_one(ptr: dict[str, Any], reader: RangeReader, source: str, name: str,
               stats: Any, max_body: int) -> dict[str, Any] | None:
    offset, length, where = ptr["warc_record_offset"], ptr["warc_record_length"], ptr["warc_location"]
    if offset is None or length is None or length <= 0 or length > MAX_RECORD_BYTES:
        stats.errors["fetch:bad_pointer"] += 1
        log.warning("%s: unusable pointer offset=%s length=%s for %s", where, offset, length, ptr["url"])
        return None
    try:
        data = reader.read(where, int(offset), int(length))
    except (RangeMissing, RangeShort) as exc:
        stats.errors[f"fetch:{exc.reason}"] += 1
        log.warning("%s", exc)
        return None
    try:
        member = gunzip_member(data, max_body + (1 << 20))
    except TooLarge:
        stats.rejected["body_too_large"] += 1
        return None
    except ValueError as exc:
        stats.errors["record_parse:bad_gzip"] += 1
        log.warning("%s at %d+%d: %s", where, offset, length, exc)
        return None
    try:
        kind, row = parse_record(member, name, source, max_body)
    except TooLarge:
        stats.rejected["body_too_large"] += 1
        return None
    except LookupError:
        stats.errors["record_parse:no_record"] += 1
        return None
    except Exception as exc:
        stats.errors[f"record_parse:{type(exc).__name__}"] += 1
        return None
    if row is None:
        stats.rejected[f"record:{kind}"] += 1
        log.warning("%s at %d: a %s record, not a response (index row for %s)", where, offset, kind, ptr["url"])
        return None
    return row
