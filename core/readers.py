"""Input readers: WARC/WET (FastWARC), ARC (warcio), JSONL (.gz/.zst) and Parquet to Arrow batches.

Readers account for every record they meet in a ``StageStats`` named ``read``: records that are
documents are kept; other WARC record types (request, warcinfo, metadata, revisit ...) are counted as
``rejected["record:<type>"]``; unreadable input is counted under ``errors`` and never raises.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from core.schema import BASE_FIELDS, conform, document_id
from core.stats import StageStats

log = logging.getLogger(__name__)

#: ``cc_records``: a pointer shard of WARC records read by byte range (``core.cc_records``).
InputFormat = Literal["auto", "warc", "arc", "jsonl", "parquet", "cc_records"]

#: Columns a raw web record carries until the extraction stage turns it into text.
RAW_FIELDS: list[pa.Field] = [
    pa.field("raw_content", pa.large_binary()),
    pa.field("content_type", pa.string()),
    pa.field("http_charset", pa.string()),
    pa.field("http_status", pa.int32()),
    pa.field("truncated", pa.string()),
]
RAW_COLUMNS = [f.name for f in RAW_FIELDS]
RAW_SCHEMA = pa.schema(BASE_FIELDS + RAW_FIELDS)


class InputFile(NamedTuple):
    """One input file of a job and how to read it."""

    path: Path
    format: str
    source: str
    text_field: str
    #: The file's name within its source in document ids: its path relative to the common folder
    #: of all the source's files (so same-named files in different folders never share ids).
    name: str


def detect_format(path: Path) -> InputFormat:
    """Guess the input format from the file name."""
    name = path.name.lower()
    for suffix in (".gz", ".zst", ".zstd"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith((".warc", ".wet", ".wat")) or ".warc" in name:
        return "warc"
    if name.endswith(".arc"):
        return "arc"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    raise ValueError(f"cannot tell the format of {path}; set input.format explicitly")


def domain_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def read_batches(path: Path, fmt: InputFormat, source: str, batch_rows: int, stats: StageStats,
                 text_field: str = "text", name: str | None = None) -> Iterator[pa.Table]:
    """Yield Arrow tables of at most ``batch_rows`` documents from one input file.

    ``name`` identifies the file within its source in document ids (default: the file name; the
    job passes the path relative to the source's common input folder, so same-named files in
    different folders never share ids).
    """
    path = Path(path)
    name = name or path.name
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "parquet":
        yield from _read_parquet(path, source, batch_rows, stats, text_field, name)
        return
    if fmt == "jsonl":
        rows_iter = _iter_jsonl(path, source, stats, text_field, name)
        schema = pa.schema(BASE_FIELDS)
    elif fmt == "cc_records":
        from core.cc_records import iter_cc_records

        rows_iter = iter_cc_records(path, source, stats, None)
        schema = RAW_SCHEMA
    else:
        rows_iter = (_iter_warc(path, source, stats, name) if fmt == "warc"
                     else _iter_arc(path, source, stats, name))
        schema = RAW_SCHEMA
    batch: list[dict[str, Any]] = []
    for row in rows_iter:
        batch.append(row)
        if len(batch) >= batch_rows:
            yield pa.Table.from_pylist(batch, schema=schema)
            batch = []
    if batch:
        yield pa.Table.from_pylist(batch, schema=schema)


# ---------------------------------------------------------------- WARC / WET (FastWARC)

def _dechunk(body: bytes) -> bytes:
    """Undo HTTP chunked transfer encoding; returns the input unchanged if it is not valid chunking."""
    out = bytearray()
    pos = 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return body
        size_field = body[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            return body
        if size == 0:
            return bytes(out)
        start = eol + 2
        out += body[start:start + size]
        pos = start + size + 2
        if pos > len(body):
            return bytes(out)


def _decode_content_encoding(body: bytes, encoding: str | None) -> bytes:
    if not encoding:
        return body
    enc = encoding.strip().lower()
    try:
        if enc in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if enc == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except (OSError, zlib.error, EOFError):
        return body
    return body


def _http_header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    lname = name.lower()
    for k, v in headers.items():
        if k.lower() == lname:
            return v
    return None


def _clean_uri(uri: str | None) -> str | None:
    if uri is None:
        return None
    uri = uri.strip()
    if uri.startswith("<") and uri.endswith(">"):
        uri = uri[1:-1]
    return uri


def _iter_warc(path: Path, source: str, stats: StageStats, name: str) -> Iterator[dict[str, Any]]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    doc_types = ((WarcRecordType.response, "response"), (WarcRecordType.resource, "resource"),
                 (WarcRecordType.conversion, "conversion"))
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in finally
    except OSError as exc:
        stats.docs_in += 1
        stats.errors[f"open:{type(exc).__name__}"] += 1
        return
    try:
        it = iter(ArchiveIterator(fh, parse_http=False, record_types=WarcRecordType.any_type))
        seen = 0
        last_pos = 0
        while True:
            try:
                record = next(it)
            except StopIteration:
                # FastWARC ends quietly on a truncated or corrupt gzip tail: check it ourselves.
                if not _tail_is_complete(path, last_pos):
                    stats.docs_in += 1
                    stats.errors["warc_parse:truncated_tail"] += 1
                    log.warning("%s: truncated or corrupt data after offset %d", path.name, last_pos)
                break
            except Exception as exc:
                # FastWARC stops at the first malformed record; warcio is slower but recovers from
                # some of those (e.g. a wrong Content-Length), so let it read the rest of the file.
                log.warning("%s: FastWARC stopped after %d records (%s); continuing with warcio",
                            path.name, seen, exc)
                yield from _iter_arc(path, source, stats, name, skip=seen, error_prefix="warc_parse")
                break
            seen += 1
            last_pos = record.stream_pos
            stats.docs_in += 1
            kind = next((k for t, k in doc_types if record.record_type == t), None)
            if kind is None:
                stats.rejected[f"record:{str(record.record_type).rsplit('.', 1)[-1]}"] += 1
                continue
            try:
                row = _warc_record_row(record, kind, name, source)
            except Exception as exc:
                stats.errors[f"record_read:{type(exc).__name__}"] += 1
                continue
            stats.kept += 1
            yield row
    finally:
        fh.close()


def _tail_is_complete(path: Path, last_pos: int) -> bool:
    """Whether the bytes from the last record's offset to EOF are complete gzip members (or plain)."""
    with open(path, "rb") as fh:
        fh.seek(last_pos)
        tail = fh.read()
    if not tail.startswith(b"\x1f\x8b"):
        return True  # uncompressed: FastWARC raises on malformed headers itself
    while tail:
        d = zlib.decompressobj(31)
        try:
            while d.decompress(tail, 1 << 20) and d.unconsumed_tail:
                tail = d.unconsumed_tail
        except zlib.error:
            return False
        if not d.eof:
            return False
        tail = d.unused_data
        if tail and not tail.startswith(b"\x1f\x8b"):
            return not tail.strip(b"\x00\r\n ")
    return True


