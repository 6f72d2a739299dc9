"""A webhook receiver for tests: a real HTTP server on a free loopback port, in a thread of the test.

It verifies each request's signature (standardwebhooks, the endpoint's secret), keeps every
request it got (`requests`), and answers `status` (204 unless the test sets another, or a
function of the request). `down()` closes its socket, so a delivery meets "connection refused";
`up()` listens again on the same port.
"""

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class HttpReceiver:
    def __init__(self, secret: str, *, status: int | Callable[["Received"], int] = 204, delay: float = 0.0):
        self.secret = secret
        self.status = status
        self.delay = delay  # seconds each answer waits (races: requests overlap)
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def up(self) -> "HttpReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                if receiver.delay:
                    time.sleep(receiver.delay)
                pending = Received(headers.get("webhook-id", ""), headers, body, verified, 0)
                status = receiver.status(pending) if callable(receiver.status) else receiver.status
                with receiver._lock:
                    receiver.requests.append(Received(pending.webhook_id, headers, body, verified, status))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url + "/moved")
                answer = b"not today" if status >= 300 else b""
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format, *args):  # quiet
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    # --- what arrived --------------------------------------------------------------------------

    def ids(self, *, answered_ok: bool = True) -> list[str]:
        """webhook-ids in the order they arrived (only those answered 2xx, unless told otherwise)."""
        with self._lock:
            return [r.webhook_id for r in self.requests if not answered_ok or 200 <= r.status < 300]

    def all_verified(self) -> bool:
        with self._lock:
            return all(r.verified for r in self.requests)
