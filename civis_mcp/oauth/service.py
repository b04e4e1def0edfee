"""The OAuth mode's parts for one server process: the token verifier, the key store, the link signer, and what the
SDK's ``MCPServer`` needs (``AuthSettings``, the verifier, the key-binding middleware)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.auth.settings import AuthSettings

from civis_mcp.oauth.binding import BoundKeys
from civis_mcp.oauth.keystore import KeyStore
from civis_mcp.oauth.settings import OAuthSettings
from civis_mcp.oauth.signed import Signer
from civis_mcp.oauth.tokens import JwtVerifier

__all__ = ["OAuthService"]


@dataclass
class OAuthService:
    settings: OAuthSettings
    verifier: JwtVerifier
    store: KeyStore
    links: Signer

    @classmethod
    def create(cls, settings: OAuthSettings) -> OAuthService:
        verifier = JwtVerifier(issuer=settings.issuer, audience=settings.resource, jwks_url=settings.jwks_url)
        store = KeyStore(settings.key_store, settings.key_ring)
        return cls(settings, verifier, store, Signer(settings.key_ring, "connect-link", settings.link_seconds))

    def server_options(self) -> dict[str, Any]:
        """``MCPServer`` arguments: the SDK's bearer-token checks, 401/403 answers and Protected Resource Metadata."""
        auth = AuthSettings.model_validate(
            {
                "issuer_url": self.settings.issuer,
                "resource_server_url": self.settings.resource,
                "required_scopes": list(self.settings.scopes) or None,
                "validate_token_resource": True,  # the verifier checks ``aud`` too
            }
        )
        return {"auth": auth, "token_verifier": self.verifier}

    async def readiness(self) -> dict[str, str]:
        """The key store answers, and the identity provider's metadata and keys can be had."""
        checks: dict[str, str] = {}
        try:
            await self.store.link_spent("readiness-probe")
            checks["key_store"] = "ok"
        except Exception as exc:  # any failure means not ready; its type says which
            checks["key_store"] = f"unreachable ({type(exc).__name__})"
        try:
            await self.verifier.metadata()
            checks["identity_provider"] = "ok"
        except (ConnectionError, ValueError) as exc:
            checks["identity_provider"] = f"unavailable ({exc})"
        return checks

    def middleware(self) -> BoundKeys:
        return BoundKeys(self.store, self.links, self.settings.public_origin)
