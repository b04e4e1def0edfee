"""The one HTTP client that talks to the Civis API: auth, timeouts, retries, pagination, errors, redaction.

One pooled ``httpx.AsyncClient`` serves every tool call of a server. Tests swap the transport
(``transport=httpx.MockTransport(...)`` or respx) without touching anything else.

Every call to Civis ends within ``Settings.call_deadline`` (its retries and the waits between them included), and a
circuit breaker (``breaker``) refuses calls at once while Civis keeps failing. An answer that cannot be read (a body
that does not decompress, is not JSON or nests too deep, a header number that is not a number) ends in an error that
names the operation, never in a bare exception.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import anyio
import httpx
from pydantic import BaseModel

from civis_mcp import __version__
from civis_mcp.api.breaker import CircuitBreaker
from civis_mcp.api.callers import CALLER_KEYS, CallerAuth, current_caller
from civis_mcp.api.errors import (
    CircuitOpenError,
    CivisAPIError,
    CivisTransportError,
    ConfigurationError,
    Outcome,
    OutcomeUnknownError,
    RateLimitedError,
    UnreadableAnswerError,
    api_error_class,
)
from civis_mcp.api.redaction import Redactor
from civis_mcp.api.retry import (
    RetryPolicy,
    is_ambiguous_status,
    parse_retry_after,
    repeatable_after_sending,
    retries_at_all,
    retryable_status,
)
from civis_mcp.api.tls import tls_context
from civis_mcp.api.trace import note_upstream
from civis_mcp.api.wire import TooDeep, build_path, encode_query, snake_keys_within
from civis_mcp.config import Settings
from civis_mcp.untrusted import clean_json, clean_text, json_needs_no_cleaning, one_line

if TYPE_CHECKING:  # only types: importing the table would load every model at start-up
    from civis_mcp.models.base import RequestModel
    from civis_mcp.operations import Operation

__all__ = ["ApiResult", "CivisClient", "Pagination"]

logger = logging.getLogger("civis_mcp.api")
_TOOL_CALL_ENDS: ContextVar[float | None] = ContextVar("civis_mcp_tool_call_ends", default=None)
"""When the current tool call's budget for calls to Civis runs out (see ``CivisClient.tool_call_budget``)."""

_MAX_ERROR_TEXT = 500
_MAX_DEPTH = 64
"""How deep an answer's JSON may nest; Civis's own answers stay under ten levels."""
_HEADER_NUMBER = re.compile(r"[0-9]{1,18}")


class Pagination(BaseModel):
    """Where a page sits in a paged list, from the ``X-Pagination-*`` headers."""

    page: int | None = None
    per_page: int | None = None
    total_pages: int | None = None
    total_entries: int | None = None


@dataclass(frozen=True)
class ApiResult:
    """A successful answer: status, snake_case JSON (None for an empty body) and, for paged lists, pagination."""

    status_code: int
    data: Any
    pagination: Pagination | None = None
    max_log_id: int | None = None
    """The ``Civis-Max-Id`` header of a log read: the highest log id the run has so far."""
    logs_final: bool | None = None
    """From ``Civis-Cache-Control`` on a log read: False while the run may still add lines (``no-store``)."""


Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
_POOL = 20
"""Connections to Civis, all kept alive, and so requests in flight at once."""


