"""Input readers: WARC/WET (FastWARC), ARC (warcio), JSONL (.gz/.zst) and Parquet to Arrow batches.

Readers account for every record they meet in a ``StageStats`` named ``read``: records that are
documents are kept; other WARC record types (request, warcinfo, metadata, revisit ...) are counted as
``rejected["record:<type>"]``; unreadable input is counted under ``errors`` and never raises.

Damage and hostile input are counted, never silently dropped or held in memory whole:

* a damaged gzip member of a WARC is skipped and reading resumes at the next member
  (``errors["warc_corrupt_member"]`` per member skipped, ``extra["warc_skipped_bytes"]``);
* a file that is not a WARC/ARC is one ``errors["not_warc"]`` (the log names the file);
* an empty file or a directory is a warning plus ``extra["input_empty_file"]`` / ``extra["input_directory"]``;
* records and lines over the ``ReadLimits`` caps are ``rejected["body_too_large"]`` / ``["line_too_long"]``;
* a text value of the wrong type is ``errors["text_type"]`` per document (JSONL line or Parquet row).
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import zlib
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from core import fs
from core.limits import DEFAULT_LIMITS, ReadLimits, TooLarge, inflate_bounded
from core.schema import BASE_FIELDS, conform, document_id
from core.stats import StageStats
from core.warc_resync import find_damage, sniff

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

#: JSONL input keeps the top-level fields it does not map to a base column as one JSON object.
METADATA_FIELD = pa.field("metadata", pa.string())
JSONL_SCHEMA = pa.schema([*BASE_FIELDS, METADATA_FIELD])


class InputFile(NamedTuple):
    """One input file of a job and how to read it."""

    #: A local file, or an object's URL (``s3://``, ``gs://``, ``https://``) read by streaming.
    path: Path | str
    format: str
    source: str
    text_field: str
    #: The file's name within its source in document ids: its path relative to the common folder
    #: of all the source's files (so same-named files in different folders never share ids).
    name: str
    #: Field holding the caller's document id in JSONL/Parquet input (None: always generate ids).
    id_field: str | None = "id"
    #: Per-document caps while reading (see ``core.limits``).
    limits: ReadLimits = DEFAULT_LIMITS


def detect_format(path: Path | str) -> InputFormat:
    """Guess the input format from the file name."""
    name = fs.basename(path).lower()
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


def read_batches(path: Path | str, fmt: InputFormat, source: str, batch_rows: int, stats: StageStats,
                 text_field: str = "text", name: str | None = None, id_field: str | None = "id",
                 limits: ReadLimits | None = None) -> Iterator[pa.Table]:
    """Yield Arrow tables of at most ``batch_rows`` documents from one input file.

    ``name`` identifies the file within its source in document ids (default: the file name; the
    job passes the path relative to the source's common input folder, so same-named files in
    different folders never share ids). ``id_field`` names the caller's id in JSONL and Parquet
    input (see ``_iter_jsonl``); ``limits`` caps what one document may cost in memory.
    """
    path = path if fs.is_remote(path) else Path(path)
    name = name or fs.basename(path)
    limits = limits or DEFAULT_LIMITS
    if isinstance(path, Path) and path.is_dir():
        log.warning("%s: input is a directory, not a file; nothing read", path)
        stats.add("input_directory")
        return
    if _empty(path):
        log.warning("%s: input file is empty", path)
        stats.add("input_empty_file")
        return
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "parquet":
        yield from _read_parquet(path, source, batch_rows, stats, text_field, name, id_field)
        return
    if fmt == "jsonl":
        rows_iter = _iter_jsonl(path, source, stats, text_field, name, id_field, limits.max_line_bytes)
        schema = JSONL_SCHEMA
    elif fmt == "cc_records":
        from core.cc_records import iter_cc_records

        rows_iter = iter_cc_records(path, source, stats, None, max_body=limits.max_body_bytes)
        schema = RAW_SCHEMA
    else:
        rows_iter = (_iter_warc(path, source, stats, name, limits.max_body_bytes) if fmt == "warc"
                     else _iter_arc_file(path, source, stats, name, limits.max_body_bytes))
        schema = RAW_SCHEMA
    batch: list[dict[str, Any]] = []
    for row in rows_iter:
        batch.append(row)
        if len(batch) >= batch_rows:
            yield pa.Table.from_pylist(batch, schema=schema)
            batch = []
    if batch:
        yield pa.Table.from_pylist(batch, schema=schema)


def _open_raw(path: Path | str) -> BinaryIO:
    """A local file, or a stream over an object in range requests (never downloaded whole)."""
    return open(path, "rb") if isinstance(path, Path) else fs.open_input(path)  # noqa: SIM115


def _empty(path: Path | str) -> bool:
    """True for an existing file of 0 bytes (a missing one is reported by the reader that opens it)."""
    if isinstance(path, Path):
        return path.exists() and path.stat().st_size == 0
    try:
        return fs.file_size(path) == 0
    except fs.StorageError:
        return False


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


def _decode_content_encoding(body: bytes, encoding: str | None, cap: int) -> bytes:
    """Undo gzip/deflate content encoding into at most ``cap`` bytes (``TooLarge`` beyond).

    A body that does not decode is returned as it is (the extractor then rejects it as binary).
    """
    if not encoding:
        return body
    enc = encoding.strip().lower()
    try:
        if enc in ("gzip", "x-gzip"):
            return inflate_bounded(body, 31, cap)
        if enc == "deflate":
            try:
                return inflate_bounded(body, zlib.MAX_WBITS, cap)
            except zlib.error:
                return inflate_bounded(body, -zlib.MAX_WBITS, cap)
    except zlib.error:
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


def _count_open_error(stats: StageStats, exc: OSError) -> None:
    """An input that cannot be opened is one document in and one ``open:<error>`` error."""
    stats.docs_in += 1
    stats.errors[f"open:{type(exc).__name__}"] += 1


def _archive_kind(path: Path | str, stats: StageStats) -> str | None:
    """What ``path`` holds (``sniff``), or None after counting why it cannot be read as an archive:
    an ``open:<error>`` that names the exception, or ``not_warc`` for a file of something else."""
    try:
        kind = sniff(path)
    except OSError as exc:
        _count_open_error(stats, exc)
        return None
    if kind == "other":
        log.error("%s: not a WARC/ARC file (it does not start with a WARC or ARC header); nothing read", path)
        stats.docs_in += 1
        stats.errors["not_warc"] += 1
        return None
    return kind


def _iter_warc(path: Path | str, source: str, stats: StageStats, name: str,
               max_body: int) -> Iterator[dict[str, Any]]:
    """Read a WARC/WET with FastWARC; skip damaged gzip members and go on at the next one."""
    kind = _archive_kind(path, stats)
    if kind is None:
        return
    if kind == "arc":
        yield from _iter_arc(path, source, stats, name, max_body)
        return
    if kind == "warc":  # uncompressed: no members to resynchronise at
        yield from _fastwarc_pass(path, 0, source, stats, name, max_body, fallback=True)
        return
    offset: int | None = 0
    while offset is not None:
        last = yield from _fastwarc_pass(path, offset, source, stats, name, max_body, fallback=False)
        damage = find_damage(path, offset, last)
        if damage is None:
            return
        log.warning("%s: damaged data at offset %d: skipped %d bytes (%d gzip member(s)); %s", path,
                    damage.start, damage.skipped_bytes, damage.members,
                    f"resuming at offset {damage.resume}" if damage.resume is not None else "nothing readable after it")
        stats.docs_in += damage.members
        stats.errors["warc_corrupt_member"] += damage.members
        stats.add("warc_skipped_bytes", damage.skipped_bytes)
        offset = damage.resume


def _fastwarc_pass(path: Path | str, offset: int, source: str, stats: StageStats, name: str, max_body: int,
                   fallback: bool) -> Generator[dict[str, Any], None, int | None]:
    """Yield rows from ``offset`` until FastWARC stops; return the offset of the last record read.

    With ``fallback`` (uncompressed WARC), a malformed record hands the rest of the file to warcio,
    which recovers from some of those (e.g. a wrong Content-Length).
    """
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    doc_types = ((WarcRecordType.response, "response"), (WarcRecordType.resource, "resource"),
                 (WarcRecordType.conversion, "conversion"))
    last: int | None = None
    seen = 0
    with _open_raw(path) as fh:
        fh.seek(offset)
        it = iter(ArchiveIterator(fh, parse_http=False, record_types=WarcRecordType.any_type))
        while True:
            try:
                record = next(it)
            except StopIteration:
                return last
            except Exception as exc:
                if not fallback:
                    log.debug("%s: FastWARC stopped after offset %s (%s)", path, last, exc)
                    return last
                log.warning("%s: FastWARC stopped after %d records (%s); continuing with warcio",
                            fs.basename(path), seen, exc)
                yield from _iter_arc(path, source, stats, name, max_body, skip=seen, error_prefix="warc_parse")
                return None
            seen += 1
            last = record.stream_pos
            stats.docs_in += 1
            kind = next((k for t, k in doc_types if record.record_type == t), None)
            if kind is None:
                stats.rejected[f"record:{str(record.record_type).rsplit('.', 1)[-1]}"] += 1
                continue
            try:
                row = _warc_record_row(record, kind, name, source, max_body)
            except TooLarge:
                stats.rejected["body_too_large"] += 1
                continue
            except Exception as exc:
                stats.errors[f"record_read:{type(exc).__name__}"] += 1
                continue
            stats.kept += 1
            yield row


def _warc_record_row(record: Any, kind: str, name: str, source: str, max_body: int) -> dict[str, Any]:
    headers = record.headers
    if record.content_length > max_body:
        raise TooLarge(f"record of {record.content_length} bytes")
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
        body = _decode_content_encoding(body, _http_header(http, "Content-Encoding"), max_body)
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

def _iter_arc_file(path: Path | str, source: str, stats: StageStats, name: str,
                   max_body: int) -> Iterator[dict[str, Any]]:
    """Read an ARC file (or a WARC named .arc); anything else is one ``not_warc`` error."""
    if _archive_kind(path, stats) is None:
        return
    yield from _iter_arc(path, source, stats, name, max_body)


def _iter_arc(path: Path | str, source: str, stats: StageStats, name: str, max_body: int, skip: int = 0,
              error_prefix: str = "arc_parse") -> Iterator[dict[str, Any]]:
    """Read ARC (or WARC) with warcio; ``skip`` records already consumed by another reader."""
    from warcio.archiveiterator import ArchiveIterator

    try:
        fh = _open_raw(path)
    except OSError as exc:
        _count_open_error(stats, exc)
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
                body = record.content_stream().read(max_body + 1)
                if len(body) > max_body:
                    stats.rejected["body_too_large"] += 1
                    continue
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

def _open_binary(path: Path | str) -> BinaryIO:
    """A buffered binary stream of the file's lines, decompressing .gz and .zst."""
    name = fs.basename(path).lower()
    if isinstance(path, str):  # an object: stream it through range requests
        raw = fs.open_input(path)
        if name.endswith(".gz"):
            gz = gzip.GzipFile(fileobj=raw, mode="rb")
            gz.myfileobj = raw  # type: ignore[attr-defined]  # closed with the gzip stream
            return gz  # type: ignore[return-value]
        if name.endswith((".zst", ".zstd")):
            import zstandard

            return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))  # type: ignore[arg-type]
        return raw
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if name.endswith((".zst", ".zstd")):
        import zstandard

        raw = open(path, "rb")  # noqa: SIM115
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))  # type: ignore[arg-type]
    return open(path, "rb")  # noqa: SIM115


