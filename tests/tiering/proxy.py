"""A counting reverse proxy in front of Azurite: sees every request the code under test sends.

Counts Set Blob Tier sub-requests per blob (inside Blob Batch bodies and single calls), so a test
can prove that no blob was set twice without trusting the code it checks; can call a hook after
the N-th batch has been applied by the server but before the client gets the answer.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

_SUB_TIER = re.compile(rb"^PUT (/[^ ?]+)\?comp=tier", re.MULTILINE)
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class CountingProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.tier_sets: Counter[str] = Counter()  # "/account/container/blob" -> sub-requests
        self.batches = 0
        self.after_batch: Callable[[int], None] | None = None
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _count(self, method: str, path: str, body: bytes) -> int | None:
        with self._lock:
            if "comp=batch" in path:
                for match in _SUB_TIER.finditer(body):
                    self.tier_sets[unquote(match.group(1).decode())] += 1
                self.batches += 1
                return self.batches
            if method == "PUT" and "comp=tier" in path:
                self.tier_sets[unquote(urlsplit(path).path)] += 1
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _upstream(
                self, headers: dict[str, str], body: bytes
            ) -> tuple[http.client.HTTPResponse, bytes]:
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    return answer, answer.read()
                finally:
                    upstream.close()

            def _forward(self) -> None:
                body = self._body()
                batch_number = proxy._count(self.command, self.path, body)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers["Content-Length"] = str(len(body))
                try:
                    answer, data = self._upstream(headers, body)
                except OSError:
                    self.close_connection = True  # the client sees a reset and retries
                    return
                if batch_number is not None and proxy.after_batch is not None:
                    proxy.after_batch(batch_number)
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                length = answer.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        return Handler
