"""Completion markers that record what they vouch for, and their verification.

A marker (a shard's stats file, a global stage's ``global.json``, a dedup phase file) lists every
file its unit of work wrote: path (relative to a root folder), size, and for Parquet the footer's
row count and a hash of the footer bytes; other files carry a SHA-256 of their contents. Verifying
costs a ``stat`` and a footer read per file, so a resume can afford to check everything it skips.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from core.io import read_json

_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Damage:
    """One problem with one file: ``path`` (as recorded or found) and what is wrong with it."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def parquet_footer(path: Path) -> tuple[int, str]:
    """(row count, hash of the footer bytes) of a Parquet file; raises ``ValueError`` if unreadable."""
    size = path.stat().st_size
    if size < 12:
        raise ValueError(f"{size} bytes is too short for Parquet")
    with open(path, "rb") as fh:
        fh.seek(size - 8)
        tail = fh.read(8)
        if tail[4:] != _MAGIC:
            raise ValueError("no Parquet magic at the end (truncated?)")
        length = int.from_bytes(tail[:4], "little")
        if length + 12 > size:
            raise ValueError(f"footer length {length} exceeds the file")
        fh.seek(size - 8 - length)
        footer = fh.read(length)
    digest = hashlib.blake2b(footer, digest_size=8).hexdigest()
    try:
        rows = pq.read_metadata(path).num_rows
    except Exception as exc:  # pyarrow raises OSError or ArrowInvalid for a corrupt footer
        raise ValueError(f"footer does not parse ({type(exc).__name__}: {exc})") from None
    return rows, digest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def file_record(path: Path, root: Path) -> dict[str, Any]:
    """What a marker records about one finished file (see the module docstring)."""
    path = Path(path)
    rec: dict[str, Any] = {"path": _rel(path, root), "bytes": path.stat().st_size}
    if path.suffix == ".parquet":
        rec["rows"], rec["footer"] = parquet_footer(path)
    else:
        rec["sha256"] = _sha256(path)
    return rec


def check_record(rec: dict[str, Any], root: Path) -> Damage | None:
    """``None`` when the file is as recorded, else what is wrong with it."""
    path = root / rec["path"]
    if not path.is_file():
        return Damage(rec["path"], "missing")
    size = path.stat().st_size
    if size != rec["bytes"]:
        return Damage(rec["path"], f"{size} bytes, {rec['bytes']} recorded (truncated or changed)")
    if "footer" in rec or "rows" in rec:
        try:
            rows, footer = parquet_footer(path)
        except (OSError, ValueError) as exc:
            return Damage(rec["path"], f"unreadable Parquet footer: {exc}")
        if rec.get("footer", footer) != footer:
            return Damage(rec["path"], "Parquet footer differs from the recorded one (changed)")
        if rows != rec.get("rows", rows):
            return Damage(rec["path"], f"{rows} rows, {rec['rows']} recorded")
    elif "sha256" in rec and _sha256(path) != rec["sha256"]:
        return Damage(rec["path"], "contents differ from the recorded checksum (changed)")
    return None


def recorded_files(marker: dict[str, Any]) -> list[dict[str, Any]]:
    """Every file record of a marker (outputs and rejects)."""
    return [*marker.get("outputs", []), *marker.get("rejects", [])]


def read_marker(path: Path) -> dict[str, Any] | None:
    """A marker's payload, or ``None`` when it cannot be read as a JSON object."""
    try:
        payload = read_json(path)
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def marker_damage(path: Path, root: Path) -> list[Damage]:
    """Problems of a marker and of every file it records; empty when all is as recorded."""
    label = _rel(path, root)
    if not path.is_file():
        return [Damage(label, "missing")]
    marker = read_marker(path)
    if marker is None:
        return [Damage(label, "unreadable marker")]
    if "outputs" not in marker:
        return [Damage(label, "marker records no output files (written by an older version)")]
    return [d for rec in recorded_files(marker) if (d := check_record(rec, root)) is not None]


def discard(marker_path: Path, root: Path) -> None:
    """Remove a marker and whatever files it records, so their unit of work runs again."""
    marker = read_marker(marker_path) if marker_path.is_file() else None
    marker_path.unlink(missing_ok=True)
    for rec in recorded_files(marker or {}):
        (root / rec["path"]).unlink(missing_ok=True)
