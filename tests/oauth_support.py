"""A local identity provider for the OAuth-mode tests (no tests here): an HTTP server on 127.0.0.1 that serves its
metadata (RFC 8414), its JWKS, an authorization endpoint that signs in whoever the test says is at the browser, and a
token endpoint (authorization code with PKCE, RFC 8707 ``resource``). Its tokens are JWTs signed with an RSA key
generated for the run. It is a stand-in for the operator's identity provider, started and stopped by the test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.shared.exceptions import MCPError
from mcp_types import URL_ELICITATION_REQUIRED
from pydantic import AnyUrl

from civis_mcp.oauth.keyring import new_ring_key
from tests.hosted_support import TwoUserSandbox, free_port, serve, two_user_sandbox

SCOPE = "civis.imports"
ALICE, BOB = "alice@example.org", "bob@example.org"
RING_KEY = new_ring_key()


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class LocalIssuer:
    url: str
    key: rsa.RSAPrivateKey
    kid: str
    clients: tuple[str, ...] = ("civis-mcp", "test-client")
    """Pre-registered clients: civis-mcp's /connect, and the test's MCP client."""
    signed_in: str | None = None
    """The subject the authorization endpoint signs in (the person at the browser); None: nobody, an error."""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def token(
        self,
        subject: str,
        *,
        audience: str,
        scope: str = SCOPE,
        issuer: str | None = None,
        lifetime: int = 300,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body = {
            "iss": issuer or self.url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            "scope": scope,
            "client_id": "test-client",
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm=algorithm, headers={"kid": kid or self.kid})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
        }


def _handler(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            issuer.requests.append(f"GET {parts.path}")
            if parts.path == "/.well-known/oauth-authorization-server":
                self._json(200, issuer.metadata())
            elif parts.path == "/jwks":
                self._json(200, issuer.jwks())
            elif parts.path == "/authorize":
                self._authorize({k: v[0] for k, v in parse_qs(parts.query).items()})
            else:
                self._json(404, {"error": "not_found"})

        def _authorize(self, query: dict[str, str]) -> None:
            if query.get("client_id") not in issuer.clients or query.get("code_challenge_method") != "S256":
                self._json(400, {"error": "invalid_request"})
                return
            if issuer.signed_in is None:
                self._json(401, {"error": "login_required"})
                return
            code = secrets.token_urlsafe(16)
            issuer.codes[code] = {**query, "sub": issuer.signed_in}
            target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            issuer.requests.append(f"POST {parts.path}")
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if parts.path != "/token":
                self._json(404, {"error": "not_found"})
                return
            grant = issuer.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant["redirect_uri"]
                or form.get("client_id") != grant["client_id"]
                or challenge != grant["code_challenge"]
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            audience = form.get("resource") or grant.get("resource") or "unknown"
            token = issuer.token(grant["sub"], audience=audience, scope=grant.get("scope", ""))
            self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 300})

    return Handler


@contextmanager
def local_issuer() -> Iterator[LocalIssuer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    issuer = LocalIssuer(url=f"http://127.0.0.1:{port}", key=rsa_key(), kid=secrets.token_hex(4))
    server.RequestHandlerClass = _handler(issuer)
    thread = threading.Thread(target=server.serve_forever, name="local-issuer", daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- civis-mcp in OAuth mode, with the issuer and a two-user sandbox ---------------------------------------------


@dataclass
class World:
    sandbox: TwoUserSandbox
    issuer: LocalIssuer
    url: str
    store: Path
    env: dict[str, str]
    process: subprocess.Popen[str]
    log: Path | None = None
    """The server's log (its stderr), readable while it runs."""

    @property
    def origin(self) -> str:
        return self.url.removesuffix("/mcp")

    def token(self, subject: str, **kwargs: Any) -> str:
        return self.issuer.token(subject, audience=self.url, **kwargs)


@contextmanager
def oauth_world(directory: Path) -> Iterator[World]:
    """The sandbox (two users' keys), the local issuer and ``civis-mcp serve --http --auth oauth``, all on loopback."""
    store = directory / "keys.sqlite"
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    with two_user_sandbox() as sandbox, local_issuer() as issuer:
        env = {
            "CIVIS_API_ENDPOINT": sandbox.sandbox.url,
            "CIVIS_MCP_OAUTH_ISSUER": issuer.url,
            "CIVIS_MCP_RESOURCE_URL": url,
            "CIVIS_MCP_OAUTH_SCOPES": SCOPE,
            "CIVIS_MCP_KEY_STORE": str(store),
            "CIVIS_MCP_KEY_RING": RING_KEY,
        }
        args = ["--http", f"127.0.0.1:{port}", "--auth", "oauth"]
        log = directory / "server.log"
        with serve(args, env, probe=f"http://127.0.0.1:{port}/healthz", log=log) as process:
            yield World(sandbox, issuer, url, store, env, process, log)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client(world: World, token: str) -> Client:
    return Client(streamable_http_client(world.url, http_client=create_mcp_http_client(headers=bearer(token))))


async def connect_link(world: World, subject: str) -> str:
    """A tool call of someone with no key bound: the URL-mode elicitation's link, and nothing sent to Civis."""
    mark = world.sandbox.requests.mark()
    async with client(world, world.token(subject)) as mcp:
        with pytest.raises(MCPError) as raised:
            await mcp.call_tool("imports_list", {})
    assert raised.value.code == URL_ELICITATION_REQUIRED
    (elicitation,) = raised.value.data["elicitations"]
    assert elicitation["mode"] == "url"
    assert "Civis API key" in elicitation["message"]
    assert elicitation["url"].startswith(f"{world.origin}/connect?link=")
    assert world.sandbox.requests.since(mark) == []
    return str(elicitation["url"])


def stored_subjects(world: World) -> list[str]:
    with sqlite3.connect(world.store) as db:
        return [row[0] for row in db.execute("SELECT subject FROM bindings ORDER BY subject")]


class Tokens:
    """The SDK client's token storage, with the client pre-registered at the identity provider."""

    def __init__(self, redirect_uri: str) -> None:
        self.tokens: OAuthToken | None = None
        self.client = OAuthClientInformationFull(
            client_id="test-client", redirect_uris=[AnyUrl(redirect_uri)], token_endpoint_auth_method="none"
        )

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info
