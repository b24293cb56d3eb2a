"""A flaky object store for tests: an HTTP proxy on loopback in front of an S3 API that serves planned faults."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

# Headers about one connection, not about the request: never forwarded (the proxy answers 100-continue itself).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect"}
# An answer is read whole from the store and sent on with its length.
FRAMING = {"content-length", "transfer-encoding"}
# The error S3 answers with, by status: throttling (503 SlowDown) and a failure inside the store (500).
ERRORS = {"503": ("SlowDown", "Please reduce your request rate."),
          "500": ("InternalError", "We encountered an internal error. Please try again.")}
KINDS = (*ERRORS, "timeout", "drop")


@dataclass
class Fault:
    kind: str
    count: int
    methods: tuple[str, ...]
    path_contains: str | None


class FlakyStore:
    """Forwards every request to `upstream` unless a planned fault matches it. Faults, by kind:

    "503", "500": an S3 error answer (SlowDown, InternalError), the request not forwarded.
    "timeout": the request read, then no answer until the proxy stops (a client's read timeout ends the wait).
    "drop": an upload forwarded in part (half its body), then both connections closed; a GET forwarded and half of
        the answer's body sent back (none, when it has none) before closing; any other request closed unforwarded.
    """

    def __init__(self, upstream: str):
        self.upstream = urllib.parse.urlsplit(upstream).netloc
        self.served: Counter[str] = Counter()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, kind: str, count: int = 1, methods: tuple[str, ...] = ("PUT",),
             path_contains: str | None = None) -> None:
        """Serve `kind` to the next `count` requests with one of `methods` whose path holds `path_contains`."""
        assert kind in KINDS, kind
        with self._lock:
            self._faults.append(Fault(kind, count, methods, path_contains))

    def heal(self) -> None:
        """Drop the faults not yet served."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> str | None:
        """The fault planned for this request, if any, counted as served."""
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and method in fault.methods and (fault.path_contains or "") in path:
                    fault.count -= 1
                    self.served[fault.kind] += 1
                    return fault.kind
        return None

    def hold(self) -> None:
        self._stopping.wait()

    @contextlib.contextmanager
    def running(self) -> Iterator[FlakyStore]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=10)


def _handler(store: FlakyStore) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as S3 clients expect
        timeout = 60  # an idle client connection ends its thread

        def log_message(self, format, *args) -> None:
            pass

        def body_pieces(self) -> Iterator[bytes]:
            """The request's body as it arrives, in its wire framing (so it is forwarded as sent)."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                while True:
                    line = self.rfile.readline()
                    yield line
                    size = int(line.split(b";")[0], 16)
                    if size == 0:
                        while (trailer := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                            yield trailer
                        yield b"\r\n"
                        return
                    yield self.rfile.read(size + 2)
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                piece = self.rfile.read(min(left, 1 << 16))
                if not piece:
                    return
                left -= len(piece)
                yield piece

        def handle_request(self) -> None:
            fault = store.take(self.command, self.path)
            body = self.body_pieces()
            if fault in ERRORS:
                for _ in body:
                    pass
                code, message = ERRORS[fault]
                answer = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}'
                          f"</Message><Resource>{self.path}</Resource><RequestId>flaky</RequestId></Error>").encode()
                self.send_response_only(int(fault))
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)
                return
            if fault == "timeout":
                for _ in body:
                    pass
                store.hold()
                self.close_connection = True
                return
            has_body = int(self.headers.get("Content-Length") or 0) > 0 or "Transfer-Encoding" in self.headers
            if fault == "drop" and not has_body and self.command != "GET":
                self.close_connection = True  # lost before it reached the store
                return
            upstream = http.client.HTTPConnection(store.upstream, timeout=60)
            try:
                self.forward(upstream, body, fault == "drop")
            finally:
                upstream.close()

        def forward(self, upstream: http.client.HTTPConnection, body: Iterator[bytes], drop: bool) -> None:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.endheaders()
            length = int(self.headers.get("Content-Length") or 0)
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            if drop and (length or chunked):
                # Half the body reaches the store, then the client's connection and the store's both end.
                sent = 0
                for piece in body:
                    piece = piece[:max(length // 2 - sent, 1)] if length else piece
                    upstream.send(piece)
                    sent += len(piece)
                    if sent >= max(length // 2, 1):
                        break
                self.close_connection = True
                return
            for piece in body:
                upstream.send(piece)
            response = upstream.getresponse()
            answer = response.read()
            if drop and len(answer) < 2:
                self.close_connection = True
                return
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP | FRAMING:
                    self.send_header(name, value)
            # A HEAD answer announces the length of the body it does not send.
            self.send_header("Content-Length", response.getheader("Content-Length", "0") if self.command == "HEAD"
                             else str(len(answer)))
            self.end_headers()
            if drop:
                self.wfile.write(answer[:len(answer) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(answer)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_request

    return Handler
