"""``/connect``: where a person binds their Civis key to their identity, once, in their browser.

1. ``GET /connect?link=...``: the one-time link a tool call answered with (signed, short-lived, naming the issuer and
   subject of the token that asked). The page sends the person to sign in with the same identity provider
   (authorization code with PKCE, ``resource`` = this server), so a forwarded link is useless to anyone else.
2. ``GET /connect/callback``: the code is exchanged for an access token, checked like any other; its issuer and
   subject must be the link's (403 otherwise, nothing stored). The link is spent; a page session (a signed cookie,
   ``SameSite=Strict``, with a CSRF token) holds who signed in.
3. ``POST /connect/key``: the key, from a form post with that CSRF token, checked with Civis's ``GET /users/me`` and
   stored sealed. ``POST /connect/disconnect`` removes the binding.

Every page is ``no-store``, sends a ``Referer`` only to itself (``same-origin``: with ``no-referrer`` a browser posts
its forms with ``Origin: null``, which the same-origin check refuses), is not framable, and runs no script.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from civis_mcp.api.callers import CALLER_KEYS, key_digest
from civis_mcp.hosted.keys import KeyCheckUnavailable, KeyVerifier
from civis_mcp.oauth.pages import PAGE_HEADERS, page
from civis_mcp.oauth.service import OAuthService
from civis_mcp.oauth.signed import Signer

__all__ = ["connect_routes"]

logger = logging.getLogger("civis_mcp.oauth")

_LOGIN_COOKIE = "civis_mcp_login"
_SESSION_COOKIE = "civis_mcp_connect"
_MAX_KEY = 512


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class ConnectPages:
    def __init__(self, service: OAuthService, api_endpoint: str) -> None:
        self._service = service
        self._settings = service.settings
        self._origin = service.settings.public_origin
        self._logins = Signer(service.settings.key_ring, "connect-login", 600)
        self._sessions = Signer(service.settings.key_ring, "connect-session", 900)
        self._keys = KeyVerifier(api_endpoint, ttl=1.0)

    @property
    def _redirect_uri(self) -> str:
        return f"{self._origin}/connect/callback"

    def _cookie(self, response: Response, name: str, value: str, max_age: int, same_site: str) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/connect",
            secure=self._settings.secure_cookies,
            httponly=True,
            samesite=same_site,  # type: ignore[arg-type]
        )

    async def start(self, request: Request) -> Response:
        link = self._service.links.open(request.query_params.get("link", ""))
        if link is None:
            return page(
                "This link does not work",
                _p("It is not a civis-mcp connect link, or it has expired. Ask your assistant again for a new one."),
                400,
            )
        if await self._service.store.link_spent(str(link["jti"])):
            return page("This link was used already", _p("Each link works once. Ask your assistant again."), 410)
        try:
            metadata = await self._service.verifier.metadata()
        except (ConnectionError, ValueError) as exc:
            logger.warning("the identity provider's metadata is unavailable: %s", exc)
            return page("Sign-in is unavailable", _p("The identity provider did not answer; try again later."), 503)
        if metadata.authorization_endpoint is None or metadata.token_endpoint is None:
            return page("Sign-in is unavailable", _p("The identity provider has no authorization endpoint."), 503)
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        login = self._logins.sign(
            {
                "link": str(link["jti"]),
                "link_exp": link["exp"],
                "who": [link["iss"], link["sub"]],
                "state": state,
                "pkce": verifier,
            }
        )
        query = {
            "response_type": "code",
            "client_id": self._settings.client_id,
            "redirect_uri": self._redirect_uri,
            "state": state,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
            "resource": self._settings.resource,
        }
        if self._settings.scopes:
            query["scope"] = " ".join(self._settings.scopes)
        response = RedirectResponse(f"{metadata.authorization_endpoint}?{urlencode(query)}", status_code=302)
        response.headers.update({k: v for k, v in PAGE_HEADERS.items() if k in ("Cache-Control", "Referrer-Policy")})
        # Lax: the identity provider sends the person back with a top-level GET from its own site.
        self._cookie(response, _LOGIN_COOKIE, login, 600, "lax")
        return response

    async def callback(self, request: Request) -> Response:
        login = self._logins.open(request.cookies.get(_LOGIN_COOKIE, ""))
        state = request.query_params.get("state", "")
        if login is None or not secrets.compare_digest(str(login["state"]), state):
            return page("Start again", _p("This sign-in did not start here. Open the link from your assistant."), 400)
        code = request.query_params.get("code")
        if not code:
            return page("Sign-in did not finish", _p("The identity provider did not sign you in."), 401)
        claims = await self._signed_in(code, str(login["pkce"]))
        if claims is None:
            return page("Sign-in did not finish", _p("The identity provider's answer could not be checked."), 401)
        if [claims["iss"], claims["sub"]] != login["who"]:
            logger.warning("a connect link was opened by another identity than the one it was made for; refused")
            return page(
                "This link is for someone else",
                _p(
                    "You signed in as another person than the one this link was made for. Nothing was stored. "
                    "Ask your own assistant for your own link."
                ),
                403,
            )
        if not await self._service.store.spend_link(str(login["link"]), int(login["link_exp"])):
            return page("This link was used already", _p("Each link works once. Ask your assistant again."), 410)
        csrf = secrets.token_urlsafe(24)
        session = self._sessions.sign({"who": login["who"], "csrf": csrf})
        bound = await self._service.store.lookup(claims["iss"], claims["sub"])
        response = self._key_form(csrf, bound is not None)
        self._cookie(response, _SESSION_COOKIE, session, 900, "strict")
        response.delete_cookie(_LOGIN_COOKIE, path="/connect")
        return response

    async def _signed_in(self, code: str, pkce: str) -> dict[str, Any] | None:
        metadata = await self._service.verifier.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri,
            "client_id": self._settings.client_id,
            "code_verifier": pkce,
            "resource": self._settings.resource,
        }
        if self._settings.client_secret is not None:
            form["client_secret"] = self._settings.client_secret
        try:
            answer = await self._service.verifier.http.post(str(metadata.token_endpoint), data=form)
            token = answer.json().get("access_token") if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            logger.warning("the token endpoint did not give a token: %s", type(exc).__name__)
            return None
        if not isinstance(token, str):
            logger.warning("the token endpoint answered HTTP %s without an access token", answer.status_code)
            return None
        return await self._service.verifier.claims_of(token)

    def _key_form(self, csrf: str, bound: bool, note: str = "", status: int = 200) -> HTMLResponse:
        token = html.escape(csrf)
        body = (note and _p(note)) + (
            _p(
                "Enter your Civis API key (Civis Platform > My Profile > API Keys). It is checked with Civis, then "
                "stored encrypted for your sign-in only; your assistant never sees it."
            )
            + '<form method="post" action="/connect/key">'
            f'<input type="hidden" name="csrf" value="{token}">'
            '<label for="key">Civis API key</label> '
            '<input type="password" id="key" name="key" autocomplete="off" required maxlength="512">'
            '<button type="submit" id="save">Connect</button></form>'
        )
        if bound:
            body += _p("A key is connected for you already; a new one replaces it.") + self._disconnect_form(token)
        return page("Connect your Civis account", body, status)

    @staticmethod
    def _disconnect_form(token: str) -> str:
        return (
            '<form method="post" action="/connect/disconnect">'
            f'<input type="hidden" name="csrf" value="{token}">'
            '<button type="submit" id="disconnect">Disconnect my Civis key</button></form>'
        )

    async def _session(self, request: Request) -> tuple[list[str], str, dict[str, Any]] | Response:
        """The signed-in person, their CSRF token and the form, or the refusal to send."""
        origin = request.headers.get("origin")
        if origin is not None and origin != self._origin:
            return page("Refused", _p("This form may only be sent from this site."), 403)
        session = self._sessions.open(request.cookies.get(_SESSION_COOKIE, ""))
        if session is None:
            return page("Sign in first", _p("Your sign-in here has expired. Open the link from your assistant."), 401)
        async with request.form(max_files=0, max_fields=4, max_part_size=4096) as form:
            fields = {name: value for name, value in form.items() if isinstance(value, str)}
        if not secrets.compare_digest(fields.get("csrf", ""), str(session["csrf"])):
            return page("Refused", _p("This form did not come from the page we gave you. Nothing was stored."), 403)
        return list(session["who"]), str(session["csrf"]), fields

    async def save_key(self, request: Request) -> Response:
        checked = await self._session(request)
        if isinstance(checked, Response):
            return checked
        (issuer, subject), csrf, fields = checked
        key = fields.get("key", "").strip()
        if not key or len(key) > _MAX_KEY or not key.isprintable():
            return self._key_form(csrf, False, "That does not look like a Civis API key. Paste it again.", 400)
        try:
            user_id = await self._keys.user_of(key)
        except KeyCheckUnavailable as exc:
            return self._key_form(csrf, False, f"Civis could not check the key just now ({exc}). Try again.", 503)
        if user_id is None:
            logger.info("connect: Civis rejected a key (%s); nothing stored", key_digest(key)[:12])
            return self._key_form(csrf, False, "Civis rejected this key. Nothing was stored; check it and retry.", 400)
        CALLER_KEYS.remember(key)
        await self._service.store.bind(issuer, subject, user_id, key)
        logger.info("connect: a Civis key was bound (Civis user %s)", user_id)
        body = _p(
            f"Your Civis key is connected (Civis user {user_id}). Go back to your assistant and ask again."
        ) + self._disconnect_form(html.escape(csrf))
        return page("Connected", body)

    async def disconnect(self, request: Request) -> Response:
        checked = await self._session(request)
        if isinstance(checked, Response):
            return checked
        (issuer, subject), _, _ = checked
        removed = await self._service.store.revoke(issuer, subject)
        text = "Your Civis key was removed from this service." if removed else "No Civis key was connected for you."
        return page("Disconnected", _p(text + " Your assistant will ask you to connect before its next call."))


Endpoint = Callable[[Request], Awaitable[Response]]


def connect_routes(service: OAuthService, api_endpoint: str) -> list[tuple[str, list[str], Endpoint]]:
    """The ``/connect`` pages, and the Protected Resource Metadata at the root well-known path too (the SDK serves
    it at the path-suffixed one, ``/.well-known/oauth-protected-resource/mcp``; clients try both, RFC 9728)."""
    pages = ConnectPages(service, api_endpoint)
    metadata = {
        "resource": service.settings.resource,
        "authorization_servers": [service.settings.issuer],
        "bearer_methods_supported": ["header"],
        **({"scopes_supported": list(service.settings.scopes)} if service.settings.scopes else {}),
    }

    async def resource_metadata(request: Request) -> Response:
        return JSONResponse(metadata, headers={"Cache-Control": "public, max-age=3600"})

    return [
        ("/connect", ["GET"], pages.start),
        ("/connect/callback", ["GET"], pages.callback),
        ("/connect/key", ["POST"], pages.save_key),
        ("/connect/disconnect", ["POST"], pages.disconnect),
        ("/.well-known/oauth-protected-resource", ["GET"], resource_metadata),
    ]
