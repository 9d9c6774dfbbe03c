"""A tiny HTTP server on 127.0.0.1 for the demo's sample site (and for benchmarks).

It serves whatever a `Site` callable answers for a path, so the site can change between
crawl rounds the way real sites do. Binds loopback only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


Site = Callable[[str], Response | None]  # path (with query) -> response, None for 404


class _Handler(BaseHTTPRequestHandler):
    server: "SiteServer"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        try:
            resp = self.server.site(self.path)
        except Exception as exc:  # a bug in a sample page must not kill the server
            resp = Response(500, f"sample site error: {exc}".encode(), "text/plain; charset=utf-8")
        if resp is None:
            resp = Response(404, b"<html><body><h1>Not found</h1></body></html>")
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(resp.body)
        self.server.requests.append(self.path)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, site: Site, port: int = 0) -> None:
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError:
            if port == 0:
                raise
            super().__init__(("127.0.0.1", 0), _Handler)  # the port is taken: any free one
        self.site = site
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> "SiteServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
