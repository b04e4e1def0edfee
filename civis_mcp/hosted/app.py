"""The hosted server: what ``build_server`` needs for replicas, and the ASGI app uvicorn serves.

Layers of one request, outermost first: ``CallerGate`` (Host/Origin, then the caller's key), ``ReplicaSessions``
(older clients' session ids name their replica), then the SDK's streamable HTTP app, whose tool calls pass
``CallMiddleware`` (rate limit, log line, metric) and the SDK's request-state boundary (shared keys).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.server import MCPServer
from mcp.server.request_state import RequestStateSecurity
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from civis_mcp.api.callers import CALLER_KEYS
from civis_mcp.confirmations import (
    ConfirmationStore,
    MemoryConfirmationStore,
    RedisConfirmationStore,
    UnsharedConfirmationStore,
)
from civis_mcp.hosted.auth import CallerGate
from civis_mcp.hosted.calls import CallMiddleware
from civis_mcp.hosted.keys import KeyVerifier
from civis_mcp.hosted.limits import RateLimiter
from civis_mcp.hosted.sessions import ReplicaSessions
from civis_mcp.hosted.settings import HostedSettings
from civis_mcp.profiles import ProfilePaths

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from civis_mcp.oauth.service import OAuthService

__all__ = ["Hosting", "http_app"]

logger = logging.getLogger("civis_mcp.hosted")


@dataclass
class Hosting:
    """What one hosted server process shares across its requests (built once, before the server)."""

    settings: HostedSettings
    redis: Redis | None = None
    oauth: OAuthService | None = None

    @classmethod
    def create(cls, settings: HostedSettings) -> Hosting:
        for key in settings.state_keys:  # secrets too: never in a log line
            CALLER_KEYS.remember(key)
        redis = None
        if settings.redis_url is not None:
            from redis.asyncio import Redis

            redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        oauth = None
        if settings.oauth is not None:
            from civis_mcp.oauth.service import OAuthService

            oauth = OAuthService.create(settings.oauth)
        return cls(settings, redis, oauth)

    @property
    def per_caller(self) -> bool:
        """Every call with its caller's own key: sent as HTTP Basic (civis-key), or bound to their sign-in (oauth)."""
        return self.settings.auth != "none"

    def confirmations(self) -> ConfirmationStore:
        if self.redis is not None:
            return RedisConfirmationStore(self.redis)
        return UnsharedConfirmationStore() if self.settings.replicated else MemoryConfirmationStore()

    def server_options(self) -> dict[str, Any]:
        """``MCPServer`` arguments: shared request-state keys (when replicated) and the per-call middleware."""
        # A limit per caller needs callers: without --auth civis-key every request is the server's own.
        limiter = RateLimiter(self.settings.rate_limit, self.redis) if self.per_caller else None
        middleware: list[Any] = [CallMiddleware(limiter, self.settings.replica)]
        options: dict[str, Any] = {"middleware": middleware}
        if self.oauth is not None:  # the person's bound key first, so the limit and the log line know the caller
            middleware.insert(0, self.oauth.middleware())
            options.update(self.oauth.server_options())
        if self.settings.state_keys:
            options["request_state_security"] = RequestStateSecurity(keys=list(self.settings.state_keys))
        return options

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        """What ``/readyz`` reports: configuration, shared keys, Redis. No caller's key is used."""
        checks: dict[str, str] = {"configuration": "ok"}
        ready = True
        if self.settings.replicated:
            checks["state_keys"] = f"{len(self.settings.state_keys)} shared"
        else:
            checks["state_keys"] = "this process only (one replica)"
        if self.redis is not None:
            try:
                await self.redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:  # any failure means not ready; its type is enough to say which
                checks["redis"] = f"unreachable ({type(exc).__name__})"
                ready = False
        elif self.settings.replicated:
            checks["redis"] = "not configured: confirmed writes are refused"
        if self.oauth is not None:
            oauth_checks = await self.oauth.readiness()
            checks.update(oauth_checks)
            ready = ready and all(value == "ok" for value in oauth_checks.values())
        return ready, checks


def http_app(server: MCPServer, hosting: Hosting, api_endpoint: str) -> ASGIApp:
    settings = hosting.settings
    security = settings.transport_security()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "replica": settings.replica})

    async def readyz(request: Request) -> Response:
        ready, checks = await hosting.readiness()
        body = {"status": "ready" if ready else "not ready", "replica": settings.replica, "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    server.custom_route("/healthz", methods=["GET"])(healthz)
    server.custom_route("/readyz", methods=["GET"])(readyz)
    if hosting.oauth is not None:
        from civis_mcp.oauth.connect import connect_routes

        for path, methods, endpoint in connect_routes(hosting.oauth, api_endpoint):
            server.custom_route(path, methods=methods)(endpoint)
    inner = server.streamable_http_app(transport_security=security, host=settings.host)
    # The OAuth mode's bearer tokens are the SDK's to check (inside); civis-key's Basic keys are checked here.
    verifier = KeyVerifier(api_endpoint, ttl=settings.key_cache_seconds) if settings.auth == "civis-key" else None
    gate = CallerGate(ReplicaSessions(inner, settings.replica), security, verifier, issuer=api_endpoint)
    # Outermost: /mcp/PROFILE is /mcp narrowed to that profile (see profiles) before anything reads the path.
    return ProfilePaths(gate)
