"""Caps that keep a reader's memory bounded on hostile input, and the bounded decompression they use.

A record or line over a cap is counted as a rejection (``body_too_large``, ``line_too_long``) and
never held in memory whole: WARC payloads are read at most ``max_body_bytes + 1`` bytes at a time,
HTTP content encodings are inflated with an output limit, JSONL lines are read in slices.
"""

from __future__ import annotations

import zlib

from pydantic import Field

from core.config import StrictConfig

MiB = 1 << 20


class ReadLimits(StrictConfig):
    """Per-document caps applied while reading input files (the job's ``reader`` section)."""

    max_body_bytes: int = Field(
        16 * MiB, gt=0,
        description="largest WARC/ARC record payload, after HTTP content decoding (gzip/deflate); "
                    "larger records are rejected as body_too_large")
    max_line_bytes: int = Field(
        16 * MiB, gt=0,
        description="longest JSONL line in bytes; longer lines are rejected as line_too_long")


DEFAULT_LIMITS = ReadLimits()


class TooLarge(Exception):
    """A decoded body would exceed its cap."""


def inflate_bounded(data: bytes, wbits: int, cap: int) -> bytes:
    """Decompress ``data`` (zlib ``wbits`` format) to at most ``cap`` bytes.

    Raises ``TooLarge`` when the output would exceed ``cap`` (a decompression bomb never expands
    in memory beyond ``cap + 1`` bytes), ``zlib.error`` when the data is not valid or ends early. Concatenated
    gzip members are decoded one after another, as HTTP clients do.
    """
    out = bytearray()
    while True:
        d = zlib.decompressobj(wbits)
        out += d.decompress(data, cap + 1 - len(out))
        if len(out) > cap or d.unconsumed_tail:
            raise TooLarge(f"decoded body exceeds {cap} bytes")
        if not d.eof:
            raise zlib.error("compressed data ends early")
        rest = d.unused_data
        if not rest or wbits < 16 or not rest.startswith(b"\x1f\x8b"):
            return bytes(out)
        data = rest
