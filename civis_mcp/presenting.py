"""The present step: what a model reads of a call's result or error, made in one place above the API client.

The client (``civis_mcp.api``) hands up data and typed errors: status, Civis request id, what went wrong in a few
words, what is known about the outcome, and Civis's own words cleaned of hidden characters and of the key. Here they
become text for the model:

* a result's text is fenced as data (``present``);
* an error (``explain``) gets Civis's own words fenced inline, so they cannot pass for this server's sentences, and
  the advice that names the next step: which tool shows whether a lost write took effect, who to ask for access, when
  to try again;
* and the whole text is redacted once more, so no form of a key reaches the model whatever a piece carried.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from mcp_types import CallToolResult, TextContent

from civis_mcp.api.errors import (
    CircuitOpenError,
    CivisAPIError,
    CivisMCPError,
    CivisTransportError,
    Outcome,
    UnreadableAnswerError,
)
from civis_mcp.untrusted import fence, fence_inline

__all__ = ["explain", "present"]

Redact = Callable[[str], str]


def present(
    bounded: tuple[dict[str, Any], str], what: str = "The Civis API's answer", *, clean: bool = False
) -> CallToolResult:
    """A structured result (from ``results.bound``) whose text form is fenced: its strings came from Civis.
    ``clean``: every string in it is sanitised already, so the fence need not sanitise the text again."""
    data, text = bounded
    fenced = fence(text, what, clean=clean)
    return CallToolResult(content=[TextContent(type="text", text=fenced)], structured_content=data)


def explain(error: CivisMCPError, redact: Redact) -> str:
    """The text a model reads for ``error``: its facts, Civis's words fenced, what to do next; without the key."""
    if isinstance(error, CivisAPIError):
        text = _api_error(error)
    elif isinstance(error, CivisTransportError):
        text = str(error) + _next_step(error)
    else:  # settings, or an error a workflow raised with its own full sentence
        text = str(error)
    return redact(text)


def _api_error(error: CivisAPIError) -> str:
    status = error.status_code
    # Civis's own words are fenced: they are data, and must not read as this server's sentences.
    said = f", saying {fence_inline(error.error_description)}" if error.error_description else ""
    if status == 401:
        message = (
            f"{error.operation} failed: Civis rejected the API key (HTTP 401){said}. Check CIVIS_API_KEY; "
            "nothing was changed."
        )
    else:
        message = f"{error.operation} failed: Civis answered HTTP {status}{_reason(error)}{said}. {_advice(error)}"
    if error.request_id is not None:
        message += f" (Civis request ID {error.request_id}.)"
    return message


def _advice(error: CivisAPIError) -> str:
    status = error.status_code
    if status == 403:
        if error.verb == "GET":
            return (
                "The key's user cannot read this object; ask its owner to share it with read access, which is enough "
                "to read it."
            )
        return (
            "The key's user lacks permission to change this object; ask its owner to share it with write access "
            "(manage access for sharing, ownership and archiving)."
        )
    if status == 404:
        return "Check the IDs; the object may not exist or may not be visible to this user."
    if status == 429:
        return "Civis is rate limiting this key; wait a minute before trying again."
    return "Nothing was changed." if 400 <= status < 500 else "Try again later."


def _reason(error: CivisAPIError) -> str:
    """The status's standard phrase in the server's words; the upstream's own phrase, when it differs, fenced."""
    try:
        standard = HTTPStatus(error.status_code).phrase
    except ValueError:
        standard = ""
    own = f" {standard}" if standard else ""
    if error.reason_phrase:
        return f"{own} (its reason phrase: {fence_inline(error.reason_phrase, 100)})"
    return own


def _next_step(error: CivisTransportError) -> str:
    """What to do after a call that got no usable answer, from what is known about its outcome."""
    if isinstance(error, CircuitOpenError):
        wait = max(1, math.ceil(error.retry_in))
        at = (datetime.now(UTC) + timedelta(seconds=wait)).strftime("%H:%M:%S UTC")
        return f" Try again in {wait} s (after {at})."
    if error.outcome in (Outcome.UNKNOWN, Outcome.ACCEPTED):
        return f" {_how_to_check(error.operation)}."
    if error.outcome in (Outcome.NOTHING_CHANGED, Outcome.REPEATABLE):
        if isinstance(error, UnreadableAnswerError):
            return " Try again later; if this persists, something between here and Civis is altering its answers."
        return " Try again later."
    return ""


def _how_to_check(tool: str | None) -> str:
    """Which read shows whether a write that got no usable answer took effect."""
    # Imported here: the table loads every model, and this module is imported by the light resource handlers.
    from civis_mcp.operations import OPERATIONS_BY_TOOL, verification_tool

    op = OPERATIONS_BY_TOOL.get(tool or "")
    check = verification_tool(op) if op is not None else None
    return f"Check with {check} before trying again" if check else "Check in Civis Platform before trying again"
