"""Atomic Parquet writing and small file helpers shared by executors and stages."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: Rows per Parquet row group: large enough for fast scans, small enough for bounded readers.
ROW_GROUP_ROWS = 8_192
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
}


#: errno values meaning the device or the quota is full.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class NoSpaceError(OSError):
    """A write failed because the device (or the quota) is full; ``filename`` names the file."""


def is_no_space(exc: BaseException) -> bool:
    """True for a full device or quota, including writers that report only a short write."""
    if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
        return True
    msg = str(exc)
    # Arrow puts the errno in its message only; numpy's tofile reports "N requested and M written".
    return ("No space left on device" in msg or "Disk quota exceeded" in msg
            or (" requested and " in msg and msg.rstrip().endswith(" written")))


@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Turn a full-disk failure while writing ``path`` into a ``NoSpaceError`` that names it."""
    try:
        yield
    except NoSpaceError:
        raise
    except OSError as exc:
        if is_no_space(exc):
            raise NoSpaceError(errno.ENOSPC, f"no space left on device writing {path}", str(path)) from exc
        raise


def temp_path(path: Path) -> Path:
    """A fresh temp file next to ``path``: ``.<name>.<pid>.<random>.tmp`` (the pid says who wrote it)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


class AtomicParquetWriter:
    """Stream tables into one Parquet file that appears (renamed from a temp file) only on commit.

    The first table (or ``schema``) fixes the file schema; later tables are conformed to it:
    missing columns become nulls, column order and types follow the schema. Small tables (a
    filtered batch, one source's share of a batch) are buffered into row groups of about
    ``ROW_GROUP_ROWS`` rows, so readers never face thousands of tiny row groups.
    """

    def __init__(self, path: Path, schema: pa.Schema | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = str(temp_path(self.path))
        self.schema = schema
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def write(self, table: pa.Table) -> None:
        with writing(self.path):
            self._write(table)

    def _write(self, table: pa.Table) -> None:
        if self.schema is None:
            self.schema = table.schema
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, self.schema, **PARQUET_OPTIONS)
        if table.num_rows == 0:
            return
        self._pending.append(conform_to(table, self.schema))
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending and self._writer is not None:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=ROW_GROUP_ROWS)
        self._pending, self._pending_rows = [], 0

    def commit(self, fallback_schema: pa.Schema | None = None) -> int:
        """Close and move into place; an empty output is written with ``fallback_schema``."""
        with writing(self.path):
            return self._commit(fallback_schema)

    def _commit(self, fallback_schema: pa.Schema | None) -> int:
        if self._writer is None:
            schema = self.schema or fallback_schema
            if schema is None:
                raise ValueError(f"cannot write {self.path}: no tables and no schema")
            self._writer = pq.ParquetWriter(self._tmp, schema, **PARQUET_OPTIONS)
        self._flush()
        self._writer.close()
        self._writer = None
        os.chmod(self._tmp, 0o644)
        os.replace(self._tmp, self.path)
        return self.rows

    def abort(self) -> None:
        self._pending, self._pending_rows = [], 0
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)

    def __enter__(self) -> AtomicParquetWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None or self._writer is not None or os.path.exists(self._tmp):
            self.abort()


def conform_to(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Select/cast ``table`` to ``schema``, filling columns it lacks with nulls."""
    if table.schema == schema:
        return table
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def write_parquet_atomic(tables: Iterable[pa.Table] | pa.Table, path: Path,
                         schema: pa.Schema | None = None) -> int:
    """Stream tables into ``path`` (zstd) via a temp file and rename; return rows written."""
    if isinstance(tables, pa.Table):
        tables = [tables]
    with AtomicParquetWriter(path, schema) as writer:
        for table in tables:
            writer.write(table)
        return writer.commit()


def write_json_atomic(obj: Any, path: Path) -> None:
    """Write JSON (sorted keys, UTF-8) via temp file + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with writing(path), open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=2, sort_keys=True, default=str)
            fh.write("\n")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def iter_parquet_batches(path: Path, batch_rows: int, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """Stream a Parquet file as tables of at most ``batch_rows`` rows."""
    pf = pq.ParquetFile(path)
    for rb in pf.iter_batches(batch_size=batch_rows, columns=columns):
        table = pa.Table.from_batches([rb])
        del rb
        yield table
        del table  # hold no reference while the next batch is decoded


def parquet_shards(directory: Path) -> list[Path]:
    """Completed Parquet shards in a directory, in name order (temp files excluded)."""
    directory = Path(directory)
    if not directory.exists():
        return []
    return sorted((p for p in directory.rglob("*.parquet") if not p.name.startswith(".")),
                  key=lambda p: str(p.relative_to(directory)))


def stamp(*parts: Any, length: int = 16) -> str:
    """A short stable hash of JSON-serialisable parts (configs, file identities, upstream stamps)."""
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