def _read_line(fh: BinaryIO, cap: int) -> bytes | None:
    """The next line (b"" at the end), or None for a line over ``cap`` bytes, which is skipped
    in slices so that it never sits in memory whole."""
    line = fh.readline(cap + 1)
    if len(line) <= cap or line.endswith(b"\n"):
        return line
    while chunk := fh.readline(1 << 20):
        if chunk.endswith(b"\n"):
            break
    return None


def _iter_jsonl(path: Path | str, source: str, stats: StageStats, text_field: str, name: str,
                id_field: str | None, max_line: int) -> Iterator[dict[str, Any]]:
    """Documents from JSON lines, one object per line.

    The caller's id (the string or integer at ``id_field``) is kept as the document id; a line
    without one gets a stable generated id. An id met again in the same file is made unique as
    ``<id>#L<line>`` and counted (``extra["id_duplicate"]``): rows are never dropped for it, and
    the result is the same on every run. Checking costs one 64-bit hash per line of the file.

    Every other top-level field goes into the ``metadata`` column as one JSON object (null when
    there are none). One string column, rather than a column per field, keeps the schema the same
    across batches and files whatever fields the lines carry (a field first seen in a later batch
    would otherwise be lost or break the shard's schema), and its size is bounded by the line cap.
    """
    try:
        fh = _open_binary(path)
    except OSError as exc:
        _count_open_error(stats, exc)
        return
    seen_ids: set[int] = set()
    with fh:
        lineno = 0
        while True:
            try:
                line = _read_line(fh, max_line)
            except (OSError, EOFError, ValueError) as exc:  # truncated/corrupt compressed stream
                stats.docs_in += 1
                stats.errors[f"jsonl_stream:{type(exc).__name__}"] += 1
                break
            if line == b"":
                break
            lineno += 1
            if line is None:
                stats.docs_in += 1
                stats.rejected["line_too_long"] += 1
                log.warning("%s:%d: line longer than %d bytes skipped", fs.basename(path), lineno, max_line)
                continue
            if not line.strip():
                continue
            stats.docs_in += 1
            try:
                obj = json.loads(line.decode("utf-8", errors="surrogateescape"))
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                stats.errors["jsonl_decode"] += 1
                continue
            if not isinstance(obj, dict):
                stats.errors["jsonl_not_object"] += 1
                continue
            text = obj.pop(text_field, None)
            if text is None:
                stats.rejected["no_text_field"] += 1
                continue
            if not isinstance(text, str):
                stats.errors["text_type"] += 1
                continue
            doc_id = _caller_id(obj.pop(id_field, None) if id_field else None)
            if doc_id is False:
                stats.errors["id_type"] += 1
                continue
            if doc_id is None:
                doc_id = document_id(source, f"{name}:{lineno}")
            else:
                key = xxhash.xxh3_64_intdigest(doc_id.encode("utf-8", "surrogatepass"))
                if key in seen_ids:
                    stats.add("id_duplicate")
                    doc_id = f"{doc_id}#L{lineno}"
                seen_ids.add(key)
            url = obj.pop("url", None)
            if url is not None and not isinstance(url, str):
                stats.add("url_type")
                url = None
            url = _scrub_surrogates(url) if url else None
            stats.kept += 1
            yield {
                "id": _scrub_surrogates(doc_id), "text": _scrub_surrogates(text), "source": source,
                "url": url, "domain": domain_of(url), "fetch_time": None, "charset": "utf-8",
                "metadata": _scrub_surrogates(json.dumps(obj, ensure_ascii=False)) if obj else None,
            }


