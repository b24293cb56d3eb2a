"""A loopback fake of the Kubernetes API's shared parts: a threaded HTTP server that hands every request to the
fake's `answer(handler, method)`, and the Status object the API server answers refusals with."""

from __future__ import annotations

import http.server
import threading

from tests.kfp_server import send_json


class LoopbackApi:
    """`with Fake() as api:` serves on 127.0.0.1:<free port> (api.url) in a background thread; subclasses answer."""

    def __init__(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802  (http.server's naming)
                fake.answer(self, self.command)

            do_POST = do_PATCH = do_DELETE = do_GET  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: http.server.BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    def status(self, handler, code: int, reason: str, message: str, status: str = "Failure") -> None:
        send_json(handler, code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status,
                                  "message": message, "reason": reason, "code": code})
