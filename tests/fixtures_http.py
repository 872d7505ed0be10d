"""A local HTTP server on 127.0.0.1 for the download tests (no internet needed).

Use in a test module::

    from fixtures_http import Reply, http_server  # noqa: F401  (the fixture)

    def test_x(http_server):
        http_server.route("/a.txt.gz", Reply(500), Reply(200, body=data))
        url = http_server.url("/a.txt.gz")

``http_server`` starts one threaded server per test module (random free port) and clears
its routes and request log before each test. A route answers with its replies in order
and repeats the last one. Routes are matched on the path plus the query string (order of
parameters does not matter); a route registered without a query matches any query.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeout tests)
    content_type: str = "application/octet-stream"

    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


def _key(target: str) -> tuple[str, tuple]:
    parts = urlsplit(target)
    return parts.path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that closes a keep-alive connection (the downloader is done, or gave up on a slow
        # reply) makes the handler's next read fail: not a fault of the server, and its traceback on
        # stderr would land in the middle of a test's captured output. Every other error is printed.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LocalServer:
    def __init__(self):
        self.routes: dict[tuple[str, tuple], list[Reply]] = {}
        self.served: dict[tuple[str, tuple], int] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                reply = owner._reply_for(self.path)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.data()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread: threading.Thread | None = None

    def _reply_for(self, target: str) -> Reply:
        key = _key(target)
        with self.lock:
            self.requests.append(target)
            for k in (key, (key[0], None)):
                if k in self.routes:
                    replies = self.routes[k]
                    n = self.served.get(k, 0)
                    self.served[k] = n + 1
                    return replies[min(n, len(replies) - 1)]
        return Reply(404, body=f"no route for {target}", content_type="text/plain")

    # -- API for tests
    def route(self, target: str, *replies: Reply, any_query: bool = False) -> str:
        """Serve ``replies`` (in order, the last repeating) at ``target``; returns its URL."""
        if not replies:
            raise ValueError("give at least one Reply")
        path, query = _key(target)
        with self.lock:
            key = (path, None) if any_query else (path, query)
            self.routes[key] = list(replies)
            self.served.pop(key, None)
        return self.url(target)

    def url(self, target: str = "/") -> str:
        return self.base + target

    def count(self, path: str) -> int:
        """Requests whose path (without query) is ``path``."""
        with self.lock:
            return sum(1 for t in self.requests if urlsplit(t).path == path)

    def reset(self) -> None:
        with self.lock:
            self.routes.clear()
            self.served.clear()
            self.requests.clear()

    def start(self) -> "LocalServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="test-http", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread:
            self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def http_server_module():
    server = LocalServer().start()
    yield server
    server.stop()


@pytest.fixture
def http_server(http_server_module):
    http_server_module.reset()
    return http_server_module


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to send an HTTP request through requests."""
    import requests

    calls = []

    def refuse(self, method, url, *args, **kwargs):
        calls.append(url)
        raise AssertionError(f"unexpected network access: {method} {url}")

    monkeypatch.setattr(requests.Session, "request", refuse)
    return calls
