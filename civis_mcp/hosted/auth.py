"""The caller at the HTTP door: Host/Origin first, then their Civis key, then the request runs as them.

Clients send the key as Civis takes it, HTTP Basic with the key as user name and an empty password
(``Authorization: Basic base64(<key>:)``). This is outside MCP's OAuth authorization profile: the header is
configured in the client (VS Code ``headers``, Claude Code ``--header``, Cursor ``headers``).

The caller's Civis user becomes the request's principal through the SDK's own auth context, so the SDK binds a
session to the user who opened it and seals ``requestState`` to that user: another user's key cannot continue
either.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from civis_mcp.api.callers import Caller, as_caller, key_digest
from civis_mcp.hosted.keys import KeyCheckUnavailable, KeyVerifier

__all__ = ["CallerGate", "basic_key"]

logger = logging.getLogger("civis_mcp.hosted")

CHALLENGE = 'Basic realm="civis-mcp", charset="UTF-8"'
_MAX_KEY = 512


def basic_key(authorization: str | None) -> str | None:
    """The key in ``Basic base64(<key>:)``; None for anything else (another scheme, bad base64, no key)."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or len(credentials) > 2 * _MAX_KEY:
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key = decoded.partition(":")[0].strip()
    return key if key and key.isprintable() else None


class CallerGate:
    """ASGI middleware in front of ``/mcp``: the SDK's Host/Origin check, then (with ``verifier``) the caller's key.

    Without a verifier (``--auth none``) only the Host/Origin check runs here; the SDK repeats it inside, which
    costs nothing and keeps the two from drifting.
    """

    def __init__(
        self,
        app: ASGIApp,
        security: TransportSecuritySettings,
        verifier: KeyVerifier | None,
        *,
        issuer: str,
        path: str = "/mcp",
    ) -> None:
        self.app = app
        self._origin_check = TransportSecurityMiddleware(security)
        self._verifier = verifier
        self._issuer = issuer
        self._path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self._path):
            await self.app(scope, receive, send)
            return
        # Host and Origin before anything else: a page from another origin learns nothing, not even whether a key
        # it guessed is good.
        refused = await self._origin_check.validate_request(Request(scope), is_post=False)
        if refused is not None:
            await refused(scope, receive, send)
            return
        if self._verifier is None:
            await self.app(scope, receive, send)
            return
        key = basic_key(Request(scope).headers.get("authorization"))
        if key is None:
            await _deny(
                send,
                401,
                "Send your Civis API key as HTTP Basic: user name = the key, empty password "
                "(Authorization: Basic base64(<key>:)).",
            )
            return
        try:
            user_id = await self._verifier.user_of(key)
        except KeyCheckUnavailable as exc:
            logger.warning("could not check a caller's key (%s): %s", key_digest(key)[:12], exc)
            await _deny(send, 503, f"Civis could not check your key just now ({exc}); try again in a minute.", 30)
            return
        if user_id is None:
            logger.info("refused a key Civis rejects (%s)", key_digest(key)[:12])
            await _deny(send, 401, "Civis rejected this API key; check it (Civis Platform > My Profile > API Keys).")
            return
        caller = Caller(user_id=user_id, key=key)
        token = AccessToken(
            token=key_digest(key),
            client_id="civis-mcp-civis-key",
            subject=f"civis-user:{user_id}",
            scopes=[],
            claims={"iss": self._issuer},
        )
        user = AuthenticatedUser(token)
        scope = {**scope, "user": user, "auth": AuthCredentials([])}
        with as_caller(caller):
            reset = auth_context_var.set(user)
            try:
                await self.app(scope, receive, send)
            finally:
                auth_context_var.reset(reset)


async def _deny(send: Send, status: int, description: str, retry_after: int | None = None) -> None:
    body = json.dumps({"error": "unauthorized" if status == 401 else "unavailable", "error_description": description})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", CHALLENGE.encode()))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})
