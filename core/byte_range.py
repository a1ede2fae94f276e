"""Byte-range reads of one span of a remote or local file, with timeouts and bounded retries.

``RangeReader.read(location, offset, length)`` takes a URL (``http://``, ``https://``) or a local
path (or ``file://`` URL) and returns exactly ``length`` bytes starting at ``offset``. It is the
signature of ``pyarrow.fs`` (``open_input_file(path).read_at(length, offset)``) and of fsspec
(``fs.cat_file(path, start, end)``), so a filesystem layer for ``s3://`` and ``gs://`` slots in as
another branch of ``read`` without changing callers.

HTTP uses the standard library (``http.client``) rather than fsspec's HTTP filesystem: fsspec needs
aiohttp and an event loop per process, while a Common Crawl record read is one synchronous
``Range: bytes=a-b`` request. One keep-alive connection per host is reused across the records of a
shard (Common Crawl serves ``data.commoncrawl.org`` over HTTP/1.1 keep-alive).

Failures are split by whether retrying can help:

* ``RangeUnavailable`` (connection refused or reset, timeout, HTTP 429/5xx after ``retries``
  attempts with exponential back-off): the source is unreachable *now*. Callers let it fail the
  shard, which stays unfinished and is redone when the job is rerun.
* ``RangeMissing`` (HTTP 404/410/403, a local file that does not exist) and ``RangeShort`` (the
  range ends past the end of the file, HTTP 416, or fewer bytes than asked): the pointer is wrong
  and retrying cannot fix it. Callers count the record as an error with the exception's ``reason``.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

#: Statuses worth retrying: throttling and server-side failures.
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Statuses that say the object is not there (retrying cannot help).
_MISSING_STATUS = frozenset({401, 403, 404, 410})


class RangeError(Exception):
    """A byte range that could not be read; ``reason`` is a short counter key."""

    reason = "range_error"


class RangeUnavailable(RangeError):
    """The source did not answer within the retry budget (transient: the shard should fail)."""

    reason = "unavailable"


class RangeMissing(RangeError):
    """The file is not there (HTTP 404/410/403 or no such local file)."""

    reason = "not_found"


class RangeShort(RangeError):
    """The range reaches past the end of the file."""

    reason = "range_past_end"


class RangeReader:
    """Reads ``(location, offset, length)`` spans; keeps one HTTP connection per host."""

    def __init__(self, timeout: float = 30.0, retries: int = 4, backoff: float = 0.5,
                 max_backoff: float = 8.0) -> None:
        if retries < 1:
            raise ValueError("retries must be at least 1")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._conns: dict[tuple[str, str], http.client.HTTPConnection] = {}
        self.requests = 0

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def read(self, location: str, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes of ``location`` from ``offset``."""
        if offset < 0 or length <= 0:
            raise RangeShort(f"{location}: invalid range offset={offset} length={length}")
        scheme = urlsplit(location).scheme.lower()
        if scheme in ("http", "https"):
            return self._read_http(location, offset, length)
        if scheme == "file":
            return _read_local(Path(unquote(urlsplit(location).path)), offset, length)
        if scheme in ("s3", "s3a", "gs", "gcs"):
            return _read_object(location, offset, length)
        if scheme and len(scheme) > 1:  # not a Windows drive letter
            raise ValueError(f"{location}: unsupported scheme {scheme!r} "
                             "(http, https, s3, gs, file or a local path)")
        return _read_local(Path(location), offset, length)

    # ------------------------------------------------------------------ HTTP
    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        key = (scheme, netloc)
        conn = self._conns.get(key)
        if conn is None:
            cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            conn = cls(netloc, timeout=self.timeout)
            self._conns[key] = conn
        return conn

    def _drop(self, scheme: str, netloc: str) -> None:
        conn = self._conns.pop((scheme, netloc), None)
        if conn is not None:
            conn.close()

    def _read_http(self, url: str, offset: int, length: int) -> bytes:
        parts = urlsplit(url)
        scheme, netloc = parts.scheme.lower(), parts.netloc
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Range": f"bytes={offset}-{offset + length - 1}", "Accept-Encoding": "identity"}
        last = ""
        for attempt in range(self.retries):
            if attempt:
                time.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
            conn = self._connection(scheme, netloc)
            try:
                self.requests += 1
                conn.request("GET", target or "/", headers=headers)
                resp = conn.getresponse()
                status = resp.status
                if status == 206:
                    body = _read_exact(resp, length)
                    if len(body) < length:
                        self._drop(scheme, netloc)
                        raise RangeShort(f"{url}: asked {length} bytes at {offset}, the file has {len(body)}")
                    return body
                resp.read()  # drain so the connection can be reused
                if status == 416:
                    raise RangeShort(f"{url}: range {offset}+{length} starts past the end of the file (HTTP 416)")
                if status in _MISSING_STATUS:
                    raise RangeMissing(f"{url}: HTTP {status}")
                if status == 200:
                    raise RangeUnavailable(f"{url}: the server ignored the Range header (HTTP 200)")
                last = f"HTTP {status}"
                if status not in _RETRY_STATUS:
                    raise RangeMissing(f"{url}: HTTP {status}")
            except TimeoutError as exc:
                self._drop(scheme, netloc)
                last = f"timeout after {self.timeout:g} s ({exc})"
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self._drop(scheme, netloc)
                last = f"{type(exc).__name__}: {exc}"
            log.debug("%s: attempt %d/%d failed: %s", url, attempt + 1, self.retries, last)
        raise RangeUnavailable(f"{url}: unreachable after {self.retries} attempts ({last})")


