"""Gzip-member resynchronisation for damaged WARC files, and a sniff that tells a WARC from anything else.

Common Crawl writes one gzip member per WARC record, so a damaged member costs one record, not the
rest of the file: after the reader stops, ``find_damage`` locates the damaged region and the next
member that starts a WARC record (gzip magic ``1f 8b 08`` whose first decompressed bytes are
``WARC/``), and reports what lies between, so the reader can count it and go on from there.

Every function reads the file through its own handle in bounded blocks: memory stays constant
whatever the file size.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

GZIP_MAGIC = b"\x1f\x8b\x08"
_BLOCK = 1 << 20
#: Whitespace and NUL padding some writers leave at the end of a file.
_PADDING = b"\x00\r\n\t "

ArchiveKind = Literal["empty", "warc", "warc.gz", "arc", "gz_damaged", "other"]


@dataclass(frozen=True)
class Damage:
    """A region of a gzipped WARC the reader could not read."""

    start: int
    #: Offset of the next readable member, or None when nothing readable follows.
    resume: int | None
    #: Gzip member headers inside the region (at least 1): the records lost, one per member.
    members: int
    #: Compressed bytes in the region.
    skipped_bytes: int


def _open(path: Path | str) -> BinaryIO:
    from core import fs

    return open(path, "rb") if isinstance(path, Path) else fs.open_input(path)  # noqa: SIM115


def sniff(path: Path | str) -> ArchiveKind:
    """What the file holds, from its first bytes: WARC (plain or gzip), ARC, or something else.

    ``gz_damaged`` is a gzip file whose first member does not decompress: the reader treats it as
    a WARC and resynchronises at the next member.
    """
    with _open(path) as fh:
        head = fh.read(64 * 1024)
    if not head:
        return "empty"
    if head.startswith(b"\x1f\x8b"):
        try:
            text = zlib.decompressobj(31).decompress(head, 64)
        except zlib.error:
            return "gz_damaged"
        kind = _kind_of(text)
        if kind == "warc":
            return "warc.gz"
        return kind if kind == "arc" else ("other" if text else "gz_damaged")
    return _kind_of(head)


def _kind_of(data: bytes) -> Literal["warc", "arc", "other"]:
    data = data.lstrip(b"\r\n")
    if data.startswith(b"WARC/"):
        return "warc"
    if data.startswith(b"filedesc://"):
        return "arc"
    return "other"


def member_end(fh: BinaryIO, pos: int) -> int | None:
    """Offset just after the gzip member starting at ``pos``, or None if it is damaged or cut short."""
    fh.seek(pos)
    d = zlib.decompressobj(31)
    consumed = 0
    while not d.eof:
        chunk = d.unconsumed_tail or fh.read(_BLOCK)
        if not chunk:
            return None
        if not d.unconsumed_tail:
            consumed += len(chunk)
        try:
            d.decompress(chunk, _BLOCK)  # output is discarded: only the member's extent matters
        except zlib.error:
            return None
    return pos + consumed - len(d.unused_data)


def starts_warc_member(fh: BinaryIO, pos: int) -> bool:
    """Whether a gzip member starts at ``pos`` and its first decompressed bytes are a WARC header."""
    fh.seek(pos)
    head = fh.read(64 * 1024)
    if not head.startswith(GZIP_MAGIC) or head[3] & 0xE0:
        return False
    try:
        return zlib.decompressobj(31).decompress(head, 16).startswith(b"WARC/")
    except zlib.error:
        return False


def _headers(fh: BinaryIO, start: int, stop: int) -> list[int]:
    """Offsets in [start, stop) that look like a gzip member header (magic plus valid flags)."""
    found = []
    pos = start
    while pos < stop:
        fh.seek(pos)
        block = fh.read(min(_BLOCK, stop - pos) + 3)
        limit = min(len(block), stop - pos)
        i = block.find(GZIP_MAGIC)
        while 0 <= i < limit:
            if i + 3 < len(block) and not block[i + 3] & 0xE0:
                found.append(pos + i)
            i = block.find(GZIP_MAGIC, i + 1)
        if len(block) <= 3:
            break
        pos += limit
    return found


def next_warc_member(fh: BinaryIO, start: int, size: int) -> int | None:
    """The first offset >= ``start`` where a readable WARC member begins, or None."""
    pos = start
    while pos < size:
        stop = min(size, pos + _BLOCK)
        for cand in _headers(fh, pos, stop):
            if starts_warc_member(fh, cand):
                return cand
        pos = stop
    return None


def _is_padding(fh: BinaryIO, start: int) -> bool:
    fh.seek(start)
    while block := fh.read(_BLOCK):
        if block.strip(_PADDING):
            return False
    return True


def find_damage(path: Path | str, offset: int, last_record: int | None) -> Damage | None:
    """After the record reader stopped, the damaged region it stopped at (None: the file ended cleanly).

    ``offset`` is where this reading pass started; ``last_record`` the offset of the last record
    it delivered (None if it delivered none). When that record's own member is cut short (a
    truncated file), the region starts at that member: the partial record was delivered, and the
    member still counts as damaged.
    """
    if isinstance(path, Path):
        size = path.stat().st_size
    else:
        from core import fs

        size = fs.file_size(path)
    with _open(path) as fh:
        start = offset
        if last_record is not None:
            end = member_end(fh, last_record)
            start = end if end is not None else last_record
        if start >= size or _is_padding(fh, start):
            return None
        resume = next_warc_member(fh, start + 1, size)
        stop = resume if resume is not None else size
        members = len(_headers(fh, start, stop))
    return Damage(start, resume, max(1, members), stop - start)