class CivisClient:
    """Sends Civis Imports API operations. Create once per server; close with ``aclose`` or ``async with``."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = anyio.sleep,
        rng: random.Random | None = None,
        clock: Clock = time.monotonic,
        per_caller: bool = False,
    ) -> None:
        self._settings = settings
        # Per caller (the hosted mode): each request's own key, never the server's; see ``callers``.
        self._per_caller = per_caller
        key = None if per_caller or settings.api_key is None else settings.api_key.get_secret_value()
        self._has_key = key is not None
        self.redact = CALLER_KEYS if per_caller else Redactor(key)
        self._policy = RetryPolicy(max_attempts=settings.max_attempts, budget=settings.retry_budget)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self.breaker = CircuitBreaker(
            threshold=settings.breaker_failures, cooldown=settings.breaker_cooldown, clock=clock
        )
        self._limiter: anyio.CapacityLimiter | None = None
        base_url = settings.api_endpoint if settings.api_endpoint.endswith("/") else settings.api_endpoint + "/"
        self._http = httpx.AsyncClient(
            base_url=base_url,
            # HTTP Basic with the key as user name and an empty password, as civis-python does.
            auth=CallerAuth() if per_caller else httpx.BasicAuth(key, "") if key is not None else None,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            # As many kept-alive connections as open ones: a smaller pool closes and reopens connections under a
            # burst of calls (500 concurrent calls opened 498 connections with 10 kept alive, 11 with 20).
            limits=httpx.Limits(max_connections=_POOL, max_keepalive_connections=_POOL),
            headers={"User-Agent": f"civis-mcp/{__version__}", "Accept": "application/json"},
            transport=transport,
            verify=tls_context(),
            follow_redirects=False,
        )

    @property
    def _sends(self) -> anyio.CapacityLimiter:
        """At most as many requests in flight as the pool has connections: the calls beyond wait here, in one cheap
        queue, instead of in httpcore's pool, whose bookkeeping for waiting requests took about a quarter of the
        CPU under 50 concurrent calls. Made on first use, inside the event loop that uses it."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(_POOL)
        return self._limiter

    async def __aenter__(self) -> CivisClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @contextmanager
    def tool_call_budget(self) -> Iterator[None]:
        """Every call to Civis made inside shares one deadline (``call_deadline`` from now): a tool call's reads and
        its write end in time together, however many there are. A human's time to answer is never inside one."""
        token = _TOOL_CALL_ENDS.set(self._clock() + self._settings.call_deadline)
        try:
            yield
        finally:
            _TOOL_CALL_ENDS.reset(token)

    async def call(self, op: Operation, params: RequestModel) -> ApiResult:
        """Send one operation with validated arguments; raise a ``CivisMCPError`` subclass on failure."""
        if self._per_caller:
            if current_caller() is None:
                raise ConfigurationError(f"{op.tool_name} was not sent: this request carries no checked Civis key.")
        elif not self._has_key:
            raise ConfigurationError(
                f"{op.tool_name} was not sent: no Civis API key is configured. Set CIVIS_API_KEY in the "
                "environment of the MCP server (for example in your client's server config) and restart it."
            )
        self._check_breaker(op)
        deadline = self._clock() + self._settings.call_deadline
        tool_call_ends = _TOOL_CALL_ENDS.get()
        if tool_call_ends is not None:  # several calls of one tool call share one deadline
            deadline = min(deadline, tool_call_ends)
        arguments = params.to_wire()
        path = build_path(op.path, {name: arguments.pop(name) for name in op.path_params})
        query = None if op.sends_body else encode_query(arguments)
        request = self._http.build_request(
            op.verb,
            path,
            params=query or None,  # an empty list costs httpx a needless re-encoding of the URL (12 us a call)
            # civis-python sends a JSON object with every request, ``{}`` when there are no body arguments (GET and
            # DELETE included); so do we, so that every request is the one civis-python would send.
            json=arguments if op.sends_body else {},
        )
        try:
            response = await self._send_with_retries(op, request, deadline)
        except CivisTransportError as exc:
            self.breaker.record_failure(exc.reason or "no usable answer")
            raise
        note_upstream(response.status_code, response.headers.get("X-Request-Id"))
        if response.status_code >= 500:
            self.breaker.record_failure(f"HTTP {response.status_code}")
        else:
            self.breaker.record_success()
        return self._parse(op, response)

    def _check_breaker(self, op: Operation) -> None:
        retry_in = self.breaker.retry_in()
        if retry_in is None:
            return
        raise CircuitOpenError(
            f"{op.tool_name} was not sent: the last {self.breaker.failures} calls to Civis failed in a row (the "
            f"last: {self.breaker.last_failure}), so civis-mcp pauses its calls to Civis for "
            f"{self._settings.breaker_cooldown:g} s to let it recover. Nothing was sent, so nothing changed.",
            retry_in=retry_in,
            operation=op.tool_name,
        )

    async def _send_with_retries(self, op: Operation, request: httpx.Request, deadline: float) -> httpx.Response:
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            retry_after: float | None = None
            response: httpx.Response | None = None
            remaining = deadline - self._clock()
            try:
                if remaining <= 0:
                    raise TimeoutError
                with anyio.fail_after(remaining):
                    response = await self._receive(request)
            except TimeoutError:
                raise self._past_deadline(op, attempt) from None
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left this machine, so sending it again cannot double anything.
                failure = f"could not connect to {self._settings.api_endpoint} ({type(exc).__name__})"
                if not retries_at_all(op.verb):
                    raise CivisTransportError(
                        f"{op.tool_name} was not sent: {failure}. Nothing changed.",
                        reason=failure,
                        operation=op.tool_name,
                        outcome=Outcome.NOT_SENT,
                    ) from None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                failure = f"the answer was lost ({type(exc).__name__})"
                if not repeatable_after_sending(op.verb):
                    raise OutcomeUnknownError(op.tool_name, failure) from None
            else:
                if isinstance(response, _Undecodable) and response.status_code < 400:
                    # An error status stays an error (its description is lost); a success cannot be used.
                    raise self._unreadable(op, response.status_code, "its body could not be decompressed")
                logger.debug(
                    "%s %s -> %s in %.0f ms",
                    op.verb,
                    request.url.path,
                    response.status_code,
                    (time.perf_counter() - started) * 1000,
                )
                if not retryable_status(op.verb, response.status_code):
                    if is_ambiguous_status(op.verb, response.status_code):
                        raise OutcomeUnknownError(
                            op.tool_name,
                            f"Civis answered HTTP {response.status_code}",
                            reason=f"HTTP {response.status_code}",
                        )
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                failure = f"Civis answered HTTP {response.status_code}"
            delay = self._policy.backoff(attempt, retry_after, self._rng)
            out_of_time = self._clock() + delay >= deadline
            if attempt >= self._policy.max_attempts or waited + delay > self._policy.budget or out_of_time:
                return self._give_up(op, attempt, failure, response, retry_after)
            logger.info("%s: %s; retrying in %.1f s (attempt %d)", op.tool_name, failure, delay, attempt + 1)
            waited += delay
            await self._sleep(delay)

    async def _receive(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its whole answer. A body that does not decompress (a lying Content-Encoding)
        gives an ``_Undecodable`` in its place: the status is still known, and an error status is still an error."""
        async with self._sends:
            response = await self._http.send(request, stream=True)
            try:
                await response.aread()
            except httpx.DecodingError:
                retry_after = response.headers.get("Retry-After", "")
                return _Undecodable(response.status_code, headers={"Retry-After": retry_after})
            finally:
                await response.aclose()
        return response

    def _past_deadline(self, op: Operation, attempt: int) -> CivisTransportError:
        """The error for a call that ran out of time during (or before) attempt ``attempt``."""
        limit = self._settings.call_deadline
        failure = f"no answer came within the call deadline of {limit:g} s (CIVIS_MCP_CALL_DEADLINE)"
        if not repeatable_after_sending(op.verb):
            return OutcomeUnknownError(op.tool_name, failure)
        if op.verb == "GET":
            effect, outcome = "It only reads, so nothing changed", Outcome.NOTHING_CHANGED
        else:
            effect = "If it reached Civis it may have taken effect; sending it again is safe, as it changes nothing"
            effect += " more"
            outcome = Outcome.REPEATABLE
        return CivisTransportError(
            f"{op.tool_name} failed after {attempt} attempt(s): {failure}. {effect}.",
            reason=failure,
            operation=op.tool_name,
            outcome=outcome,
        )

    def _unreadable(self, op: Operation, status: int, what: str) -> UnreadableAnswerError:
        """The error for an answer whose status is known but whose content cannot be used."""
        return UnreadableAnswerError(op.tool_name, verb=op.verb, status_code=status, what=what)

    def _give_up(
        self,
        op: Operation,
        attempts: int,
        failure: str,
        response: httpx.Response | None,
        retry_after: float | None,
    ) -> httpx.Response:
        if response is not None:
            # Out of retries with an error answer: it is reported like any other error status.
            return response
        raise CivisTransportError(
            f"{op.tool_name} failed after {attempts} attempt(s): {failure}. The request never reached Civis or was "
            "safe to lose, so nothing changed.",
            reason=failure,
            operation=op.tool_name,
            outcome=Outcome.NOTHING_CHANGED,
        )

    def _parse(self, op: Operation, response: httpx.Response) -> ApiResult:
        if response.status_code >= 400:
            raise self._error(op, response)
        data: Any = None
        if response.content.strip():
            data = self._decode(op, response)
        cache = response.headers.get("Civis-Cache-Control")
        return ApiResult(
            response.status_code,
            data,
            self._pagination(op, response) if op.paginated else None,
            max_log_id=self._header_number(op, response, "Civis-Max-Id"),
            logs_final=None if cache is None else cache.strip().lower() != "no-store",
        )

    def _decode(self, op: Operation, response: httpx.Response) -> Any:
        """The answer's JSON, snake_case, sanitised and without the key (one walk for both; no walk when a check of
        the whole text shows neither could change a thing, the common case)."""
        too_deep = f"its JSON nests deeper than {_MAX_DEPTH} levels"
        try:
            decoded = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise self._unreadable(op, response.status_code, "its body is not JSON") from None
        except RecursionError:  # deeper than Python's own parser goes
            raise self._unreadable(op, response.status_code, too_deep) from None
        try:
            snaked = snake_keys_within(decoded, _MAX_DEPTH)
        except TooDeep:
            raise self._unreadable(op, response.status_code, too_deep) from None
        raw = response.content
        if json_needs_no_cleaning(raw) and self.redact.absent_from_ascii(raw.decode("ascii")):
            return snaked
        return clean_json(snaked, also=self.redact)

    def _header_number(self, op: Operation, response: httpx.Response, name: str) -> int | None:
        """A whole-number header; None when absent. Anything but plain ASCII digits is refused: ``int()`` accepts
        other digits ("٣") and ``str.isdigit`` yet others ("²") that it then rejects."""
        raw = (response.headers.get(name) or "").strip()
        if not raw:
            return None
        if not _HEADER_NUMBER.fullmatch(raw):
            raise self._unreadable(op, response.status_code, f"its {name} header is not a whole number")
        return int(raw)

    def _pagination(self, op: Operation, response: httpx.Response) -> Pagination:
        def number(name: str) -> int | None:
            return self._header_number(op, response, f"X-Pagination-{name}")

        return Pagination(
            page=number("Current-Page"),
            per_page=number("Per-Page"),
            total_pages=number("Total-Pages"),
            total_entries=number("Total-Entries"),
        )

    def _error(self, op: Operation, response: httpx.Response) -> CivisAPIError:
        """The error of an HTTP error status, in its category (``api_error_class``): the facts, Civis's own words
        cleaned; ``presenting.explain`` fences them and adds what to do next."""
        status = response.status_code
        try:
            standard = HTTPStatus(status).phrase
        except ValueError:
            standard = ""
        request_id = _request_id(response)
        message = f"{op.tool_name} failed: Civis answered HTTP {status}{f' {standard}' if standard else ''}."
        if request_id is not None:
            message += f" (Civis request ID {request_id}.)"
        details: dict[str, Any] = {
            "status_code": status,
            "error_description": self._error_description(response),
            "operation": op.tool_name,
            "request_id": request_id,
            "verb": op.verb,
            "reason_phrase": self._own_reason_phrase(response, standard),
        }
        category = api_error_class(status)
        if category is RateLimitedError:
            return RateLimitedError(
                message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **details
            )
        return category(message, **details)

    def _own_reason_phrase(self, response: httpx.Response, standard: str) -> str | None:
        """The upstream's reason phrase (sanitised, redacted, one line) when it is not the standard one."""
        said = one_line(clean_text(response.reason_phrase, self.redact), 100)
        return said if said and said.lower() != standard.lower() else None

    def _error_description(self, response: httpx.Response) -> str | None:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            return None
        text = body.get("errorDescription") or body.get("error") if isinstance(body, dict) else None
        if not isinstance(text, str):
            return None
        # Upstream text: sanitised, then the key redacted, on one line, bounded.
        return one_line(clean_text(text, self.redact), _MAX_ERROR_TEXT)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _request_id(response: httpx.Response) -> str | None:
    """Civis's ``X-Request-Id``, when it sent one that looks like an ID (upstream text: anything else is dropped)."""
    raw = (response.headers.get("X-Request-Id") or "").strip()
    return raw if _REQUEST_ID.fullmatch(raw) else None


class _Undecodable(httpx.Response):
    """Stands for an answer whose body did not decompress: its status and Retry-After, and no body."""


def _nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether a decoded JSON value nests more than ``limit`` levels; a loop, so no depth can overflow the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
