"""A real HTTP/1.1 file server on 127.0.0.1 that honours ``Range: bytes=a-b`` (206 / 416 / 404).

``fail_next`` makes the next N requests answer 503 (to exercise retries); ``requests`` counts
requests and ``ranges`` records the ranges asked.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class RangeServer:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.requests = 0
        self.ranges: list[tuple[str, int, int]] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers and body leave in one write (no Nagle/delayed-ACK stall)
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with server._lock:
                    server.requests += 1
                    fail = server.fail_next > 0
                    server.fail_next -= fail
                if fail:
                    return self._reply(503, b"busy")
                rel = unquote(urlsplit(self.path).path).lstrip("/")
                path = (server.root / rel).resolve()
                if not path.is_relative_to(server.root.resolve()) or not path.is_file():
                    return self._reply(404, b"not found")
                size = path.stat().st_size
                header = self.headers.get("Range")
                if header is None:
                    return self._reply(200, path.read_bytes())
                m = _RANGE.match(header.strip())
                if not m:
                    return self._reply(400, b"bad range")
                start = int(m.group(1))
                end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
                if start >= size:
                    return self._reply(416, b"", {"Content-Range": f"bytes */{size}"})
                with server._lock:
                    server.ranges.append((rel, start, end - start + 1))
                with open(path, "rb") as fh:
                    fh.seek(start)
                    body = fh.read(end - start + 1)
                self._reply(206, body, {"Content-Range": f"bytes {start}-{end}/{size}"})

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
