"""Checking a caller's Civis key: ``GET /users/me`` once, the outcome kept for a few minutes under a hash of the key.

Only the hash is kept; the key itself lives as long as the request that carried it. A rejected key is remembered
for a shorter while, so a client retrying with a bad key does not turn into a stream of calls to Civis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from civis_mcp.api.callers import key_digest
from civis_mcp.api.tls import outbound_client

__all__ = ["KeyCheckUnavailable", "KeyVerifier"]

_REJECTED_FOR = 30.0
_CAPACITY = 10_000


class KeyCheckUnavailable(Exception):
    """Civis could not say whether the key is good (no answer, or an answer other than yes or no)."""


@dataclass(frozen=True)
class _Outcome:
    user_id: int | None
    until: float


class KeyVerifier:
    def __init__(
        self,
        endpoint: str,
        *,
        ttl: float,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, _Outcome] = {}
        self._pending: dict[str, asyncio.Future[int | None]] = {}
        self._http = outbound_client(
            base_url=endpoint if endpoint.endswith("/") else endpoint + "/", transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def user_of(self, key: str) -> int | None:
        """The Civis user id the key belongs to; None when Civis rejects it. Raises ``KeyCheckUnavailable``.

        Requests that bring the same new key at once share one check."""
        digest = key_digest(key)
        known = self._known.get(digest)
        if known is not None and known.until > self._clock():
            return known.user_id
        pending = self._pending.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending[digest] = future
        try:
            user_id = await self._ask(key, digest)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        else:
            future.set_result(user_id)
            return user_id
        finally:
            del self._pending[digest]

    async def _ask(self, key: str, digest: str) -> int | None:
        now = self._clock()
        try:
            response = await self._http.get("users/me", auth=httpx.BasicAuth(key, ""))
        except httpx.HTTPError as exc:
            raise KeyCheckUnavailable(f"Civis did not answer ({type(exc).__name__})") from None
        if response.status_code in (401, 403):
            self._keep(digest, _Outcome(None, now + min(_REJECTED_FOR, self._ttl)))
            return None
        user_id = _user_id(response)
        if user_id is None:
            raise KeyCheckUnavailable(f"Civis answered HTTP {response.status_code} without a user id")
        self._keep(digest, _Outcome(user_id, now + self._ttl))
        return user_id

    def _keep(self, digest: str, outcome: _Outcome) -> None:
        if len(self._known) >= _CAPACITY:
            now = self._clock()
            self._known = {d: o for d, o in self._known.items() if o.until > now}
            while len(self._known) >= _CAPACITY:
                del self._known[next(iter(self._known))]
        self._known[digest] = outcome


def _user_id(response: httpx.Response) -> int | None:
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    user_id = body.get("id") if isinstance(body, dict) else None
    return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) and user_id > 0 else None
