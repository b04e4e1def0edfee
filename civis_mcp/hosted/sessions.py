"""Older (2025) clients keep a session in one replica's memory; their session ids name that replica.

A 2026-07-28 request stands alone (no session), so any replica serves it. An older client's mid-call question
(elicitation) waits inside the replica that holds its session, so its later requests must reach that replica:
this layer prefixes the session id the SDK hands out with ``<replica>.`` and strips it from requests, and nginx
routes a request whose ``Mcp-Session-Id`` starts with a replica's name to that replica (``deploy/nginx.conf.template``).
A session whose replica is gone is unknown elsewhere (404), and the client opens a new one.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ReplicaSessions"]

_HEADER = b"mcp-session-id"


class ReplicaSessions:
    def __init__(self, app: ASGIApp, replica: str) -> None:
        self.app = app
        self._prefix = f"{replica}.".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = []
        for name, value in scope["headers"]:
            if name.lower() == _HEADER:
                # Another replica's session (or one without a prefix) stays as it is: unknown here, so 404.
                value = value[len(self._prefix) :] if value.startswith(self._prefix) else b"~" + value
            headers.append((name, value))
        prefix = self._prefix

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        (name, prefix + value if name.lower() == _HEADER else value)
                        for name, value in message.get("headers", [])
                    ],
                }
            await send(message)

        await self.app({**scope, "headers": headers}, receive, named)
