"""What the OAuth mode needs to know: from the environment (``CIVIS_MCP_OAUTH_*``, ``CIVIS_MCP_KEY_*``)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from civis_mcp.oauth.keyring import KeyRing
from civis_mcp.oauth.keystore import store_where

__all__ = ["OAuthSettings", "default_key_store"]


def default_key_store() -> Path:
    base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base) / "civis-mcp" / "keys.sqlite"


def _http_url(value: str, variable: str, *, path: bool) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{variable} must be an http(s) URL without query or fragment, got {value!r}.")
    if not path and parts.path not in ("", "/"):
        raise ValueError(f"{variable} must be an origin (scheme and host, no path), got {value!r}.")
    return value


@dataclass(frozen=True, kw_only=True)
class OAuthSettings:
    issuer: str
    """The identity provider's issuer URL, exactly as its tokens' ``iss`` claim spells it."""
    resource: str
    """This server's MCP endpoint as clients reach it (e.g. ``https://mcp.example.org/mcp``): tokens' ``aud``."""
    scopes: tuple[str, ...] = ()
    """Scopes every access token must carry (403 ``insufficient_scope`` otherwise)."""
    jwks_url: str | None = None
    """Where the issuer's signing keys are; discovered from its metadata when not given."""
    client_id: str = "civis-mcp"
    """This server's client id at the identity provider, for signing people in on ``/connect``."""
    client_secret: str | None = field(default=None, repr=False)
    key_store: str = field(default_factory=lambda: str(default_key_store()), repr=False)
    """A SQLite file (one host), or a ``postgresql://`` URL (replicas on several hosts)."""
    key_ring: KeyRing = field(repr=False)
    link_seconds: int = 600
    """How long a ``/connect`` link stays usable (it is also single-use)."""

    def __post_init__(self) -> None:
        _http_url(self.issuer, "CIVIS_MCP_OAUTH_ISSUER", path=True)
        _http_url(self.resource, "CIVIS_MCP_RESOURCE_URL", path=True)
        if self.jwks_url is not None:
            _http_url(self.jwks_url, "CIVIS_MCP_OAUTH_JWKS_URL", path=True)
        for scope in self.scopes:
            if not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", scope):
                raise ValueError(f"CIVIS_MCP_OAUTH_SCOPES: {scope!r} is not a valid OAuth scope.")
        if not 60 <= self.link_seconds <= 3600:
            raise ValueError(f"CIVIS_MCP_CONNECT_LINK_SECONDS must be from 60 to 3600, got {self.link_seconds}.")

    @property
    def public_origin(self) -> str:
        """Scheme and host of the resource URL: where ``/connect`` is served."""
        parts = urlsplit(self.resource)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def public_host(self) -> str:
        return urlsplit(self.resource).netloc

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.resource).scheme == "https"

    def summary(self) -> str:
        scopes = ", ".join(self.scopes) or "none"
        return (
            f"OAuth access tokens from {self.issuer} for {self.resource} (scopes required: {scopes}); each person's "
            f"Civis key bound on {self.public_origin}/connect, sealed in {store_where(self.key_store)} under "
            f"{len(self.key_ring)} operator key(s)"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OAuthSettings:
        env = os.environ if environ is None else environ

        def need(variable: str, example: str) -> str:
            value = env.get(variable, "").strip()
            if not value:
                raise ValueError(f"--auth oauth needs {variable} (e.g. {example}).")
            return value

        issuer = need("CIVIS_MCP_OAUTH_ISSUER", "https://login.example.org/realms/staff")
        resource = need("CIVIS_MCP_RESOURCE_URL", "https://mcp.example.org/mcp")
        ring = KeyRing.parse(need("CIVIS_MCP_KEY_RING", "the output of `civis-mcp keys new-ring-key`"))
        values: dict[str, object] = {"issuer": issuer, "resource": resource, "key_ring": ring}
        values["scopes"] = tuple(s for s in re.split(r"[\s,]+", env.get("CIVIS_MCP_OAUTH_SCOPES", "")) if s)
        if env.get("CIVIS_MCP_OAUTH_JWKS_URL", "").strip():
            values["jwks_url"] = env["CIVIS_MCP_OAUTH_JWKS_URL"].strip()
        if env.get("CIVIS_MCP_OAUTH_CLIENT_ID", "").strip():
            values["client_id"] = env["CIVIS_MCP_OAUTH_CLIENT_ID"].strip()
        values["client_secret"] = env.get("CIVIS_MCP_OAUTH_CLIENT_SECRET", "").strip() or None
        if env.get("CIVIS_MCP_KEY_STORE", "").strip():
            values["key_store"] = env["CIVIS_MCP_KEY_STORE"].strip()
        raw = env.get("CIVIS_MCP_CONNECT_LINK_SECONDS", "").strip()
        if raw:
            if not raw.isdigit():
                raise ValueError(f"CIVIS_MCP_CONNECT_LINK_SECONDS must be a whole number of seconds, got {raw!r}.")
            values["link_seconds"] = int(raw)
        return cls(**values)  # type: ignore[arg-type]
