"""One filesystem layer for local paths and object storage: ``s3://``, ``gs://``, ``https://``.

Everything that reads inputs or writes outputs goes through these functions, so a job's paths may
be local folders or bucket URLs. The layer is fsspec (s3fs for S3 and S3-compatible stores, gcsfs for
pyarrow's native GCS client for GCS, aiohttp for HTTP range reads), chosen over ``pyarrow.fs`` because it also reads ``https://``
with range requests, globs on buckets, and gives file objects that FastWARC, gzip and pyarrow stream
from without downloading a whole object. Credentials come from each library's usual environment and
config files (``AWS_*`` variables and ``~/.aws``, ``AWS_ENDPOINT_URL`` for S3-compatible servers,
``GOOGLE_APPLICATION_CREDENTIALS``), never from job files, and are never logged.

Object stores have no atomic rename. Writers therefore build a file locally and upload it as one
object (it appears whole or not at all), and a shard's completion marker is uploaded after its data
objects; readers of a run trust a data object only as described by its marker.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

#: Schemes served by object storage or HTTP; anything else is a local path.
REMOTE_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "http", "https", "memory"})
#: Bytes fetched per request when streaming a remote object.
READ_BLOCK = 8 << 20
CONNECT_TIMEOUT_S = float(os.environ.get("AXK1_STORAGE_CONNECT_TIMEOUT", "10"))
READ_TIMEOUT_S = float(os.environ.get("AXK1_STORAGE_READ_TIMEOUT", "120"))
MAX_ATTEMPTS = int(os.environ.get("AXK1_STORAGE_MAX_ATTEMPTS", "3"))


class StorageError(OSError):
    """A path or URL that cannot be read or written, with the reason in words."""


def scheme(path: str | os.PathLike[str]) -> str:
    """The URL scheme of ``path`` ('' for a local path; Windows drive letters are not schemes)."""
    s = urlsplit(os.fspath(path)).scheme.lower()
    return s if len(s) > 1 else ""


def is_remote(path: str | os.PathLike[str]) -> bool:
    return scheme(path) in REMOTE_SCHEMES


def _options(proto: str) -> dict[str, Any]:
    """Timeouts and bounded retries per protocol: a dead endpoint is an error, never a hang."""
    if proto in ("s3", "s3a"):
        return {"config_kwargs": {"connect_timeout": CONNECT_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S,
                                  "retries": {"max_attempts": MAX_ATTEMPTS, "mode": "standard"}}}
    if proto in ("http", "https"):
        import aiohttp

        return {"client_kwargs": {"timeout": aiohttp.ClientTimeout(
            total=None, connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S)}}
    return {}


def filesystem(path: str | os.PathLike[str]) -> tuple[Any, str]:
    """The fsspec filesystem serving ``path`` and the path in that filesystem's terms."""
    import fsspec

    text = os.fspath(path)
    proto = scheme(text)
    if proto not in REMOTE_SCHEMES:
        return fsspec.filesystem("file"), str(Path(text).absolute())
    try:
        fs = _gcs() if proto in ("gs", "gcs") else fsspec.filesystem(proto, **_options(proto))
    except (ImportError, ValueError) as exc:
        raise StorageError(f"no filesystem for {proto}:// ({exc}); install the package that serves it") from exc
    return fs, fs._strip_protocol(text)


def _gcs() -> Any:
    """GCS through pyarrow's own client (credentials from the environment), behind fsspec's API:
    no second GCS stack and no version lock between gcsfs and the other fsspec packages."""
    from datetime import timedelta

    import pyarrow.fs as pafs
    from fsspec.implementations.arrow import ArrowFSWrapper

    return ArrowFSWrapper(pafs.GcsFileSystem(retry_time_limit=timedelta(seconds=READ_TIMEOUT_S)))


def _unstrip(fs: Any, path: str) -> str:
    """A path from ``fs`` back as a full URL (local paths stay plain)."""
    proto = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if proto in ("file", "local"):
        return path
    if proto == "gcs":
        return f"gs://{path}"
    return fs.unstrip_protocol(path)


