"""The one HTTP client that talks to the Civis API: auth, timeouts, the call deadline, the circuit breaker, reading
answers into data and error statuses into typed errors.

One pooled ``httpx.AsyncClient`` serves every tool call of a server; each call sends one request through it, and
its transport, ``retrying.RetryTransport``, repeats it when the retry policy allows. Tests swap the innermost
transport (``transport=httpx.MockTransport(...)``, or respx below it) without touching anything else.

Every call to Civis ends within ``Settings.call_deadline`` (its retries and the waits between them included), and a
circuit breaker (``breaker``) refuses calls at once while Civis keeps failing. An answer that cannot be read (a body
that does not decompress, is not JSON or nests too deep, a header number that is not a number) ends in an error that
names the operation, never in a bare exception.

What comes back is data and facts: answers with every string sanitised and the key redacted (one walk, in
``_decode``), errors in their category with status, request id and Civis's own words cleaned the same way. Fencing
and advice for the model are the present step's (``civis_mcp.presenting``).
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import anyio
import httpx
from pydantic import BaseModel

from civis_mcp.api.breaker import CircuitBreaker
from civis_mcp.api.callers import CALLER_KEYS, CallerAuth, current_caller
from civis_mcp.api.errors import (
    CircuitOpenError,
    CivisAPIError,
    CivisTransportError,
    ConfigurationError,
    UnreadableAnswerError,
    api_error_class,
)
from civis_mcp.api.redaction import Redactor
from civis_mcp.api.retry import RetryPolicy, parse_retry_after
from civis_mcp.api.retrying import CALL, CallFacts, Clock, RetryTransport, Sleep
from civis_mcp.api.tls import AGENT_HEADERS, tls_context
from civis_mcp.api.trace import note_upstream
from civis_mcp.api.wire import TooDeep, build_path, encode_query, snake_keys_within
from civis_mcp.config import Settings
from civis_mcp.untrusted import clean_json, clean_text, json_needs_no_cleaning, one_line

if TYPE_CHECKING:  # only types: importing the table would load every model at start-up
    from civis_mcp.models.base import RequestModel
    from civis_mcp.operations import Operation

__all__ = ["ApiResult", "CivisClient", "Pagination"]

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
        self._clock = clock
        self.breaker = CircuitBreaker(
            threshold=settings.breaker_failures, cooldown=settings.breaker_cooldown, clock=clock
        )
        base_url = settings.api_endpoint if settings.api_endpoint.endswith("/") else settings.api_endpoint + "/"
        self._retrying = RetryTransport(
            transport or _sending_transport(base_url),
            policy=RetryPolicy(max_attempts=settings.max_attempts, budget=settings.retry_budget),
            endpoint=settings.api_endpoint,
            pool=_POOL,
            sleep=sleep,
            rng=rng,
            clock=clock,
        )
        self._http = httpx.AsyncClient(
            base_url=base_url,
            # HTTP Basic with the key as user name and an empty password, as civis-python does.
            auth=CallerAuth() if per_caller else httpx.BasicAuth(key, "") if key is not None else None,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            headers=AGENT_HEADERS,
            transport=self._retrying,
            follow_redirects=False,
        )

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
            extensions={CALL: CallFacts(operation=op.tool_name, deadline=deadline, limit=self._settings.call_deadline)},
        )
        try:
            response = await self._http.send(request)  # the retry transport repeats it when the policy allows
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

    def _unreadable(self, op: Operation, status: int, what: str) -> UnreadableAnswerError:
        """The error for an answer whose status is known but whose content cannot be used."""
        return UnreadableAnswerError(op.tool_name, verb=op.verb, status_code=status, what=what)

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
            "retry_after": parse_retry_after(response.headers.get("Retry-After")),
        }
        return api_error_class(status)(message, **details)

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


def _sending_transport(base_url: str) -> httpx.AsyncHTTPTransport:
    """The transport that really sends: what ``httpx.AsyncClient`` builds for itself when given none, which it no
    longer does once given the retry transport. So the shared TLS context, the pool size and the environment's proxy
    for the endpoint (``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY``, unless ``NO_PROXY`` names its host) are set
    here."""
    url = httpx.URL(base_url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(url.scheme) or proxies.get("all") or None
    # With proxy variables set, ``proxy_bypass`` reads NO_PROXY (and only the environment).
    if proxy is not None and urllib.request.proxy_bypass(url.host):
        proxy = None
    if proxy is not None and "://" not in proxy:
        proxy = f"http://{proxy}"  # as httpx reads a proxy variable without a scheme
    return httpx.AsyncHTTPTransport(
        verify=tls_context(),
        # As many kept-alive connections as open ones: a smaller pool closes and reopens connections under a burst
        # of calls (500 concurrent calls opened 498 connections with 10 kept alive, 11 with 20).
        limits=httpx.Limits(max_connections=_POOL, max_keepalive_connections=_POOL),
        proxy=proxy,
    )
