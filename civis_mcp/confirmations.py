"""Single use of a confirmation: each "yes" a human gives is spent on one write, server-side.

On 2026-07-28 clients a confirmed round (its sealed ``requestState`` and its answers) could be sent again within the
SDK's state lifetime; the guard therefore gives every question a random ticket, and spends the ticket in a
``ConfirmationStore`` before acting. A second use of the same ticket, from any session, finds it spent and sends
nothing. The in-process store below serves one server process. Replicas that share request-state keys can each
unseal any round, so they must share the store too: ``RedisConfirmationStore`` (atomic ``SET NX EX``). Replicas
without one use ``UnsharedConfirmationStore``, which refuses every confirmed write rather than risk a replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "TICKET_LIFETIME",
    "ConfirmationStore",
    "ConfirmationUnavailable",
    "MemoryConfirmationStore",
    "RedisConfirmationStore",
    "UnsharedConfirmationStore",
]

TICKET_LIFETIME = 900.0
"""Seconds a spent ticket is remembered: longer than the SDK's request-state lifetime (600 s) plus its clock skew
(60 s), so a round that can still be replayed is always found spent."""


class ConfirmationUnavailable(Exception):
    """The store cannot say whether a ticket was used: the confirmed write must not go ahead. The message says why
    and what to do; it never names the ticket."""


class ConfirmationStore(Protocol):
    async def spend(self, ticket: str) -> bool:
        """Mark ``ticket`` used; True only the first time (atomically, across everything sharing the store).

        Raises ``ConfirmationUnavailable`` when that cannot be known."""
        ...


class MemoryConfirmationStore:
    """Spent tickets in this process's memory, forgotten after ``TICKET_LIFETIME``.

    Holds at most ``capacity`` tickets; when full of unexpired ones it refuses (fails closed) rather than forgetting
    a ticket that could still be replayed.
    """

    def __init__(self, *, capacity: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._spent: dict[str, float] = {}
        self._capacity = capacity
        self._clock = clock

    async def spend(self, ticket: str) -> bool:
        now = self._clock()
        if len(self._spent) >= self._capacity:
            self._spent = {t: expiry for t, expiry in self._spent.items() if expiry > now}
        if ticket in self._spent and self._spent[ticket] > now:
            return False
        if len(self._spent) >= self._capacity:
            return False
        self._spent[ticket] = now + TICKET_LIFETIME
        return True


class RedisConfirmationStore:
    """Spent tickets in Redis, shared by every replica: ``SET key 1 NX EX lifetime`` is atomic, so of two replicas
    spending one ticket at the same moment exactly one succeeds. Redis unreachable: the write is refused."""

    def __init__(self, redis: Redis, *, prefix: str = "civis-mcp:ticket:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def spend(self, ticket: str) -> bool:
        from redis.exceptions import RedisError

        try:
            created = await self._redis.set(self._prefix + ticket, b"1", nx=True, ex=int(TICKET_LIFETIME))
        except (RedisError, OSError) as exc:
            raise ConfirmationUnavailable(
                "civis-mcp could not reach Redis (CIVIS_MCP_REDIS_URL) to record that this confirmation is used "
                f"({type(exc).__name__}), and without that record the same yes could be replayed on another replica. "
                "Reads still work; try the write again once Redis is back (its /readyz says when)."
            ) from None
        return bool(created)


class UnsharedConfirmationStore:
    """For replicas that share request-state keys but no Redis: any replica could accept a replayed round, and none
    would know, so no confirmed write goes ahead."""

    async def spend(self, ticket: str) -> bool:
        raise ConfirmationUnavailable(
            "this service runs as replicas sharing request-state keys (CIVIS_MCP_STATE_KEYS) without a shared "
            "confirmation store, so a confirmed round could be replayed on another replica. Confirmed writes are "
            "refused here; the operator can set CIVIS_MCP_REDIS_URL, or run one replica without CIVIS_MCP_STATE_KEYS."
        )
