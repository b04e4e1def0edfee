"""``civis-mcp auth-server``: a small OAuth 2.1 authorization server for organisations without an identity provider.

Built on Authlib's authorization server (authorization code grant, PKCE S256 required, RFC 9068 JWT access tokens).
A person signs in by proving a Civis key: the key is checked with Civis's ``GET /users/me`` and forgotten; the token's
subject is ``civis-user:<id>``. Tokens are short-lived JWTs whose audience is the one civis-mcp resource it serves.
Clients are pre-registered (``--clients``, a JSON file); public clients only (PKCE), as MCP clients are.

A sign-in is remembered in a short browser session here, so civis-mcp's ``/connect`` page, which signs the person in
again, does not ask for the key twice in a row. The person still enters their key on ``/connect`` to bind it to
civis-mcp: this server keeps no key.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from civis_mcp.addresses import is_loopback
from civis_mcp.hosted.keys import KeyCheckUnavailable, KeyVerifier
from civis_mcp.oauth.pages import page

__all__ = ["AuthServerSettings", "create_auth_app", "load_clients"]

logger = logging.getLogger("civis_mcp.auth_server")

_CODE_SECONDS = 60
_SESSION_COOKIE = "civis_mcp_auth_session"
_CSRF_COOKIE = "civis_mcp_auth_csrf"


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):  # type: ignore[misc]
    client_id: str
    redirect_uris: tuple[str, ...]
    name: str = ""

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exactly a registered URI; for a loopback one (a native app, RFC 8252) any port."""
        if redirect_uri in self.redirect_uris:
            return True
        given = urlsplit(redirect_uri)
        for registered in map(urlsplit, self.redirect_uris):
            if (
                registered.scheme == given.scheme == "http"
                and is_loopback(registered.hostname or "")
                and given.hostname == registered.hostname
                and given.path == registered.path
                and given.query == registered.query
            ):
                return True
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # public clients only

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


def load_clients(path: Path) -> dict[str, RegisteredClient]:
    """``[{"client_id": "...", "redirect_uris": ["..."], "name": "..."}]``."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"--clients {path}: cannot read a JSON list of clients ({exc}).") from None
    clients: dict[str, RegisteredClient] = {}
    if not isinstance(entries, list):
        raise ValueError(f"--clients {path}: expected a JSON list of clients.")
    for index, entry in enumerate(entries):
        client_id = entry.get("client_id") if isinstance(entry, dict) else None
        uris = entry.get("redirect_uris") if isinstance(entry, dict) else None
        if not isinstance(client_id, str) or not client_id or not isinstance(uris, list) or not uris:
            raise ValueError(f"--clients {path}: client {index + 1} needs a client_id and a list of redirect_uris.")
        for uri in uris:
            parts = urlsplit(str(uri))
            if (
                parts.fragment
                or parts.scheme not in ("https", "http")
                or (parts.scheme == "http" and not is_loopback(parts.hostname or ""))
            ):
                raise ValueError(f"--clients {path}: {uri!r} must be https (or http on loopback), without fragment.")
        clients[client_id] = RegisteredClient(client_id, tuple(str(u) for u in uris), str(entry.get("name", "")))
    return clients


@dataclass(frozen=True)
class CivisUser:
    user_id: int

    def get_user_id(self) -> str:
        return f"civis-user:{self.user_id}"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: CivisUser
    code_challenge: str
    code_challenge_method: str
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True, kw_only=True)
class AuthServerSettings:
    issuer: str
    """This server's URL, as clients reach it (https in production; the tokens' ``iss``)."""
    resource: str
    """The civis-mcp resource the tokens are for (their ``aud``): e.g. https://mcp.example.org/mcp."""
    clients: dict[str, RegisteredClient]
    signing_key_pem: bytes = field(repr=False)
    api_endpoint: str = "https://api.civisanalytics.com/"
    scopes: tuple[str, ...] = ()
    token_seconds: int = 600
    session_seconds: int = 600


class _S256Only(CodeChallenge):  # type: ignore[misc]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


