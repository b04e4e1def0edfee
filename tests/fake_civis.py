"""A tiny stand-in for the Civis API on 127.0.0.1 that records every request and answers from a route table.

Used where a test needs real HTTP over loopback: the stdio end-to-end test (the server runs in a subprocess) and the
parity test against civis-python (which speaks ``requests``, out of respx's reach). Routes match on the method and
the exact path; unmatched requests get a 404 with an ``errorDescription``, as Civis answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """Bytes sent as the body instead of ``body`` as JSON (for answers that are not JSON, or not what they claim)."""
    reason: str | None = None
    """The status line's reason phrase instead of the standard one."""


Responder = Reply | Callable[[Recorded], Reply]


class FakeCivis:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Responder] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self.url = ""

    def route(self, method: str, path: str, reply: Responder) -> None:
        self.routes[(method, path)] = reply

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def handle(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
        responder = self.routes.get((recorded.method, recorded.path))
        if responder is None:
            return Reply(404, {"error": "not_found", "errorDescription": f"No route {recorded.path}", "code": 404})
        return responder(recorded) if callable(responder) else responder


def _handler_class(fake: FakeCivis) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without this, each answer on a kept-alive connection waits ~40 ms for the client's delayed ACK.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            recorded = Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qsl(parts.query, keep_blank_values=True),
                headers={key.lower(): value for key, value in self.headers.items()},
                body=body,
            )
            reply = fake.handle(recorded)
            payload = (
                reply.raw if reply.raw is not None else b"" if reply.body is None else json.dumps(reply.body).encode()
            )
            self.send_response(reply.status, reply.reason)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if payload and "Content-Type" not in reply.headers:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


@contextmanager
def running_fake_civis() -> Iterator[FakeCivis]:
    fake = FakeCivis()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    # A short poll interval, so that shutting the server down at the end of a test does not wait half a second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
