"""How a hosted server listens, who it lets in and what its replicas share; from the environment, then flags."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from mcp.server.transport_security import TransportSecuritySettings

from civis_mcp.addresses import is_loopback, url_host

if TYPE_CHECKING:
    from civis_mcp.oauth.settings import OAuthSettings

__all__ = ["AuthMode", "HostedSettings", "parse_bind"]

AuthMode = Literal["none", "civis-key", "oauth"]
AUTH_MODES: tuple[AuthMode, ...] = ("none", "civis-key", "oauth")
_REPLICA = re.compile(r"[A-Za-z0-9-]{1,32}")
_MIN_STATE_KEY = 32
DEFAULT_RATE_LIMIT = 120
DEFAULT_KEY_CACHE_SECONDS = 300.0
_RATE_LIMIT_TAKES = (
    f"CIVIS_MCP_RATE_LIMIT must be a whole number of tool calls a minute per caller, at least 1 "
    f"(default {DEFAULT_RATE_LIMIT})"
)
_KEY_CACHE_TAKES = (
    f"CIVIS_MCP_KEY_CACHE_SECONDS must be a number of seconds greater than 0 and at most 600 "
    f"(default {DEFAULT_KEY_CACHE_SECONDS:g})"
)
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def parse_bind(raw: str) -> tuple[str, int]:
    """``[HOST:]PORT`` with an IPv6 host in brackets (``[::1]:8000``); the host defaults to 127.0.0.1."""
    text = raw.strip()
    host, port = "127.0.0.1", text
    if text.startswith("["):
        inside, closed, rest = text[1:].partition("]")
        if not closed or not rest.startswith(":"):
            raise ValueError(f"--http takes [HOST:]PORT, e.g. [::1]:8000 for IPv6 (got {raw!r}).")
        host, port = inside, rest[1:]
    elif ":" in text:
        host, _, port = text.rpartition(":")
        if ":" in host:
            raise ValueError(f"--http: put an IPv6 address in brackets, e.g. [{host}]:{port} (got {raw!r}).")
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--http takes [HOST:]PORT with a port from 1 to 65535, e.g. 127.0.0.1:8000 (got {raw!r}).")
    if not host:
        raise ValueError(f"--http: the host before the port is empty (got {raw!r}).")
    return host, int(port)


@dataclass(frozen=True, kw_only=True)
class HostedSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    auth: AuthMode = "none"
    """``civis-key``: every request brings its caller's Civis key as HTTP Basic; ``oauth``: an OAuth access token,
    and the key the person bound on ``/connect``; ``none``: the server's own key."""
    oauth: OAuthSettings | None = None
    """The identity provider, resource URL, key store and key ring (``--auth oauth`` only)."""
    insecure_no_auth: bool = False
    """The operator's explicit consent to serve without authentication on an address other than loopback."""
    allowed_hosts: tuple[str, ...] = ()
    """Host header values accepted besides the loopback names (e.g. the proxy's ``mcp.example.org``)."""
    allowed_origins: tuple[str, ...] = ()
    """Origin header values accepted besides the loopback origins (browsers send one; other clients do not)."""
    state_keys: tuple[str, ...] = field(default=(), repr=False)
    """Request-state keys shared by the replicas: the first seals, all unseal (a rotation ring)."""
    redis_url: str | None = field(default=None, repr=False)
    replica: str = field(default_factory=lambda: _default_replica())
    rate_limit: int = DEFAULT_RATE_LIMIT
    """Tool calls a minute one caller may make (shared by the replicas through Redis when it is configured)."""
    key_cache_seconds: float = DEFAULT_KEY_CACHE_SECONDS
    """How long the outcome of checking a key with Civis is kept (under a hash of the key)."""

    def __post_init__(self) -> None:
        if not _REPLICA.fullmatch(self.replica):
            raise ValueError(
                f"CIVIS_MCP_REPLICA must be 1 to 32 letters, digits or '-' (it is part of session ids), got "
                f"{self.replica!r}."
            )
        for index, key in enumerate(self.state_keys):
            if len(key.encode()) < _MIN_STATE_KEY:
                raise ValueError(
                    f"CIVIS_MCP_STATE_KEYS: key {index + 1} is {len(key.encode())} bytes; each must be at least "
                    f'{_MIN_STATE_KEY} (generate one with: python -c "import secrets; print(secrets.token_hex(32))").'
                )
        if self.rate_limit < 1:
            raise ValueError(f"{_RATE_LIMIT_TAKES}; got {self.rate_limit}.")
        if not 0 < self.key_cache_seconds <= 600:
            raise ValueError(f"{_KEY_CACHE_TAKES}; got {self.key_cache_seconds:g}.")
        if self.redis_url is not None and urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("CIVIS_MCP_REDIS_URL must start with redis://, rediss:// or unix://.")
        for origin in self.allowed_origins:
            if not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(
                    f"--allowed-origins takes origins such as https://chat.example.org (scheme and host, no path), "
                    f"got {origin!r}."
                )
        if (self.auth == "oauth") != (self.oauth is not None):
            raise ValueError(
                "--auth oauth needs the OAuth settings (CIVIS_MCP_OAUTH_ISSUER, ...), and only it uses them."
            )
        if not is_loopback(self.host) and self.auth == "none" and not self.insecure_no_auth:
            raise ValueError(
                f"refusing to serve on {self.host} without authentication: anyone who reaches the port would act "
                "with this server's Civis key. Use --auth oauth or --auth civis-key (each caller with their own key), "
                "bind to 127.0.0.1 behind your own authenticating proxy, or say --insecure-no-auth if you mean it."
            )

    @property
    def replicated(self) -> bool:
        """Shared request-state keys mean any replica may receive any round."""
        return bool(self.state_keys)

    @property
    def redis_where(self) -> str:
        """Where Redis is, for logs: host and port only (the URL may hold a password)."""
        if self.redis_url is None:
            return "none"
        parts = urlsplit(self.redis_url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"

    def transport_security(self) -> TransportSecuritySettings:
        """Host and Origin checks on every bind (DNS rebinding): the loopback names, the bind address, and the
        operator's ``--allowed-hosts``/``--allowed-origins``."""
        hosts = [f"{name}:*" for name in _LOOPBACK_NAMES] + list(_LOOPBACK_NAMES)
        bound = url_host(self.host)
        if self.host not in ("0.0.0.0", "::"):
            hosts += [bound, f"{bound}:*"]
        hosts += list(self.allowed_hosts)
        if self.oauth is not None:  # clients reach the server at its resource URL
            hosts.append(self.oauth.public_host)
        origins = [f"http://{name}:*" for name in _LOOPBACK_NAMES] + [f"http://{name}" for name in _LOOPBACK_NAMES]
        if self.host not in ("0.0.0.0", "::"):
            origins += [f"http://{bound}:*", f"http://{bound}"]
        origins += list(self.allowed_origins)
        if self.oauth is not None:
            origins.append(self.oauth.public_origin)
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=list(dict.fromkeys(hosts)),
            allowed_origins=list(dict.fromkeys(origins)),
        )

    def protection_summary(self) -> str:
        """What start-up logs: how callers are checked and what Host/Origin values are accepted."""
        if self.oauth is not None:
            who = self.oauth.summary()
        elif self.auth == "civis-key":
            who = "each caller's own Civis key (HTTP Basic), checked with GET /users/me"
        else:
            who = "no authentication: every caller acts with this server's Civis key"
        store = f"Redis at {self.redis_where}" if self.redis_url else "no shared store (confirmed writes refused)"
        shared = (
            f"replica {self.replica}; request state sealed with {len(self.state_keys)} shared key(s); "
            f"confirmations in {store}"
            if self.replicated
            else f"replica {self.replica}; one process (request-state key of its own)"
        )
        security = self.transport_security()
        return (
            f"callers: {who}; Host allowed: {', '.join(security.allowed_hosts)}; Origin allowed: "
            f"{', '.join(security.allowed_origins)} (or none); {shared}; rate limit {self.rate_limit} calls a minute "
            "per caller"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> HostedSettings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        auth = env.get("CIVIS_MCP_AUTH", "").strip()
        if auth:
            if auth not in AUTH_MODES:
                raise ValueError(f"CIVIS_MCP_AUTH must be none, civis-key or oauth, got {auth!r}.")
            values["auth"] = auth
        insecure = env.get("CIVIS_MCP_INSECURE_NO_AUTH", "").strip().lower()
        if insecure not in ("", "0", "false", "no", "off", "1", "true", "yes", "on"):
            raise ValueError(f"CIVIS_MCP_INSECURE_NO_AUTH must be true or false, got {insecure!r}.")
        values["insecure_no_auth"] = insecure in ("1", "true", "yes", "on")
        values["allowed_hosts"] = split_list(env.get("CIVIS_MCP_ALLOWED_HOSTS", ""))
        values["allowed_origins"] = split_list(env.get("CIVIS_MCP_ALLOWED_ORIGINS", ""))
        values["state_keys"] = split_list(env.get("CIVIS_MCP_STATE_KEYS", ""))
        values["redis_url"] = env.get("CIVIS_MCP_REDIS_URL", "").strip() or None
        if env.get("CIVIS_MCP_REPLICA", "").strip():
            values["replica"] = env["CIVIS_MCP_REPLICA"].strip()
        for name, variable, takes in (
            ("rate_limit", "CIVIS_MCP_RATE_LIMIT", _RATE_LIMIT_TAKES),
            ("key_cache_seconds", "CIVIS_MCP_KEY_CACHE_SECONDS", _KEY_CACHE_TAKES),
        ):
            raw = env.get(variable, "").strip()
            if raw:
                try:
                    values[name] = int(raw) if name == "rate_limit" else float(raw)
                except ValueError:
                    raise ValueError(f"{takes}; got {raw!r}.") from None
        values.update({name: value for name, value in overrides.items() if value is not None})
        if values.get("auth") == "oauth" and values.get("oauth") is None:
            from civis_mcp.oauth.settings import OAuthSettings

            values["oauth"] = OAuthSettings.from_env(env)
        return cls(**values)  # type: ignore[arg-type]


def split_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _default_replica() -> str:
    name = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:20].strip("-") or "replica"
    return f"{name}-{os.getpid()}"[:32]
