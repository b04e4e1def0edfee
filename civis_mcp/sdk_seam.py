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
from mcp_types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel

__all__ = ["ask_in_call", "asks_in_rounds", "can_ask_human", "input_required", "round_answer"]

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


def round_answer(ctx: Context[Any, Any], key: str) -> tuple[str | None, object | None]:
    """The state this server minted for the previous round (verified by the SDK) and the client's answer to ``key``."""
    return ctx.request_state, (ctx.input_responses or {}).get(key)


async def ask_in_call(ctx: Context[Any, Any], message: str, schema: type[BaseModel]) -> ElicitResult:
    """Ask mid-call (protocols before 2026-07-28); the raw answer, not validated against ``schema``."""
    return await ctx.request_context.session.elicit_form(
        message=message, requested_schema=render_elicitation_schema(schema), related_request_id=ctx.request_id
    )
