"""Real HTTP servers on 127.0.0.1 for tests: routes, faults, and a request log with times.

A route is a function (path, handler) -> Reply | None; a Reply can also misbehave on purpose
(slow drip, reset, endless body, broken chunking) by writing to the socket itself.
"""

from __future__ import annotations

import gzip
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0  # seconds before answering
    raw: Callable[[socket.socket], None] | None = None  # write the whole response yourself


def html(body: str, status: int = 200, **headers: str) -> Reply:
    h = {"Content-Type": "text/html; charset=utf-8"}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return Reply(status, body.encode("utf-8"), h)


def gzipped(body: bytes, content_type: str = "text/html; charset=utf-8") -> Reply:
    return Reply(200, gzip.compress(body, mtime=0), {"Content-Type": content_type, "Content-Encoding": "gzip"})


@dataclass
class Hit:
    path: str
    host: str | None
    start: float  # monotonic, request read
    end: float  # monotonic, response written
    user_agent: str | None


class LocalSite:
    """A site: exact paths map to Replies or callables returning them."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[], Reply]] = {}
        self.log: list[Hit] = []
        self.lock = threading.Lock()

    def __setitem__(self, path: str, reply: Reply | Callable[[], Reply]) -> None:
        self.routes[path] = reply

    def hits(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.log if h.path == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "LocalServer"

    def do_GET(self) -> None:  # noqa: N802
        start = time.monotonic()
        route = self.server.site.routes.get(self.path)
        reply = route() if callable(route) else route
        if reply is None:
            reply = html("<html><body>not found</body></html>", 404)
        try:
            if reply.delay:
                time.sleep(reply.delay)
            if reply.raw is not None:
                reply.raw(self.connection)
                self.close_connection = True
            else:
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            # Stamped before taking the log's lock: a stamp taken after waiting for it (20
            # servers' threads share it) ran late, and the gap to the next request looked
            # shorter than the client made it (0.496 s for a 0.5 s delay in bench/crawl.py).
            end = time.monotonic()
            with self.server.site.lock:
                self.server.site.log.append(Hit(self.path, self.headers.get("Host"), start, end,
                                                self.headers.get("User-Agent")))

    def log_message(self, format: str, *args: object) -> None:
        return


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: LocalSite, host: str = "127.0.0.1") -> None:
        # The log's end stamp is taken when the thread that wrote the response gets the GIL
        # back, up to one switch interval (5 ms by default) after the client already has the
        # bytes; a finer interval keeps the servers' log within a millisecond of the wire.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
        super().__init__((host, 0), _Handler)
        self.site = site
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.server_address[0]}:{self.port}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