def _caller_id(value: Any) -> str | None | Literal[False]:
    """The caller's id as a string; None when absent or empty; False when of an unusable type."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return False


def _scrub_surrogates(text: str) -> str:
    """Replace lone surrogates (from invalid UTF-8) so the text is valid UTF-8 for Arrow."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="replace").decode("utf-8")


# ---------------------------------------------------------------- Parquet

_TEXT_TYPES = (pa.string(), pa.large_string(), pa.null())
_BYTES_TYPES = (pa.binary(), pa.large_binary())


def _read_parquet(path: Path | str, source: str, batch_rows: int, stats: StageStats,
                  text_field: str, name: str, id_field: str | None = "id") -> Iterator[pa.Table]:
    """Documents from a Parquet file; columns other than the base ones pass through unchanged.

    The text column must hold strings (binary is decoded as UTF-8); any other type makes every row
    an ``errors["text_type"]`` and the log names the file, the column and its type. A caller id at
    ``id_field`` becomes ``id`` (cast to string); rows without one get a stable generated id.
    """
    try:
        pf = pq.ParquetFile(path if isinstance(path, Path) else fs.open_input(path))
    except Exception as exc:
        stats.docs_in += 1
        stats.errors[f"parquet_open:{type(exc).__name__}"] += 1
        return
    schema = pf.schema_arrow
    if text_field not in schema.names:
        stats.docs_in += pf.metadata.num_rows
        stats.rejected["no_text_field"] += pf.metadata.num_rows
        return
    text_type = schema.field(text_field).type
    if text_type not in _TEXT_TYPES and text_type not in _BYTES_TYPES:
        log.error("%s: text column %r holds %s, not strings; its %d rows are counted as errors",
                  path, text_field, text_type, pf.metadata.num_rows)
        stats.docs_in += pf.metadata.num_rows
        stats.errors["text_type"] += pf.metadata.num_rows
        return
    offset = 0
    try:
        for rb in pf.iter_batches(batch_size=batch_rows):
            table = _as_documents(pa.Table.from_batches([rb]), source, name, offset, text_field, id_field)
            n = table.num_rows
            offset += n
            stats.docs_in += n
            stats.kept += n
            yield table
    except Exception as exc:
        unread = max(1, pf.metadata.num_rows - offset)  # every row not delivered is an error
        log.error("%s: cannot read rows from %d on (%s: %s); counted as errors", path, offset,
                  type(exc).__name__, exc)
        stats.docs_in += unread
        stats.errors[f"parquet_read:{type(exc).__name__}"] += unread


