"""The document table: the Arrow schema every stage reads and extends."""

from __future__ import annotations

import pyarrow as pa
import xxhash

#: Columns every document table carries. Stages add their own columns after these.
BASE_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("text", pa.string()),
    pa.field("source", pa.string()),
    pa.field("url", pa.string()),
    pa.field("domain", pa.string()),
    pa.field("fetch_time", pa.timestamp("s", tz="UTC")),
    pa.field("charset", pa.string()),
]
BASE_SCHEMA = pa.schema(BASE_FIELDS)
BASE_COLUMNS = [f.name for f in BASE_FIELDS]

#: Column a filtering stage fills with the rejection reason (null means kept).
REJECT_COLUMN = "reject_reason"
#: Column naming the stage that rejected a document, present in reject sinks only.
REJECT_STAGE_COLUMN = "reject_stage"


def document_id(source: str, locator: str) -> str:
    """Stable 16-hex-digit id from the source name and a locator unique within it.

    The locator is whatever pins the document in its input: a WARC record id, a file name plus line
    number, or an upstream id. Same input, same id, on every machine and every run.
    """
    return xxhash.xxh3_64_hexdigest(f"{source}\x00{locator}".encode("utf-8", "surrogatepass"))


def empty_documents() -> pa.Table:
    """A zero-row table with the base schema."""
    return BASE_SCHEMA.empty_table()


def conform(table: pa.Table) -> pa.Table:
    """Add any missing base column as nulls and put base columns first, keeping stage columns."""
    n = table.num_rows
    columns, fields = [], []
    for f in BASE_FIELDS:
        if f.name in table.column_names:
            col = table.column(f.name)
            if col.type != f.type:
                col = col.cast(f.type)
        else:
            col = pa.nulls(n, f.type)
        columns.append(col)
        fields.append(f.with_nullable(True) if f.name != "id" else f)
    for name in table.column_names:
        if name not in BASE_COLUMNS:
            columns.append(table.column(name))
            fields.append(table.schema.field(name))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))
