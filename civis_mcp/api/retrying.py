"""Retries as an httpx transport: one request in, one usable answer (or a typed error) out.

``RetryTransport`` wraps the transport that really sends (httpx's own, or a test's ``MockTransport``; respx patches
below it) and applies ``retry.RetryPolicy``: which answers and failures are worth another attempt for the request's
verb, capped exponential backoff with full jitter, ``Retry-After`` as a minimum wait, at most ``max_attempts``
attempts and ``budget`` seconds of waiting, and all of it within the call's deadline. A write whose answer was lost
is never sent twice: it ends in ``OutcomeUnknownError``.

What the transport needs to know about a request travels with it, in ``request.extensions`` under ``CALL``
(``CallFacts``: the tool whose call it is, for messages, and its deadline). A request without them is sent once, as
the wrapped transport would send it.

Each attempt holds one of ``pool`` slots while it is sent and its answer read, and reads the whole answer: a body
that does not decompress (a lying Content-Encoding) leaves the status known, so an error status is still that error
and a success ends in ``UnreadableAnswerError``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import httpx

from civis_mcp.api.errors import CivisTransportError, Outcome, OutcomeUnknownError, UnreadableAnswerError
from civis_mcp.api.retry import (
    RetryPolicy,
    is_ambiguous_status,
    parse_retry_after,
    repeatable_after_sending,
    retries_at_all,
    retryable_status,
)

__all__ = ["CALL", "CallFacts", "Clock", "RetryTransport", "Sleep"]

logger = logging.getLogger("civis_mcp.api")

CALL = "civis_mcp.call"
"""The ``request.extensions`` key of a request's ``CallFacts``."""

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True, kw_only=True)
class CallFacts:
    """What the retry transport needs to know about one call's request."""

    operation: str
    """The tool whose call this is (errors and log lines name it)."""
    deadline: float
    """When the call must end, on the transport's clock, its retries and the waits between them included."""
    limit: float
    """The configured call deadline in seconds (``CIVIS_MCP_CALL_DEADLINE``), for the message when it runs out."""


class RetryTransport(httpx.AsyncBaseTransport):
    """Sends a request through ``inner``, again when the policy allows, until an answer to hand back or an error."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        policy: RetryPolicy,
        endpoint: str,
        pool: int,
        sleep: Sleep = anyio.sleep,
        rng: random.Random | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._endpoint = endpoint
        """Named when a connection cannot be opened."""
        self._pool = pool
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def _sends(self) -> anyio.CapacityLimiter:
        """At most as many requests in flight as the pool has connections: the calls beyond wait here, in one cheap
        queue, instead of in httpcore's pool, whose bookkeeping for waiting requests took about a quarter of the
        CPU under 50 concurrent calls. Made on first use, inside the event loop that uses it."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._pool)
        return self._limiter

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        facts = request.extensions.get(CALL)
        if not isinstance(facts, CallFacts):
            return await self._inner.handle_async_request(request)
        verb = request.method
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            retry_after: float | None = None
            response: httpx.Response | None = None
            remaining = facts.deadline - self._clock()
            try:
                if remaining <= 0:
                    raise TimeoutError
                with anyio.fail_after(remaining):
                    response = await self._receive(request)
            except TimeoutError:
                raise _past_deadline(facts, verb, attempt) from None
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left this machine, so sending it again cannot double anything.
                failure = f"could not connect to {self._endpoint} ({type(exc).__name__})"
                if not retries_at_all(verb):
                    raise CivisTransportError(
                        f"{facts.operation} was not sent: {failure}. Nothing changed.",
                        reason=failure,
                        operation=facts.operation,
                        outcome=Outcome.NOT_SENT,
                    ) from None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                failure = f"the answer was lost ({type(exc).__name__})"
                if not repeatable_after_sending(verb):
                    raise OutcomeUnknownError(facts.operation, failure) from None
            else:
                if isinstance(response, _Undecodable) and response.status_code < 400:
                    # An error status stays an error (its description is lost); a success cannot be used.
                    raise UnreadableAnswerError(
                        facts.operation, verb=verb, status_code=response.status_code, what=_UNDECODABLE
                    )
                logger.debug(
                    "%s %s -> %s in %.0f ms",
                    verb,
                    request.url.path,
                    response.status_code,
                    (time.perf_counter() - started) * 1000,
                )
                if not retryable_status(verb, response.status_code):
                    if is_ambiguous_status(verb, response.status_code):
                        raise OutcomeUnknownError(
                            facts.operation,
                            f"Civis answered HTTP {response.status_code}",
                            reason=f"HTTP {response.status_code}",
                        )
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                failure = f"Civis answered HTTP {response.status_code}"
            delay = self._policy.backoff(attempt, retry_after, self._rng)
            out_of_time = self._clock() + delay >= facts.deadline
            if attempt >= self._policy.max_attempts or waited + delay > self._policy.budget or out_of_time:
                if response is not None:
                    # Out of retries with an error answer: it is reported like any other error status.
                    return response
                raise CivisTransportError(
                    f"{facts.operation} failed after {attempt} attempt(s): {failure}. The request never reached "
                    "Civis or was safe to lose, so nothing changed.",
                    reason=failure,
                    operation=facts.operation,
                    outcome=Outcome.NOTHING_CHANGED,
                )
            logger.info("%s: %s; retrying in %.1f s (attempt %d)", facts.operation, failure, delay, attempt + 1)
            waited += delay
            await self._sleep(delay)

    async def _receive(self, request: httpx.Request) -> httpx.Response:
        """One attempt: send ``request`` and read its whole answer (the client finds it read). A body that does not
        decompress gives an ``_Undecodable`` in its place: the status and headers are still known."""
        async with self._sends:
            response = await self._inner.handle_async_request(request)
            try:
                await response.aread()
            except httpx.DecodingError:
                headers = [
                    (name, value)
                    for name, value in response.headers.raw
                    if name.lower() not in (b"content-encoding", b"content-length")
                ]
                return _Undecodable(response.status_code, headers=headers, request=request)
            finally:
                await response.aclose()
        return response


_UNDECODABLE = "its body could not be decompressed"


class _Undecodable(httpx.Response):
    """Stands for an answer whose body did not decompress: its status and headers, and no body."""


def _past_deadline(facts: CallFacts, verb: str, attempt: int) -> CivisTransportError:
    """The error for a call that ran out of time during (or before) attempt ``attempt``."""
    failure = f"no answer came within the call deadline of {facts.limit:g} s (CIVIS_MCP_CALL_DEADLINE)"
    if not repeatable_after_sending(verb):
        return OutcomeUnknownError(facts.operation, failure)
    if verb == "GET":
        effect, outcome = "It only reads, so nothing changed", Outcome.NOTHING_CHANGED
    else:
        effect = "If it reached Civis it may have taken effect; sending it again is safe, as it changes nothing more"
        outcome = Outcome.REPEATABLE
    return CivisTransportError(
        f"{facts.operation} failed after {attempt} attempt(s): {failure}. {effect}.",
        reason=failure,
        operation=facts.operation,
        outcome=outcome,
    )
