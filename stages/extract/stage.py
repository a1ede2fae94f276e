"""Extraction: raw web records (HTML bytes) to main text, with charset decoding and accounting."""

from __future__ import annotations

import logging
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from core.readers import RAW_COLUMNS
from core.stage import Stage, StageConfig
from core.stats import StageStats
from stages.extract.charset import decode_html
from stages.extract.html_depth import depth_over

log = logging.getLogger(__name__)

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "text/plain")


class ExtractConfig(StageConfig):
    engine: Literal["resiliparse", "trafilatura"] = Field(
        "trafilatura", description="HTML main-text engine (see BENCHMARKS.md for the F1/speed trade-off)")
    max_bytes: int = Field(2_000_000, gt=0, description="records larger than this are rejected as oversized")
    max_html_depth: int = Field(2048, gt=0, description="pages whose estimated element nesting is deeper "
                                                        "are rejected as html_too_deep (see html_depth.py)")
    keep_truncated: bool = Field(False, description="keep records the crawler truncated (WARC-Truncated)")
    max_replacement_ratio: float = Field(0.005, ge=0, le=1,
                                         description="max share of U+FFFD when no charset decodes cleanly")
    min_text_chars: int = Field(1, ge=0, description="reject pages whose extracted text is shorter")
    include_tables: bool = True


class Extract(Stage):
    """Decode each raw record's bytes and extract its main text; pass through rows that have text."""

    name = "extract"
    Config = ExtractConfig
    output_fields = [pa.field("extract_engine", pa.string())]
    reject_drop_columns = ["raw_content"]  # page bytes would dwarf the corpus; url + reason suffice

    def setup(self) -> None:
        if self.config.engine == "trafilatura":
            import trafilatura  # noqa: F401  (import once per worker, not per page)

    def process(self, batch: pa.Table, stats: StageStats) -> pa.Table:
        cfg: ExtractConfig = self.config
        n = batch.num_rows
        if "raw_content" not in batch.column_names:
            engine = pa.array(["none"] * n, pa.string())
            length = pc.fill_null(pc.utf8_length(pc.utf8_trim_whitespace(batch.column("text"))), 0)
            reasons = pc.if_else(pc.equal(length, 0), "empty", pc.if_else(
                pc.less(length, cfg.min_text_chars), "no_text", pa.scalar(None, pa.string())))
            return batch.append_column("extract_engine", engine).append_column("reject_reason", reasons)
        raw = batch.column("raw_content").to_pylist()
        ctypes = batch.column("content_type").to_pylist()
        http_cs = batch.column("http_charset").to_pylist()
        status = batch.column("http_status").to_pylist()
        truncated = batch.column("truncated").to_pylist()
        texts = batch.column("text").to_pylist()
        charsets = batch.column("charset").to_pylist()
        engines: list[str | None] = [None] * n
        reasons: list[str | None] = [None] * n
        for i in range(n):
            if raw[i] is None:  # WET conversion records arrive with text already
                engines[i] = "wet"
                if not texts[i]:
                    reasons[i] = "empty"
                continue
            reason = self._precheck(raw[i], ctypes[i], status[i], truncated[i])
            if reason:
                reasons[i] = reason
                continue
            decoded = decode_html(raw[i], http_cs[i], cfg.max_replacement_ratio)
            if decoded.text is None:
                reasons[i] = "undecodable"
                continue
            stats.add(f"charset.{decoded.charset}")
            stats.add(f"charset_origin.{decoded.origin}")
            charsets[i] = decoded.charset
            text = self._extract(decoded.text, ctypes[i])
            engines[i] = cfg.engine
            if text is None or len(text.strip()) < max(1, cfg.min_text_chars):
                reasons[i] = "no_text"
                continue
            texts[i] = text
        out = batch.drop_columns([c for c in RAW_COLUMNS if c in batch.column_names])
        out = out.set_column(out.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
        out = out.set_column(out.schema.get_field_index("charset"), "charset", pa.array(charsets, pa.string()))
        return out.append_column("extract_engine", pa.array(engines, pa.string())).append_column(
            "reject_reason", pa.array(reasons, pa.string()))

    def _precheck(self, body: bytes, ctype: str | None, status: int | None, truncated: str | None) -> str | None:
        cfg: ExtractConfig = self.config
        if status is not None and not 200 <= status < 300:
            return "http_status"
        if truncated and not cfg.keep_truncated:
            return "truncated"
        if not body or not body.strip():
            return "empty"
        if len(body) > cfg.max_bytes:
            return "oversized"
        mime = (ctype or "").split(";", 1)[0].strip().lower()
        if mime and not mime.startswith(_HTML_TYPES):
            return "non_html"
        if b"\x00" in body[:4096] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "binary"
        if mime != "text/plain" and depth_over(body, cfg.max_html_depth):
            return "html_too_deep"
        return None

    def _extract(self, html: str, ctype: str | None) -> str | None:
        mime = (ctype or "").split(";", 1)[0].strip().lower()
        if mime == "text/plain":
            return html
        if self.config.engine == "resiliparse":
            return extract_resiliparse(html)
        return extract_trafilatura(html, self.config.include_tables)


def extract_resiliparse(html: str) -> str | None:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    return extract_plain_text(tree, main_content=True, alt_texts=False, links=False,
                              form_fields=False, noscript=False, list_bullets=True)


def extract_trafilatura(html: str, include_tables: bool = True) -> str | None:
    import trafilatura

    return trafilatura.extract(html, include_comments=False, include_tables=include_tables,
                               no_fallback=True, favor_precision=False, deduplicate=False)
