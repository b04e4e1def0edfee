"""Access tokens: JWTs from the operator's identity provider, checked with PyJWT against the issuer's JWKS.

Checked: the signature (asymmetric algorithms only, with a key of the issuer's JWKS), ``iss`` (exactly the configured
issuer), ``aud`` (this server's resource URL, RFC 8707), ``exp`` (required; ``nbf``/``iat`` when present) and ``sub``.
Scopes come from ``scope`` (space-separated) or ``scp`` (a list); the SDK refuses a token without the required ones
with 403 ``insufficient_scope``. The token itself is kept nowhere: the SDK's principal holds only a hash of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from mcp.server.auth.provider import AccessToken

from civis_mcp.api.tls import outbound_client

__all__ = ["ALGORITHMS", "IssuerMetadata", "JwtVerifier", "discover"]

logger = logging.getLogger("civis_mcp.oauth")

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
"""Asymmetric only: an HMAC token would be signed with a secret the resource server would have to share."""
_LEEWAY = 30
_REFRESH_AFTER = 3600.0
_UNKNOWN_KID_WAIT = 60.0


@dataclass(frozen=True)
class IssuerMetadata:
    """What civis-mcp uses of the identity provider's metadata (RFC 8414 / OpenID Connect discovery)."""

    issuer: str
    jwks_uri: str
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None


def _metadata_urls(issuer: str) -> list[str]:
    base = issuer.rstrip("/")
    scheme, _, rest = base.partition("://")
    host, slash, path = rest.partition("/")
    urls = [f"{scheme}://{host}/.well-known/oauth-authorization-server{slash}{path}"]  # RFC 8414 path insertion
    urls.append(f"{base}/.well-known/openid-configuration")
    return urls


async def discover(http: httpx.AsyncClient, issuer: str, jwks_url: str | None) -> IssuerMetadata:
    """The issuer's metadata; its ``issuer`` must be the configured one (a mix-up otherwise)."""
    for url in _metadata_urls(issuer):
        try:
            response = await http.get(url)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"the identity provider did not answer at {url} ({type(exc).__name__})") from None
        if response.status_code != 200:
            continue
        body = response.json()
        if not isinstance(body, dict) or body.get("issuer") != issuer:
            raise ValueError(f"the metadata at {url} names another issuer than CIVIS_MCP_OAUTH_ISSUER ({issuer}).")
        jwks = jwks_url or body.get("jwks_uri")
        if not isinstance(jwks, str):
            raise ValueError(f"the metadata at {url} has no jwks_uri; set CIVIS_MCP_OAUTH_JWKS_URL.")
        return IssuerMetadata(
            issuer=issuer,
            jwks_uri=jwks,
            authorization_endpoint=_str_or_none(body.get("authorization_endpoint")),
            token_endpoint=_str_or_none(body.get("token_endpoint")),
        )
    if jwks_url is not None:
        return IssuerMetadata(issuer=issuer, jwks_uri=jwks_url)
    raise ValueError(f"no OAuth or OpenID metadata found for {issuer}; set CIVIS_MCP_OAUTH_JWKS_URL.")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def token_hash(token: str) -> str:
    return hashlib.sha256(b"civis-mcp/token:" + token.encode()).hexdigest()


class JwtVerifier:
    """The SDK's ``TokenVerifier`` for JWT access tokens of one issuer and one audience."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._clock = clock
        self._metadata: IssuerMetadata | None = None
        self._keys: jwt.PyJWKSet | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.http = outbound_client(transport=transport)

    async def metadata(self) -> IssuerMetadata:
        if self._metadata is None:
            self._metadata = await discover(self.http, self.issuer, self._jwks_url)
        return self._metadata

    async def verify_token(self, token: str) -> AccessToken | None:
        claims = await self.claims_of(token)
        if claims is None:
            return None
        scopes = _scopes(claims)
        client_id = claims.get("client_id") or claims.get("azp") or ""
        return AccessToken(
            token=token_hash(token),
            client_id=str(client_id),
            scopes=scopes,
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=str(claims["sub"]),
            claims={"iss": claims["iss"]},
        )

    async def claims_of(self, token: str) -> dict[str, Any] | None:
        """The token's claims when it is good for this resource; None (and one log line why) otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            logger.info("refused a bearer token: not a JWT")
            return None
        if header.get("alg") not in ALGORITHMS:
            logger.info("refused a bearer token: algorithm %r is not accepted", str(header.get("alg"))[:16])
            return None
        try:
            key = await self._key(header.get("kid"))
        except (ConnectionError, ValueError, jwt.PyJWTError) as exc:
            logger.warning("could not load the identity provider's signing keys: %s", exc)
            return None
        if key is None:
            logger.info("refused a bearer token: no signing key of the issuer matches it")
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=_LEEWAY,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            logger.info("refused a bearer token: %s", type(exc).__name__)
            return None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            logger.info("refused a bearer token: sub is not a string")
            return None
        return claims

    async def _key(self, kid: object) -> jwt.PyJWK | None:
        async with self._lock:
            if self._keys is None or self._clock() - self._fetched_at > _REFRESH_AFTER:
                await self._fetch()
            found = self._find(kid)
            # A key the set does not have may be a new one (the issuer rotated): fetch again, at most once a minute.
            if found is None and self._clock() - self._fetched_at > _UNKNOWN_KID_WAIT:
                await self._fetch()
                found = self._find(kid)
            return found

    def _find(self, kid: object) -> jwt.PyJWK | None:
        keys = [key for key in (self._keys.keys if self._keys else []) if key.public_key_use in (None, "sig")]
        if kid is None:
            return keys[0] if len(keys) == 1 else None
        return next((key for key in keys if key.key_id == kid), None)

    async def _fetch(self) -> None:
        url = (await self.metadata()).jwks_uri
        try:
            response = await self.http.get(url)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"no answer from {url} ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise ConnectionError(f"{url} answered HTTP {response.status_code}")
        self._keys = jwt.PyJWKSet.from_dict(response.json())
        self._fetched_at = self._clock()


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    scp = claims.get("scp")
    if isinstance(scp, list):
        return [s for s in scp if isinstance(s, str)]
    return []