class _CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    codes: dict[str, AuthorizationCode]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=data.get("redirect_uri") or "",
            scope=data.get("scope") or "",
            user=request.user,
            code_challenge=data.get("code_challenge") or "",
            code_challenge_method=data.get("code_challenge_method") or "S256",
            expires_at=time.time() + _CODE_SECONDS,
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> AuthorizationCode | None:
        item = self.codes.get(code)
        if item is None or item.client_id != client.get_client_id() or item.expires_at < time.time():
            return None
        return item

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> CivisUser:
        return authorization_code.user


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: dict[str, str], data: dict[str, str]) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self.payload = BasicOAuth2Payload(data)
        self._form = data

    @property
    def args(self) -> dict[str, str]:
        return self._form

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _Server(AuthorizationServer):  # type: ignore[misc]
    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        pass  # self-contained JWTs, no refresh tokens: nothing to keep

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # the handlers below build it from the Starlette request (which is async to read)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        extra = {**dict(headers), "Cache-Control": "no-store"}
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=extra)
        return Response(body or "", status_code=status, headers=extra)

    clients: dict[str, RegisteredClient]


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return page(title, body, status, site="civis-mcp sign-in")


Endpoint = Callable[[Request], Awaitable[Response]]


def create_auth_app(settings: AuthServerSettings) -> Starlette:
    from civis_mcp.oauth.keyring import KeyRing
    from civis_mcp.oauth.signed import Signer

    private_jwk, public_jwk, algorithm = _signing_jwks(settings.signing_key_pem)
    # Browser sessions are signed with a key of this process: a restart signs everyone out, which is fine.
    sessions = Signer(KeyRing([secrets.token_bytes(32)]), "auth-session", settings.session_seconds)
    checker = KeyVerifier(settings.api_endpoint, ttl=1.0)
    issuer = settings.issuer.rstrip("/")

    from joserfc.jwk import KeySet

    signing_keys = KeySet.import_key_set({"keys": [private_jwk]})

    class TokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
        def get_jwks(self) -> KeySet:
            return signing_keys

        def get_audiences(self, client: Any, user: Any, scope: str) -> str:
            return settings.resource

    server = _Server(scopes_supported=list(settings.scopes) or None)
    server.clients = settings.clients
    _CodeGrant.codes = {}
    server.register_grant(_CodeGrant, [_S256Only(required=True)])
    server.register_token_generator(
        "default",
        TokenGenerator(issuer=settings.issuer, alg=algorithm, expires_generator=lambda *_: settings.token_seconds),
    )

    def oauth_request(request: Request, data: dict[str, str]) -> _Request:
        return _Request(request.method, str(request.url), dict(request.headers), data)

    async def metadata(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": settings.issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                **({"scopes_supported": list(settings.scopes)} if settings.scopes else {}),
            }
        )

    async def jwks(request: Request) -> Response:
        return JSONResponse({"keys": [public_jwk]}, headers={"Cache-Control": "public, max-age=300"})

    def sign_in_form(query: str, note: str = "", status: int = 200) -> HTMLResponse:
        csrf = secrets.token_urlsafe(24)
        body = (note and f"<p>{html.escape(note)}</p>") + (
            "<p>Sign in with your Civis API key (Civis Platform &gt; My Profile &gt; API Keys). It is checked with "
            "Civis and not kept here.</p>"
            f'<form method="post" action="/authorize?{html.escape(query)}">'
            f'<input type="hidden" name="csrf" value="{csrf}">'
            '<label for="key">Civis API key</label> '
            '<input type="password" id="key" name="key" autocomplete="off" required maxlength="512">'
            '<button type="submit" id="sign-in">Sign in</button></form>'
        )
        response = _page("Sign in to civis-mcp", body, status)
        response.set_cookie(
            _CSRF_COOKIE,
            csrf,
            max_age=900,
            path="/authorize",
            httponly=True,
            samesite="strict",
            secure=settings.issuer.startswith("https://"),
        )
        return response

    def check_request(request: Request) -> tuple[_Request, Any] | Response:
        query = dict(request.query_params)
        target = query.get("resource")
        if target is not None and target.rstrip("/") != settings.resource.rstrip("/"):
            return _page("Unknown resource", "<p>This server issues tokens for one civis-mcp service only.</p>", 400)
        if not query.get("code_challenge") or query.get("code_challenge_method", "S256") != "S256":
            # OAuth 2.1: every client uses PKCE, with S256 (Authlib asks it of public clients only at the token).
            return _page("This sign-in request is not valid", "<p>PKCE with S256 is required.</p>", 400)
        oauth = oauth_request(request, query)
        try:
            grant = server.get_consent_grant(oauth)
        except OAuth2Error as error:
            # Shown here, never sent to a redirect URI that may not be the client's.
            return _page(
                "This sign-in request is not valid", f"<p>{html.escape(error.description or error.error)}</p>", 400
            )
        return oauth, grant

    async def authorize(request: Request) -> Response:
        checked = check_request(request)
        if isinstance(checked, Response):
            return checked
        oauth, grant = checked
        session = sessions.open(request.cookies.get(_SESSION_COOKIE, ""))
        if request.method == "GET":
            if session is not None:  # signed in a moment ago: no need to ask for the key again
                granted: Response = server.create_authorization_response(
                    oauth, grant_user=CivisUser(int(session["uid"])), grant=grant
                )
                return granted
            return sign_in_form(request.url.query)
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{urlsplit(issuer).scheme}://{urlsplit(issuer).netloc}":
            return _page("Refused", "<p>This form may only be sent from this site.</p>", 403)
        async with request.form(max_files=0, max_fields=4, max_part_size=4096) as form:
            fields = {name: value for name, value in form.items() if isinstance(value, str)}
        if not secrets.compare_digest(fields.get("csrf", ""), request.cookies.get(_CSRF_COOKIE, "") or "-"):
            return _page("Refused", "<p>This form did not come from the page we gave you.</p>", 403)
        key = fields.get("key", "").strip()
        if not key or len(key) > 512 or not key.isprintable():
            return sign_in_form(request.url.query, "That does not look like a Civis API key.", 400)
        try:
            user_id = await checker.user_of(key)
        except KeyCheckUnavailable as exc:
            return sign_in_form(request.url.query, f"Civis could not check the key just now ({exc}).", 503)
        if user_id is None:
            return sign_in_form(request.url.query, "Civis rejected this key. Check it and retry.", 400)
        logger.info("signed in Civis user %s for client %s", user_id, oauth.payload.client_id)
        response: Response = server.create_authorization_response(oauth, grant_user=CivisUser(user_id), grant=grant)
        response.set_cookie(
            _SESSION_COOKIE,
            sessions.sign({"uid": user_id}),
            max_age=settings.session_seconds,
            path="/authorize",
            httponly=True,
            samesite="lax",
            secure=settings.issuer.startswith("https://"),
        )
        return response

    async def token(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=16, max_part_size=8192) as form:
            fields = {name: value for name, value in form.items() if isinstance(value, str)}
        target = fields.get("resource")
        if target is not None and target.rstrip("/") != settings.resource.rstrip("/"):
            return JSONResponse({"error": "invalid_target"}, status_code=400, headers={"Cache-Control": "no-store"})
        response: Response = server.create_token_response(oauth_request(request, fields))
        return response

    return Starlette(
        routes=[
            Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
            Route("/.well-known/openid-configuration", metadata, methods=["GET"]),
            Route("/jwks", jwks, methods=["GET"]),
            Route("/authorize", authorize, methods=["GET", "POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/healthz", lambda _: JSONResponse({"status": "ok"}), methods=["GET"]),
        ]
    )


def _signing_jwks(pem: bytes) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The private and public JWK of a PEM key (EC P-256 or RSA), with a kid derived from the public key."""
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the signing key is not an unencrypted PEM private key ({exc}).") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        private, public, algorithm = (
            ECAlgorithm.to_jwk(key, as_dict=True),
            ECAlgorithm.to_jwk(key.public_key(), as_dict=True),
            "ES256",
        )
    elif isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        private, public, algorithm = (
            RSAAlgorithm.to_jwk(key, as_dict=True),
            RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
            "RS256",
        )
    else:
        raise ValueError("the signing key must be EC P-256 or RSA of at least 2048 bits.")
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    kid = hashlib.sha256(spki).hexdigest()[:16]
    extra = {"kid": kid, "alg": algorithm, "use": "sig"}
    return {**private, **extra}, {**public, **extra}, algorithm


def new_signing_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