def _read_exact(resp: http.client.HTTPResponse, length: int) -> bytes:
    chunks = []
    got = 0
    while got < length:
        chunk = resp.read(length - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_local(path: Path, offset: int, length: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
    except FileNotFoundError as exc:
        raise RangeMissing(f"{path}: no such file") from exc
    if len(data) < length:
        raise RangeShort(f"{path}: asked {length} bytes at {offset}, the file has {len(data)} there")
    return data


def _read_object(location: str, offset: int, length: int) -> bytes:
    """A byte range of an object-store object through the filesystem layer (its own timeouts and
    bounded retries); the same error classes as HTTP."""
    from core import fs

    try:
        data = fs.read_range(location, offset, length)
    except fs.StorageError as exc:
        if "not found" in str(exc):
            raise RangeMissing(str(exc)) from exc
        raise RangeUnavailable(str(exc)) from exc
    if len(data) < length:
        raise RangeShort(f"{location}: asked {length} bytes at {offset}, the object has {len(data)} there")
    return data


def open_stream(location: str, timeout: float = 30.0, retries: int = 4, backoff: float = 0.5) -> BinaryIO:
    """A whole file as a binary stream (a local path, ``file://`` or an HTTP(S) GET), with the
    same error classes and retry budget as ``RangeReader`` for opening it."""
    scheme = urlsplit(location).scheme.lower()
    if scheme in ("s3", "s3a", "gs", "gcs"):
        from core import fs

        try:
            return fs.open_input(location)
        except fs.StorageError as exc:
            raise (RangeMissing if "not found" in str(exc) else RangeUnavailable)(str(exc)) from exc
    if scheme not in ("http", "https"):
        path = Path(unquote(urlsplit(location).path)) if scheme == "file" else Path(location)
        try:
            return open(path, "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError as exc:
            raise RangeMissing(f"{path}: no such file") from exc
    last = ""
    for attempt in range(retries):
        if attempt:
            time.sleep(min(8.0, backoff * 2 ** (attempt - 1)))
        try:
            return urllib.request.urlopen(location, timeout=timeout)  # noqa: S310 - http(s) only
        except urllib.error.HTTPError as exc:
            if exc.code in _MISSING_STATUS:
                raise RangeMissing(f"{location}: HTTP {exc.code}") from None
            last = f"HTTP {exc.code}"
            if exc.code not in _RETRY_STATUS:
                raise RangeMissing(f"{location}: HTTP {exc.code}") from None
        except (TimeoutError, OSError) as exc:
            last = f"{type(exc).__name__}: {exc}"
    raise RangeUnavailable(f"{location}: unreachable after {retries} attempts ({last})")
