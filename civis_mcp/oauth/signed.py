"""Short-lived signed values of the ``/connect`` flow (the link, the sign-in round trip, the page session): JWTs
signed with HS256 under keys derived from the operator key ring, one purpose each, so one cannot pass for another."""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

from civis_mcp.oauth.keyring import KeyRing

__all__ = ["Signer"]


class Signer:
    def __init__(self, ring: KeyRing, purpose: str, seconds: int) -> None:
        self._keys = ring.signing_keys(purpose)
        self._audience = f"civis-mcp:{purpose}"
        self.seconds = seconds

    def sign(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        body = {
            **claims,
            "aud": self._audience,
            "iat": now,
            "exp": now + self.seconds,
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode(body, self._keys[0], algorithm="HS256")

    def open(self, token: str) -> dict[str, Any] | None:
        """The claims when ``token`` is ours, for this purpose and not expired; None otherwise."""
        if not token or len(token) > 4096:
            return None
        for key in self._keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token, key, algorithms=["HS256"], audience=self._audience, options={"require": ["exp", "jti"]}
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError:
                return None
            return claims
        return None
