"""Byte-range reads over real HTTP (a server on 127.0.0.1) and local files, and their failures."""

from __future__ import annotations

import os
import socket
import time

import pytest

from core.byte_range import RangeMissing, RangeReader, RangeShort, RangeUnavailable, open_stream
from tests.range_server import RangeServer


@pytest.fixture()
def blob(tmp_path):
    data = os.urandom(50_000)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "blob.bin").write_bytes(data)
    return tmp_path, data


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_http_and_local_ranges_match(blob):
    root, data = blob
    with RangeServer(root) as srv, RangeReader(timeout=5, retries=2) as reader:
        for off, n in [(0, 1), (123, 4567), (49_000, 1000)]:
            assert reader.read(srv.url + "d/blob.bin", off, n) == data[off:off + n]
            assert reader.read(str(root / "d" / "blob.bin"), off, n) == data[off:off + n]
            assert reader.read((root / "d" / "blob.bin").as_uri(), off, n) == data[off:off + n]
        assert srv.ranges == [("d/blob.bin", 0, 1), ("d/blob.bin", 123, 4567), ("d/blob.bin", 49_000, 1000)]


def test_retries_transient_5xx_then_succeeds(blob):
    root, data = blob
    with RangeServer(root) as srv, RangeReader(timeout=5, retries=3, backoff=0.01) as reader:
        srv.fail_next = 2
        assert reader.read(srv.url + "d/blob.bin", 10, 20) == data[10:30]
        assert srv.requests == 3


def test_persistent_5xx_is_unavailable_after_bounded_retries(blob):
    root, _ = blob
    with RangeServer(root) as srv, RangeReader(timeout=5, retries=3, backoff=0.01) as reader:
        srv.fail_next = 100
        with pytest.raises(RangeUnavailable, match="after 3 attempts.*HTTP 503"):
            reader.read(srv.url + "d/blob.bin", 0, 10)
        assert srv.requests == 3


def test_not_found_and_past_end(blob):
    root, data = blob
    with RangeServer(root) as srv, RangeReader(timeout=5, retries=3, backoff=0.01) as reader:
        with pytest.raises(RangeMissing, match="HTTP 404"):
            reader.read(srv.url + "d/nope.bin", 0, 10)
        assert srv.requests == 1  # a 404 is not retried
        with pytest.raises(RangeShort, match="416"):
            reader.read(srv.url + "d/blob.bin", len(data) + 10, 10)
        with pytest.raises(RangeShort, match="has 100"):
            reader.read(srv.url + "d/blob.bin", len(data) - 100, 200)
        with pytest.raises(RangeShort):
            reader.read(str(root / "d" / "blob.bin"), len(data) - 5, 10)
        with pytest.raises(RangeMissing):
            reader.read(str(root / "d" / "nope.bin"), 0, 10)


def test_connection_refused_fails_fast_and_clearly():
    url = f"http://127.0.0.1:{_closed_port()}/x.warc.gz"
    t0 = time.monotonic()
    with RangeReader(timeout=2, retries=3, backoff=0.05) as reader, \
            pytest.raises(RangeUnavailable, match=r"unreachable after 3 attempts \(ConnectionRefusedError"):
        reader.read(url, 0, 10)
    assert time.monotonic() - t0 < 5
    with pytest.raises(RangeUnavailable, match="unreachable after 2 attempts"):
        open_stream(url, timeout=2, retries=2, backoff=0.05)


def test_stalled_server_times_out():
    """A server that accepts but never answers: the timeout bounds every attempt."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    try:
        t0 = time.monotonic()
        with RangeReader(timeout=0.3, retries=2, backoff=0.01) as reader, \
                pytest.raises(RangeUnavailable, match="timeout"):
            reader.read(f"http://127.0.0.1:{srv.getsockname()[1]}/x", 0, 10)
        assert time.monotonic() - t0 < 3
    finally:
        srv.close()


def test_open_stream_reads_whole_files(blob):
    root, data = blob
    with RangeServer(root) as srv:
        with open_stream(srv.url + "d/blob.bin") as fh:
            assert fh.read() == data
        with pytest.raises(RangeMissing):
            open_stream(srv.url + "d/nope.bin")
    with open_stream(str(root / "d" / "blob.bin")) as fh:
        assert fh.read() == data


def test_ranges_from_an_s3_bucket(s3_bucket: str) -> None:
    from core import fs
    from core.byte_range import RangeMissing, RangeReader, RangeShort

    fs.write_bytes(bytes(range(200)), f"{s3_bucket}/w/a.warc.gz")
    with RangeReader() as reader:
        assert reader.read(f"{s3_bucket}/w/a.warc.gz", 10, 4) == bytes([10, 11, 12, 13])
        with pytest.raises(RangeShort):
            reader.read(f"{s3_bucket}/w/a.warc.gz", 190, 20)
        with pytest.raises(RangeMissing):
            reader.read(f"{s3_bucket}/w/missing.warc.gz", 0, 4)
