"""What civis-mcp needs of the MCP SDK to put a question to a human, in one place.

Two protocol generations ask differently: from 2026-07-28 a tool answers ``InputRequiredResult`` and the client
calls again with the answers and the (SDK-sealed) ``requestState``; before that the server sends an
``elicitation/create`` request in the middle of the call. Both hand back the client's raw ``ElicitResult``, so the
guard judges one kind of answer. ``tests/test_sdk_seam.py`` pins the SDK behaviour relied on here.
"""

from __future__ import annotations

from typing import Any

from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp_types import (
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel

__all__ = [
    "ask_in_call",
    "asks_in_rounds",
    "can_ask_human",
    "can_list_roots",
    "input_required",
    "list_roots_in_call",
    "request_header",
    "roots_of",
    "roots_required",
    "round_answers",
]

# First protocol revision whose tools/call carries elicitation inside an InputRequiredResult.
_ROUNDS_VERSION = "2026-07-28"


def can_ask_human(ctx: Context[Any, Any]) -> bool:
    """True when the client declared form elicitation (a bare ``elicitation: {}`` means form; url-only does not)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def asks_in_rounds(ctx: Context[Any, Any]) -> bool:
    """True when this call asks through ``InputRequiredResult`` rounds (protocol 2026-07-28 and later)."""
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, _ROUNDS_VERSION)


def input_required(key: str, message: str, schema: type[BaseModel], state: str) -> InputRequiredResult:
    """The round that asks ``message``; the SDK seals ``state`` before it leaves the server."""
    request = ElicitRequest(
        params=ElicitRequestFormParams(message=message, requested_schema=render_elicitation_schema(schema))
    )
    return InputRequiredResult(input_requests={key: request}, request_state=state)


def round_answers(ctx: Context[Any, Any]) -> tuple[str | None, dict[str, object]]:
    """The state this server minted for the previous round (verified by the SDK) and the client's answers."""
    return ctx.request_state, dict(ctx.input_responses or {})


def can_list_roots(ctx: Context[Any, Any]) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.roots is not None


def roots_required(key: str, state: str) -> InputRequiredResult:
    """The round that asks the client for its roots (``roots/list``)."""
    return InputRequiredResult(input_requests={key: ListRootsRequest()}, request_state=state)


def roots_of(answer: object) -> list[str] | None:
    """The root URIs in a ``roots/list`` answer; None when ``answer`` is not one."""
    return [str(root.uri) for root in answer.roots] if isinstance(answer, ListRootsResult) else None


async def list_roots_in_call(ctx: Context[Any, Any]) -> list[str]:
    """Ask for the client's roots mid-call (protocols before 2026-07-28)."""
    result = await ctx.request_context.session.list_roots()
    return [str(root.uri) for root in result.roots]


async def ask_in_call(ctx: Context[Any, Any], message: str, schema: type[BaseModel]) -> ElicitResult:
    """Ask mid-call (protocols before 2026-07-28); the raw answer, not validated against ``schema``."""
    return await ctx.request_context.session.elicit_form(
        message=message, requested_schema=render_elicitation_schema(schema), related_request_id=ctx.request_id
    )


def request_header(request_context: Any, name: str) -> str | None:
    """A header of the HTTP request that carried this message; None over stdio or when it is absent."""
    request = getattr(request_context, "request", None)
    headers = getattr(request, "headers", None)
    value = headers.get(name) if headers is not None else None
    return value if isinstance(value, str) else None
