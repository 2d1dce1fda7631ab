"""A small HTTP server on 127.0.0.1 for tests: fixed routes, files, and misbehaviour on demand."""

from __future__ import annotations

import http.server
import threading
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Response:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (slow or hanging servers)

    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


Route = Response | Callable[["http.server.BaseHTTPRequestHandler"], Response]


class LocalServer:
    """``server.route("/feed.xml", Response(body=..., headers={...}))``; ``server.url("/feed.xml")``."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, head_only: bool):
                outer.requests.append((self.command, self.path, dict(self.headers)))
                route = outer.routes.get(self.path) or outer.routes.get(self.path.split("?")[0])
                if route is None:
                    resp = Response(404, "not found", {"Content-Type": "text/plain"})
                else:
                    resp = route(self) if callable(route) else route
                if resp.delay:
                    time.sleep(resp.delay)
                data = resp.data()
                try:
                    self.send_response(resp.status)
                    headers = {"Content-Length": str(len(data)), **resp.headers}
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if not head_only and resp.status not in (204, 304):
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self._answer(False)

            def do_HEAD(self):
                self._answer(True)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "LocalServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, path: str, response: Route) -> str:
        self.routes[path] = response
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for _, p, _ in self.requests if p.split("?")[0] == path)
