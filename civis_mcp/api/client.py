"""The one HTTP client that talks to the Civis API: auth, timeouts, retries, pagination, errors, redaction.

One pooled ``httpx.AsyncClient`` serves every tool call of a server. Tests swap the transport
(``transport=httpx.MockTransport(...)`` or respx) without touching anything else.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx
from pydantic import BaseModel

from civis_mcp import __version__
from civis_mcp.api.errors import (
    AuthenticationError,
    CivisAPIError,
    CivisTransportError,
    ConfigurationError,
    OutcomeUnknownError,
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
from civis_mcp.api.wire import build_path, encode_query, snake_keys
from civis_mcp.config import Settings
from civis_mcp.untrusted import clean_json, fence_inline, one_line

if TYPE_CHECKING:  # only types: importing the table would load every model at start-up
    from civis_mcp.models.base import RequestModel
    from civis_mcp.operations import Operation

__all__ = ["ApiResult", "CivisClient", "Pagination"]

logger = logging.getLogger("civis_mcp.api")

_MAX_ERROR_TEXT = 500


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


class CivisClient:
    """Sends Civis Imports API operations. Create once per server; close with ``aclose`` or ``async with``."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = anyio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        key = settings.api_key.get_secret_value() if settings.api_key else None
        self._has_key = key is not None
        self.redact = Redactor(key)
        self._policy = RetryPolicy(max_attempts=settings.max_attempts, budget=settings.retry_budget)
        self._sleep = sleep
        self._rng = rng or random.Random()
        base_url = settings.api_endpoint if settings.api_endpoint.endswith("/") else settings.api_endpoint + "/"
        self._http = httpx.AsyncClient(
            base_url=base_url,
            # HTTP Basic with the key as user name and an empty password, as civis-python does.
            auth=httpx.BasicAuth(key, "") if key is not None else None,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            # As many kept-alive connections as open ones: a smaller pool closes and reopens connections under a
            # burst of calls (500 concurrent calls opened 498 connections with 10 kept alive, 11 with 20).
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=20),
            headers={"User-Agent": f"civis-mcp/{__version__}", "Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> CivisClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, op: Operation, params: RequestModel) -> ApiResult:
        """Send one operation with validated arguments; raise a ``CivisMCPError`` subclass on failure."""
        if not self._has_key:
            raise ConfigurationError(
                f"{op.tool_name} was not sent: no Civis API key is configured. Set CIVIS_API_KEY in the "
                "environment of the MCP server (for example in your client's server config) and restart it."
            )
        arguments = params.to_wire()
        path = build_path(op.path, {name: arguments.pop(name) for name in op.path_params})
        request = self._http.build_request(
            op.verb,
            path,
            params=None if op.sends_body else encode_query(arguments),
            # civis-python sends a JSON object with every request, ``{}`` when there are no body arguments (GET and
            # DELETE included); so do we, so that every request is the one civis-python would send.
            json=arguments if op.sends_body else {},
        )
        response = await self._send_with_retries(op, request)
        return self._parse(op, response)

    async def _send_with_retries(self, op: Operation, request: httpx.Request) -> httpx.Response:
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            retry_after: float | None = None
            response: httpx.Response | None = None
            try:
                response = await self._http.send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left this machine, so sending it again cannot double anything.
                failure = f"could not connect to {self._settings.api_endpoint} ({type(exc).__name__})"
                if not retries_at_all(op.verb):
                    raise CivisTransportError(f"{op.tool_name} was not sent: {failure}. Nothing changed.") from None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                failure = f"the answer was lost ({type(exc).__name__})"
                if not repeatable_after_sending(op.verb):
                    raise OutcomeUnknownError(self._outcome_unknown(op, failure)) from None
            else:
                await response.aread()
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
                            self._outcome_unknown(op, f"Civis answered HTTP {response.status_code}")
                        )
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                failure = f"Civis answered HTTP {response.status_code}"
            delay = self._policy.backoff(attempt, retry_after, self._rng)
            if attempt >= self._policy.max_attempts or waited + delay > self._policy.budget:
                return self._give_up(op, attempt, failure, response, retry_after)
            logger.info("%s: %s; retrying in %.1f s (attempt %d)", op.tool_name, failure, delay, attempt + 1)
            waited += delay
            await self._sleep(delay)

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
        hint = f" Civis asked to wait {retry_after:.0f} s." if retry_after else ""
        raise CivisTransportError(
            f"{op.tool_name} failed after {attempts} attempt(s): {failure}.{hint} The request never reached "
            "Civis or was safe to lose, so nothing changed; try again later."
        )

    def _outcome_unknown(self, op: Operation, failure: str) -> str:
        from civis_mcp.operations import verification_tool

        check = verification_tool(op)
        how = f"Check with {check} before trying again" if check else "Check in Civis Platform before trying again"
        return (
            f"{op.tool_name} was sent, but {failure}, so its outcome is unknown: it may or may not have taken "
            f"effect. It was deliberately not sent again, to avoid doing it twice. {how}."
        )

    def _parse(self, op: Operation, response: httpx.Response) -> ApiResult:
        if response.status_code >= 400:
            raise self._error(op, response)
        data: Any = None
        if response.content.strip():
            try:
                data = clean_json(snake_keys(response.json()), also=self.redact)  # one walk: key out, then sanitised
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise CivisTransportError(
                    f"{op.tool_name}: Civis answered HTTP {response.status_code} with a body that is not JSON."
                ) from None
        max_id = response.headers.get("Civis-Max-Id", "").strip()
        cache = response.headers.get("Civis-Cache-Control")
        return ApiResult(
            response.status_code,
            data,
            _pagination(response.headers) if op.paginated else None,
            max_log_id=int(max_id) if max_id.isdigit() else None,
            logs_final=None if cache is None else cache.strip().lower() != "no-store",
        )

    def _error(self, op: Operation, response: httpx.Response) -> CivisAPIError:
        description = self._error_description(response)
        status = response.status_code
        # Civis's own words are fenced: they are data, and must not read as this server's sentences.
        said = f", saying {fence_inline(description)}" if description else ""
        if status == 401:
            return AuthenticationError(
                f"{op.tool_name} failed: Civis rejected the API key (HTTP 401){said}. Check CIVIS_API_KEY; "
                "nothing was changed.",
                status_code=status,
                error_description=description,
                operation=op.tool_name,
            )
        advice = {
            403: "The key's user cannot read this object; ask its owner to share it with read access, which is "
            "enough to read it."
            if op.verb == "GET"
            else "The key's user lacks permission to change this object; ask its owner to share it with write "
            "access (manage access for sharing, ownership and archiving).",
            404: "Check the IDs; the object may not exist or may not be visible to this user.",
            429: "Civis is rate limiting this key; wait a minute before trying again.",
        }.get(status, "Nothing was changed." if 400 <= status < 500 else "Try again later.")
        return CivisAPIError(
            f"{op.tool_name} failed: Civis answered HTTP {status} {response.reason_phrase}{said}. {advice}",
            status_code=status,
            error_description=description,
            operation=op.tool_name,
        )

    def _error_description(self, response: httpx.Response) -> str | None:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        text = body.get("errorDescription") or body.get("error") if isinstance(body, dict) else None
        if not isinstance(text, str):
            return None
        # Upstream text: sanitised, on one line, bounded, and never carrying the key.
        return one_line(self.redact(text), _MAX_ERROR_TEXT)


def _pagination(headers: httpx.Headers) -> Pagination:
    def number(name: str) -> int | None:
        raw = headers.get(f"X-Pagination-{name}")
        return int(raw) if raw is not None and raw.strip().isdigit() else None

    return Pagination(
        page=number("Current-Page"),
        per_page=number("Per-Page"),
        total_pages=number("Total-Pages"),
        total_entries=number("Total-Entries"),
    )
