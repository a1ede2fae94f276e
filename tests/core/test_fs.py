"""The filesystem layer against a real S3 API server and plain HTTP range requests on 127.0.0.1."""

from __future__ import annotations

import gzip
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core import fs


def test_local_paths_and_urls_are_told_apart() -> None:
    assert not fs.is_remote("/data/x.warc.gz") and not fs.is_remote("C:/data/x")
    assert fs.is_remote("s3://b/k") and fs.is_remote("gs://b/k") and fs.is_remote("https://h/p")
    assert fs.join("s3://b/run/", "stages", "part-0.parquet") == "s3://b/run/stages/part-0.parquet"
    assert fs.join("/tmp/run", "a") == "/tmp/run/a"


def test_bucket_round_trip_glob_size_and_stream(s3_bucket: str, tmp_path: Path) -> None:
    payload = gzip.compress(b"x" * 3_000_000)
    for name in ("crawl/a/one.warc.gz", "crawl/b/two.warc.gz", "crawl/b/notes.txt"):
        fs.write_bytes(payload, f"{s3_bucket}/{name}")
    found = fs.expand(f"{s3_bucket}/crawl/**/*.warc.gz")
    assert found == [f"{s3_bucket}/crawl/a/one.warc.gz", f"{s3_bucket}/crawl/b/two.warc.gz"]
    assert fs.file_size(found[0]) == len(payload)
    with fs.open_input(found[0], block_size=1 << 16) as stream, gzip.open(stream) as unzipped:
        assert unzipped.read() == b"x" * 3_000_000  # streamed in 64 KiB range requests
    assert fs.read_range(found[0], 10, 5) == payload[10:15]
    local = tmp_path / "f.bin"
    local.write_bytes(b"abc")
    fs.put_file(local, f"{s3_bucket}/out/f.bin")
    assert fs.read_bytes(f"{s3_bucket}/out/f.bin") == b"abc"
    fs.remove(f"{s3_bucket}/out", recursive=True)
    assert not fs.exists(f"{s3_bucket}/out/f.bin")


def test_missing_bucket_and_object_are_clear_errors(s3_endpoint: str) -> None:
    with pytest.raises(fs.StorageError, match="s3://no-such-bucket-x/k.parquet.*not found"):
        fs.read_bytes("s3://no-such-bucket-x/k.parquet")
    assert fs.expand("s3://no-such-bucket-x/*.warc.gz") == []


def test_unreachable_endpoint_fails_fast_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(fs, "_options", lambda proto: {"skip_instance_cache": True, "config_kwargs": {
        "connect_timeout": 1, "read_timeout": 1, "retries": {"max_attempts": 2, "mode": "standard"}}})
    t0 = time.monotonic()
    with pytest.raises(fs.StorageError, match="cannot read s3://bucket/key"):
        fs.read_bytes("s3://bucket/key")
    assert time.monotonic() - t0 < 30


@pytest.fixture
def http_root(tmp_path: Path):
    """A plain HTTP server with range support (Python's own handler) over ``tmp_path``."""

    class Ranged(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def send_head(self):  # serve Range: bytes=a-b, as object stores and Common Crawl do
            rng = self.headers.get("Range")
            path = Path(self.translate_path(self.path))
            if not rng or not path.is_file():
                return super().send_head()
            data = path.read_bytes()
            start, _, end = rng.removeprefix("bytes=").partition("-")
            lo, hi = int(start), min(int(end) if end else len(data) - 1, len(data) - 1)
            if lo >= len(data):
                self.send_error(416)
                return None
            import io

            self.send_response(206)
            self.send_header("Content-Range", f"bytes {lo}-{hi}/{len(data)}")
            self.send_header("Content-Length", str(hi - lo + 1))
            self.end_headers()
            return io.BytesIO(data[lo:hi + 1])

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Ranged, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_https_style_range_reads(http_root) -> None:
    root, url = http_root
    (root / "w.bin").write_bytes(bytes(range(256)) * 100)
    assert fs.file_size(f"{url}/w.bin") == 25_600
    assert fs.read_range(f"{url}/w.bin", 256, 4) == bytes([0, 1, 2, 3])
    with fs.open_input(f"{url}/w.bin", block_size=1024) as stream:
        assert stream.read() == bytes(range(256)) * 100
    with pytest.raises(fs.StorageError, match="not found"):
        fs.read_bytes(f"{url}/missing.bin")


def test_gcs_paths_are_served_by_pyarrows_client() -> None:
    gcs, path = fs.filesystem("gs://bucket/crawl/a.warc.gz")
    assert path == "bucket/crawl/a.warc.gz" and "gcs" in str(gcs.protocol)
