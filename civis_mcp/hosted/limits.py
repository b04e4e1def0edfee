"""A per-caller rate limit on tool calls: a fixed one-minute window, counted in Redis when the replicas share one.

It protects Civis (every tool call is at least one request with the caller's key) and the service. When Redis
cannot be reached, each replica counts on its own rather than refusing reads.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RateLimiter", "Verdict"]

logger = logging.getLogger("civis_mcp.hosted")

_WINDOW = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int
    """Seconds until the caller's window ends (when refused)."""
    limit: int
    """Calls a minute allowed."""


class RateLimiter:
    def __init__(self, per_minute: int, redis: Redis | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self._limit = per_minute
        self._redis = redis
        self._clock = clock
        self._local: dict[str, tuple[int, int]] = {}
        self._redis_failing = False

    @property
    def per_minute(self) -> int:
        return self._limit

    async def hit(self, principal: str) -> Verdict:
        now = self._clock()
        window = int(now // _WINDOW)
        retry_after = max(1, math.ceil((window + 1) * _WINDOW - now))
        count = await self._count_shared(principal, window) if self._redis is not None else None
        if count is None:
            count = self._count_local(principal, window)
        return Verdict(count <= self._limit, retry_after, self._limit)

    async def _count_shared(self, principal: str, window: int) -> int | None:
        from redis.exceptions import RedisError

        assert self._redis is not None
        key = f"civis-mcp:rate:{principal}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 2 * _WINDOW)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            if not self._redis_failing:
                logger.warning("rate limit: Redis unreachable (%s); counting on this replica alone", type(exc).__name__)
            self._redis_failing = True
            return None
        self._redis_failing = False
        return int(count)

    def _count_local(self, principal: str, window: int) -> int:
        if len(self._local) > 10_000:
            self._local = {p: entry for p, entry in self._local.items() if entry[0] == window}
        seen_window, count = self._local.get(principal, (window, 0))
        count = count + 1 if seen_window == window else 1
        self._local[principal] = (window, count)
        return count
