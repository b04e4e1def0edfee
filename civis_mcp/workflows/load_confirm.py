"""The guarded path of ``imports_load_file``: truncating or dropping a table needs a human's yes.

This module is the one seam between the workflow and confirmation. ``confirm_destructive_load`` is the resolver step
that puts the question (or says why none is put), and ``destructive_load_decision`` turns what came back into a
``Decision``. They follow the rules of ``civis_mcp.guard`` and reuse its form: the question states the facts
(file, size, rows, table, mode); an operator's ``--allow-unconfirmed imports_load_file`` skips it; a client that
cannot ask a human, a decline, a cancel or no answer in time sends nothing. When the effect-based guard can take a
workflow's effect, these two functions are what to point at it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import anyio
from mcp.server.elicitation import AcceptedElicitation, DeclinedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit
from mcp_types.version import is_version_at_least

from civis_mcp.audit import Decision
from civis_mcp.guard import CONFIRMING_CLIENTS, Confirmation
from civis_mcp.state import AppState
from civis_mcp.workflows.load_models import FileFacts, LoadFileParams

__all__ = [
    "DESTRUCTIVE_MODES",
    "Gate",
    "confirm_destructive_load",
    "destructive_effect",
    "destructive_load_decision",
    "refusal_reason",
]

DESTRUCTIVE_MODES = frozenset({"truncate", "drop"})
_INPUT_REQUIRED_VERSION = "2026-07-28"


class Gate(Enum):
    """What the ask step decided without putting a question to the client."""

    NOT_DESTRUCTIVE = "not_destructive"
    ALLOWED_UNCONFIRMED = "allowed_unconfirmed"
    NO_ELICITATION = "no_elicitation"
    ASK_IN_BODY = "ask_in_body"  # older protocol: the body asks, so that the wait can be bounded
    SKIP = "skip"  # the call is refused before any question (bad path, bad arguments)


def destructive_effect(params: LoadFileParams, file: FileFacts) -> str | None:
    """The question for the human when the load can destroy rows; None when it cannot (fail, append)."""
    if params.existing_table_rows not in DESTRUCTIVE_MODES:
        return None
    table = f"{params.schema}.{params.table}"
    action = (
        f"DROP the table {table} if it exists, then create it again from the file"
        if params.existing_table_rows == "drop"
        else f"TRUNCATE the table {table} if it exists (delete all its rows), then load the file into it"
    )
    rows = (
        "an unknown number of rows"
        if file.rows is None
        else f"{file.rows:,} rows"
        if file.rows_exact
        else f"about {file.rows:,} rows"
    )
    return (
        f"imports_load_file will {action}. File: {file.path} ({file.size_bytes:,} bytes, {rows}, {file.columns} "
        f"columns). The table's current rows cannot be recovered afterwards. Go ahead?"
    )


def _client_can_elicit(ctx: Context[AppState, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def confirm_destructive_load(
    question: str | None, tool: str, ctx: Context[AppState, Any]
) -> Elicit[Confirmation] | Gate:
    """The ask step: the question to put to the human, or the gate reached without one."""
    if question is None:
        return Gate.NOT_DESTRUCTIVE
    if tool in ctx.request_context.lifespan_context.policy.allow_unconfirmed:
        return Gate.ALLOWED_UNCONFIRMED
    if not _client_can_elicit(ctx):
        return Gate.NO_ELICITATION
    version = ctx.protocol_version
    if version is None or not is_version_at_least(version, _INPUT_REQUIRED_VERSION):
        return Gate.ASK_IN_BODY
    return Elicit(question, Confirmation)


async def destructive_load_decision(
    answer: ElicitationResult[Any], question: str | None, ctx: Context[AppState, Any]
) -> Decision | None:
    """None when nothing destructive was asked about; else whether the human (or the operator) allowed it."""
    if isinstance(answer, DeclinedElicitation):
        return Decision.DECLINED
    if not isinstance(answer, AcceptedElicitation):
        return Decision.CANCELLED
    data: Any = answer.data
    if data is Gate.NOT_DESTRUCTIVE:
        return None
    if data is Gate.ALLOWED_UNCONFIRMED:
        return Decision.ALLOWED_UNCONFIRMED
    if data is Gate.NO_ELICITATION:
        return Decision.NO_ELICITATION
    if data is Gate.ASK_IN_BODY and question is not None:
        with anyio.move_on_after(ctx.request_context.lifespan_context.policy.confirm_timeout):
            try:
                reply = await ctx.elicit(question, Confirmation)
            except Exception:  # a client that fails to answer has not said yes
                return Decision.CANCELLED
            return await destructive_load_decision(reply, question, ctx)
        return Decision.TIMED_OUT
    if isinstance(data, Confirmation):
        return Decision.CONFIRMED if data.confirm else Decision.DECLINED
    return Decision.CANCELLED


def refusal_reason(decision: Decision, tool: str, ctx: Context[AppState, Any]) -> str:
    """Why the load was not started, and what to do instead."""
    if decision is Decision.DECLINED:
        return "the human declined."
    if decision is Decision.TIMED_OUT:
        return f"no answer came within {ctx.request_context.lifespan_context.policy.confirm_timeout:g} s."
    if decision is Decision.NO_ELICITATION:
        return (
            "truncating or dropping a table needs a human to confirm it, and this client cannot ask (it does not "
            f"support MCP elicitation). Use existing_table_rows='append' or 'fail', or one of the {CONFIRMING_CLIENTS}"
            f"; or an operator can allow this tool without confirmation with `civis-mcp serve --allow-unconfirmed "
            f"{tool}`."
        )
    return "the human cancelled the confirmation."
