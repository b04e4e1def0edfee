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

__all__ = ["Hosting", "http_app"]

logger = logging.getLogger("civis_mcp.hosted")


@dataclass
class Hosting:
    """What one hosted server process shares across its requests (built once, before the server)."""

    settings: HostedSettings
    redis: Redis | None = None

    @classmethod
    def create(cls, settings: HostedSettings) -> Hosting:
        for key in settings.state_keys:  # secrets too: never in a log line
            CALLER_KEYS.remember(key)
        redis = None
        if settings.redis_url is not None:
            from redis.asyncio import Redis

            redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        return cls(settings, redis)

    @property
    def per_caller(self) -> bool:
        return self.settings.auth == "civis-key"

    def confirmations(self) -> ConfirmationStore:
        if self.redis is not None:
            return RedisConfirmationStore(self.redis)
        return UnsharedConfirmationStore() if self.settings.replicated else MemoryConfirmationStore()

    def server_options(self) -> dict[str, Any]:
        """``MCPServer`` arguments: shared request-state keys (when replicated) and the per-call middleware."""
        # A limit per caller needs callers: without --auth civis-key every request is the server's own.
        limiter = RateLimiter(self.settings.rate_limit, self.redis) if self.per_caller else None
        options: dict[str, Any] = {"middleware": [CallMiddleware(limiter, self.settings.replica)]}
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
    inner = server.streamable_http_app(transport_security=security, host=settings.host)
    verifier = KeyVerifier(api_endpoint, ttl=settings.key_cache_seconds) if hosting.per_caller else None
    gate = CallerGate(ReplicaSessions(inner, settings.replica), security, verifier, issuer=api_endpoint)
    # Outermost: /mcp/PROFILE is /mcp narrowed to that profile (see profiles) before anything reads the path.
    return ProfilePaths(gate)