def _warc_record_row(record: Any, kind: str, name: str, source: str) -> dict[str, Any]:
    headers = record.headers
    url = _clean_uri(headers.get("WARC-Target-URI"))
    record_id = headers.get("WARC-Record-ID") or f"offset:{record.stream_pos}"
    fetch_time = record.record_date
    row: dict[str, Any] = {
        "id": document_id(source, f"{name}:{record_id}"),
        "text": None, "source": source, "url": url, "domain": domain_of(url),
        "fetch_time": fetch_time.astimezone(UTC) if fetch_time else None,
        "charset": None, "raw_content": None, "content_type": None, "http_charset": None,
        "http_status": None, "truncated": headers.get("WARC-Truncated"),
    }
    if kind == "conversion":  # WET: text already extracted and UTF-8
        row["text"] = record.reader.read().decode("utf-8", errors="replace")
        row["charset"] = "utf-8"
        return row
    if kind == "response":
        record.parse_http()
    if record.is_http:
        http = record.http_headers
        row["http_status"] = int(http.status_code) if http.status_code else None
        ctype = _http_header(http, "Content-Type")
        body = raw = record.reader.read()
        if (_http_header(http, "Transfer-Encoding") or "").lower().strip() == "chunked":
            body = _dechunk(body)
        body = _decode_content_encoding(body, _http_header(http, "Content-Encoding"))
    else:
        ctype = headers.get("Content-Type")
        body = raw = record.reader.read()
    if len(raw) < record.content_length and not row["truncated"]:
        row["truncated"] = "length"  # the file ended inside this record
    row["content_type"] = ctype
    row["http_charset"] = _charset_param(ctype)
    row["raw_content"] = body
    return row


