"""Single use of a confirmation: each "yes" a human gives is spent on one write, server-side.

On 2026-07-28 clients a confirmed round (its sealed ``requestState`` and its answers) could be sent again within the
SDK's state lifetime; the guard therefore gives every question a random ticket, and spends the ticket in a
``ConfirmationStore`` before acting. A second use of the same ticket, from any session, finds it spent and sends
nothing. The in-process store below serves one server process; replicas share a store (see the hosted mode).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["TICKET_LIFETIME", "ConfirmationStore", "MemoryConfirmationStore"]

TICKET_LIFETIME = 900.0
"""Seconds a spent ticket is remembered: longer than the SDK's request-state lifetime (600 s) plus its clock skew
(60 s), so a round that can still be replayed is always found spent."""


class ConfirmationStore(Protocol):
    async def spend(self, ticket: str) -> bool:
        """Mark ``ticket`` used; True only the first time (atomically, across everything sharing the store)."""
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