@contextmanager
def _explained(what: str, path: str) -> Iterator[None]:
    """Turn a storage library's exception into a ``StorageError`` naming the path and the reason."""
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError as exc:
        raise StorageError(f"cannot {what} {path}: not found ({_reason(exc)})") from exc
    except PermissionError as exc:
        raise StorageError(f"cannot {what} {path}: permission denied ({_reason(exc)})") from exc
    except OSError as exc:
        raise StorageError(f"cannot {what} {path}: {_reason(exc)}") from exc
    except Exception as exc:  # botocore / aiohttp errors that are not OSError subclasses
        raise StorageError(f"cannot {what} {path}: {type(exc).__name__}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]


def open_input(path: str | os.PathLike[str], block_size: int = READ_BLOCK) -> IO[bytes]:
    """A binary stream over a local file or remote object, read in ``block_size`` range requests."""
    text = os.fspath(path)
    if not is_remote(text):
        with _explained("open", text):
            return open(text, "rb")  # noqa: SIM115 - the caller closes it
    fs, p = filesystem(text)
    with _explained("open", text):
        return fs.open(p, "rb", block_size=block_size, cache_type="readahead")


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    text = os.fspath(path)
    fs, p = filesystem(text)
    with _explained("read", text):
        return fs.cat_file(p)


def read_range(path: str | os.PathLike[str], offset: int, length: int) -> bytes:
    """``length`` bytes at ``offset`` (one range request on a remote object); short at the end."""
    text = os.fspath(path)
    fs, p = filesystem(text)
    with _explained("read a byte range of", text):
        return fs.cat_file(p, start=offset, end=offset + length)


def file_size(path: str | os.PathLike[str]) -> int:
    text = os.fspath(path)
    if not is_remote(text):
        with _explained("stat", text):
            return os.stat(text).st_size
    fs, p = filesystem(text)
    with _explained("stat", text):
        fs.invalidate_cache(p)
        return int(fs.size(p))


def exists(path: str | os.PathLike[str]) -> bool:
    text = os.fspath(path)
    fs, p = filesystem(text)
    with _explained("look up", text):
        fs.invalidate_cache(p)
        return bool(fs.exists(p))


def basename(path: str | os.PathLike[str]) -> str:
    """The last component of a local path or URL."""
    return os.fspath(path).rstrip("/").rsplit("/", 1)[-1]


def identity(path: str | os.PathLike[str]) -> list[Any]:
    """What an object's contents are taken to be without reading them: URL, size and the store's
    version tag (ETag, generation or mtime, whichever the store reports)."""
    text = os.fspath(path)
    fs, p = filesystem(text)
    with _explained("stat", text):
        info = fs.info(p)
    tag = next((str(info[k]) for k in ("ETag", "etag", "generation", "md5Hash", "mtime", "LastModified",
                                       "last_modified") if info.get(k) not in (None, "")), "")
    return [text, int(info.get("size") or 0), tag.strip('"')]


def download(src: str | os.PathLike[str], local: str | os.PathLike[str]) -> None:
    """Copy an object to a local file that appears whole (temp file + rename) or not at all."""
    text = os.fspath(src)
    target = Path(local)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fs, p = filesystem(text)
    try:
        with _explained("download", text):
            fs.get_file(p, str(tmp))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def listdir(prefix: str | os.PathLike[str]) -> list[str]:
    """Every file below ``prefix`` (recursively) as full URLs or paths, sorted; [] when none."""
    text = os.fspath(prefix)
    fs, p = filesystem(text)
    with _explained("list", text):
        fs.invalidate_cache()  # other processes (workers, earlier runs) may have written since
        try:
            found = fs.find(p)
        except FileNotFoundError:
            return []
    return sorted(_unstrip(fs, f) for f in found)


def expand(pattern: str | os.PathLike[str]) -> list[str]:
    """Files matching a glob (``*``, ``?``, ``[...]``, ``**``), sorted; a plain path is itself."""
    text = os.fspath(pattern)
    fs, p = filesystem(text)
    with _explained("list", text):
        fs.invalidate_cache()
        if any(c in p for c in "*?["):
            found = fs.glob(p)
        else:
            found = [p] if fs.exists(p) else []
    return sorted(_unstrip(fs, f) for f in found)


def put_file(local: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Copy a finished local file to ``dest`` as one object (or by rename on a local disk)."""
    target = os.fspath(dest)
    if not is_remote(target):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(target).with_name(f".{Path(target).name}.{os.getpid()}.tmp")
        shutil.copyfile(local, tmp)
        os.replace(tmp, target)
        return
    fs, p = filesystem(target)
    with _explained("write", target):
        fs.put_file(os.fspath(local), p)


def write_bytes(data: bytes, dest: str | os.PathLike[str]) -> None:
    """Write ``data`` whole: a local file by rename, an object in one request."""
    target = os.fspath(dest)
    if not is_remote(target):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(target).with_name(f".{Path(target).name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return
    fs, p = filesystem(target)
    with _explained("write", target):
        fs.pipe_file(p, data)


def remove(path: str | os.PathLike[str], recursive: bool = False) -> None:
    """Delete a file or (with ``recursive``) a folder / prefix; a missing one is not an error."""
    text = os.fspath(path)
    fs, p = filesystem(text)
    with _explained("delete", text):
        if fs.exists(p):
            fs.rm(p, recursive=recursive)


def join(base: str | os.PathLike[str], *parts: str) -> str:
    """``base/part/...`` for local paths and URLs alike."""
    text = os.fspath(base)
    if not is_remote(text):
        return str(Path(text).joinpath(*parts))
    return "/".join([text.rstrip("/"), *(p.strip("/") for p in parts)])