def _charset_param(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            value = value.strip().strip("\"'").strip()
            return value.lower() or None
    return None


# ---------------------------------------------------------------- ARC (warcio)

def _iter_arc(path: Path, source: str, stats: StageStats, name: str, skip: int = 0,
              error_prefix: str = "arc_parse") -> Iterator[dict[str, Any]]:
    """Read ARC (or WARC) with warcio; ``skip`` records already consumed by another reader."""
    from warcio.archiveiterator import ArchiveIterator

    try:
        fh = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        stats.docs_in += 1
        stats.errors[f"open:{type(exc).__name__}"] += 1
        return
    try:
        it = iter(ArchiveIterator(fh, arc2warc=True))
        while True:
            try:
                record = next(it)
            except StopIteration:
                break
            except Exception as exc:
                stats.docs_in += 1
                stats.errors[f"{error_prefix}:{type(exc).__name__}"] += 1
                break
            if skip > 0:
                skip -= 1
                continue
            stats.docs_in += 1
            if record.rec_type not in ("response", "resource", "conversion"):
                stats.rejected[f"record:{record.rec_type}"] += 1
                continue
            try:
                url = _clean_uri(record.rec_headers.get_header("WARC-Target-URI"))
                date = record.rec_headers.get_header("WARC-Date")
                ctype = record.http_headers.get_header("Content-Type") if record.http_headers else None
                status = record.http_headers.get_statuscode() if record.http_headers else None
                body = record.content_stream().read()
                fetch = _parse_warc_date(date)
                rid = record.rec_headers.get_header("WARC-Record-ID") or f"{url}:{date}"
            except Exception as exc:
                stats.errors[f"record_read:{type(exc).__name__}"] += 1
                continue
            stats.kept += 1
            is_text = record.rec_type == "conversion"  # WET text recovered after a FastWARC stop
            yield {
                "id": document_id(source, f"{name}:{rid}"),
                "text": body.decode("utf-8", errors="replace") if is_text else None, "source": source,
                "url": url, "domain": domain_of(url), "fetch_time": fetch, "charset": "utf-8" if is_text else None,
                "raw_content": None if is_text else body, "content_type": ctype,
                "http_charset": _charset_param(ctype),
                "http_status": int(status) if status and str(status).isdigit() else None,
                "truncated": record.rec_headers.get_header("WARC-Truncated"),
            }
    finally:
        fh.close()


def _parse_warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


# ---------------------------------------------------------------- JSONL

def _open_text(path: Path) -> io.TextIOBase:
    name = path.name.lower()
    if name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="surrogateescape")
    if name.endswith((".zst", ".zstd")):
        import zstandard

        raw = open(path, "rb")  # noqa: SIM115
        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True),
                                encoding="utf-8", errors="surrogateescape")
    return open(path, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115


def _iter_jsonl(path: Path, source: str, stats: StageStats, text_field: str,
                name: str) -> Iterator[dict[str, Any]]:
    try:
        fh = _open_text(path)
    except OSError as exc:
        stats.docs_in += 1
        stats.errors[f"open:{type(exc).__name__}"] += 1
        return
    with fh:
        lineno = 0
        while True:
            try:
                line = fh.readline()
            except (OSError, EOFError, ValueError) as exc:  # truncated/corrupt compressed stream
                stats.docs_in += 1
                stats.errors[f"jsonl_stream:{type(exc).__name__}"] += 1
                break
            if not line:
                break
            lineno += 1
            if not line.strip():
                continue
            stats.docs_in += 1
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                stats.errors["jsonl_decode"] += 1
                continue
            if not isinstance(obj, dict):
                stats.errors["jsonl_not_object"] += 1
                continue
            text = obj.get(text_field)
            if not isinstance(text, str):
                stats.rejected["no_text_field"] += 1
                continue
            url = _scrub_surrogates(obj["url"]) if isinstance(obj.get("url"), str) else None
            upstream_id = obj.get("id")
            locator = f"id:{upstream_id}" if upstream_id is not None else f"{name}:{lineno}"
            stats.kept += 1
            yield {
                "id": document_id(source, locator), "text": _scrub_surrogates(text), "source": source,
                "url": url, "domain": domain_of(url), "fetch_time": None, "charset": "utf-8",
            }


def _scrub_surrogates(text: str) -> str:
    """Replace lone surrogates (from invalid UTF-8) so the text is valid UTF-8 for Arrow."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="replace").decode("utf-8")


# ---------------------------------------------------------------- Parquet

def _read_parquet(path: Path, source: str, batch_rows: int, stats: StageStats,
                  text_field: str, name: str) -> Iterator[pa.Table]:
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        stats.docs_in += 1
        stats.errors[f"parquet_open:{type(exc).__name__}"] += 1
        return
    if text_field not in pf.schema_arrow.names:
        stats.docs_in += pf.metadata.num_rows
        stats.rejected["no_text_field"] += pf.metadata.num_rows
        return
    offset = 0
    try:
        for rb in pf.iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([rb])
            if text_field != "text":
                if "text" in table.column_names:  # the configured field wins over a column named text
                    table = table.drop_columns(["text"])
                table = table.rename_columns(["text" if c == text_field else c for c in table.column_names])
            n = table.num_rows
            if "id" not in table.column_names:
                ids = [document_id(source, f"{name}:{offset + i}") for i in range(n)]
                table = table.append_column("id", pa.array(ids, pa.string()))
            if "source" not in table.column_names:
                table = table.append_column("source", pa.array([source] * n, pa.string()))
            table = conform(table)
            offset += n
            stats.docs_in += n
            stats.kept += n
            yield table
    except Exception as exc:
        unread = max(1, pf.metadata.num_rows - offset)  # every row not delivered is an error
        stats.docs_in += unread
        stats.errors[f"parquet_read:{type(exc).__name__}"] += unread