def _as_documents(table: pa.Table, source: str, name: str, offset: int, text_field: str,
                  id_field: str | None) -> pa.Table:
    """One Parquet batch in the document schema: text and id columns named, typed and filled."""
    for field, target in ((text_field, "text"), (id_field, "id")):
        if field and field != target and field in table.column_names:
            if target in table.column_names:  # the configured field wins over a column of that name
                table = table.drop_columns([target])
            table = table.rename_columns([target if c == field else c for c in table.column_names])
    if table.schema.field("text").type in _BYTES_TYPES:
        table = table.set_column(table.schema.get_field_index("text"), "text", table.column("text").cast(pa.string()))
    n = table.num_rows

    def generated() -> pa.Array:
        return pa.array([document_id(source, f"{name}:{offset + i}") for i in range(n)], pa.string())

    if id_field is None or "id" not in table.column_names:
        table = table.drop_columns(["id"]) if "id" in table.column_names else table
        table = table.append_column("id", generated())
    else:
        ids = table.column("id")
        if ids.type != pa.string():
            ids = ids.cast(pa.string())
        if ids.null_count:
            ids = pc.coalesce(ids, generated())
        table = table.set_column(table.schema.get_field_index("id"), "id", ids)
    if "source" not in table.column_names:
        table = table.append_column("source", pa.array([source] * n, pa.string()))
    return conform(table)
