"""A real HTTP proxy on loopback in front of Azurite: counts every request it receives and can
cut a share of the download bodies midway (headers and Content-Length whole, then part of the
body, then the connection closed), as a flaky network does."""

from __future__ import annotations

import http.client
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class CuttingProxy:
    def __init__(
        self,
        target_port: int,
        cut_share: float = 0.0,
        seed: int = 15,
        cut_first: int = 0,
        body_delay: float = 0.0,
    ) -> None:
        self.target_port = target_port
        self.body_delay = body_delay  # seconds before each ranged body: a slow network
        self.cut_share = cut_share
        self.cut_first = cut_first  # the first N bodies are cut, whatever the share
        self.requests = 0
        self.bodies = 0  # ranged GET bodies seen
        self.cuts = 0  # of those, cut midway
        self.active = 0  # requests being handled now
        self.connections = 0  # TCP connections accepted
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_idle(self, timeout: float = 30) -> None:
        """Until no request is being handled (e.g. the one a killed client left behind)."""
        deadline = time.monotonic() + timeout
        while self.active and time.monotonic() < deadline:
            time.sleep(0.02)

    def account_url(self, account: str) -> str:
        return f"http://127.0.0.1:{self.port}/{account}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _should_cut(self, status: int) -> bool:
        with self._lock:
            if status != 206:
                return False
            self.bodies += 1
            cut = self.bodies <= self.cut_first or self._random.random() < self.cut_share
            self.cuts += cut
            return cut

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def _cut_at(self, length: int) -> int:
        with self._lock:
            return int(length * self._random.uniform(0.05, 0.95))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy.connections += 1

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.active += 1
                try:
                    self._relay()
                except OSError:
                    self.close_connection = True  # the client went away (killed)
                finally:
                    with proxy._lock:
                        proxy.active -= 1

            def _relay(self) -> None:
                proxy._count()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                if body is not None:
                    headers["Content-Length"] = str(len(body))
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                shown = answer.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", shown or str(len(data)))
                self.end_headers()
                if self.command != "HEAD" and proxy._should_cut(answer.status):
                    self.wfile.write(data[: proxy._cut_at(len(data))])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # the client sees the body end
                    self.close_connection = True
                    return
                if self.command != "HEAD":
                    if answer.status == 206 and proxy.body_delay:
                        time.sleep(proxy.body_delay)
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        return Handler
