"""The guarded executor: a destructive call runs only after a human says yes through the MCP client.

The flow of one guarded tool call:

1. **Preview** (a resolver; GET requests only): validate the arguments and read the live state the call is about to
   change (``previews``). Nothing to change (the run already ended) -> nothing is sent, and the result says why.
2. **Ask** (a resolver): put the preview to the human by elicitation. On 2026-07-28 clients the question rides an
   ``InputRequiredResult`` and the client answers in a later round; the preview is rebuilt every round, and an answer
   to a question whose text has changed since is not accepted (the SDK asks again). On older clients the question is
   a mid-call ``elicitation/create`` request, bounded by ``GuardPolicy.confirm_timeout``.
3. **Re-check**: after the yes, build the preview again; if its facts differ from what the human saw, send nothing.
4. **Act**: send exactly one write request, the one civis-python would send for the same arguments.

Fail closed: a decline, a cancel, no answer in time, a client that cannot ask a human, a preview that cannot be
built, a changed target: no write request, and a result that says nothing changed and why. There is no ``confirm``
argument; unknown arguments are refused before anything is read; nothing in the request (``_meta`` included) is
read as consent. Operators of unattended agents may allow named tools without confirmation
(``--allow-unconfirmed``); the preview and the re-check still run, and the audit log records the decision.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

import anyio
from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, DeclinedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types import CallToolResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from civis_mcp.api.errors import CivisMCPError
from civis_mcp.arguments import ArgumentError, validate_arguments
from civis_mcp.audit import Decision
from civis_mcp.execution import error_result, send
from civis_mcp.models.base import RequestModel
from civis_mcp.operations import Operation
from civis_mcp.previews import Preview, build_preview
from civis_mcp.state import AppState

__all__ = ["CONFIRMING_CLIENTS", "Confirmation", "make_guarded_runner"]

# First protocol revision whose tools/call carries elicitation inside an InputRequiredResult.
_INPUT_REQUIRED_VERSION = "2026-07-28"
CONFIRMING_CLIENTS = "clients that support MCP elicitation, such as VS Code and Cursor"


class Confirmation(BaseModel):
    """The form the human answers."""

    confirm: bool = Field(title="Go ahead", description="Tick to go ahead. Anything else changes nothing.")


class _Gate(Enum):
    """A decision the ask step reaches without putting a question to the client."""

    ALLOWED_UNCONFIRMED = "allowed_unconfirmed"
    NO_ELICITATION = "no_elicitation"
    ASK_IN_BODY = "ask_in_body"  # older protocol: the body asks, so that the wait can be bounded
    SKIP = "skip"  # the preview already decided: nothing to do, or a refusal


@dataclass(frozen=True)
class _Prepared:
    params: RequestModel | None
    preview: Preview | None
    refusal: str | None = None
    decision: Decision | None = None


def _refused(op: Operation, reason: str) -> str:
    return f"{op.tool_name} was not run: {reason} Nothing was changed."


def _client_can_elicit(ctx: Context[AppState, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A bare `elicitation: {}` means form support; a url-only client cannot show our form.
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _uses_input_required(ctx: Context[AppState, Any]) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, _INPUT_REQUIRED_VERSION)


def make_guarded_runner(op: Operation) -> Callable[..., Awaitable[BaseModel | CallToolResult]]:
    """The tool function of a destructive operation, with its two resolvers."""

    async def prepare(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> _Prepared:
        try:
            params = validate_arguments(op.tool_name, op.params, arguments)
        except ArgumentError as exc:
            return _Prepared(None, None, str(exc), Decision.INVALID_ARGUMENTS)
        state = ctx.request_context.lifespan_context
        try:
            preview = await build_preview(op.tool_name, state.client, params)
        except CivisMCPError as exc:
            reason = f"the preview of what it would change could not be read ({state.client.redact(str(exc))})."
            return _Prepared(params, None, _refused(op, reason), Decision.PREVIEW_FAILED)
        return _Prepared(params, preview)

    async def ask(prepared: _Prepared, ctx: Context[AppState, Any]) -> Elicit[Confirmation] | _Gate:
        if prepared.preview is None or prepared.preview.nothing_to_do:
            return _Gate.SKIP
        if op.tool_name in ctx.request_context.lifespan_context.policy.allow_unconfirmed:
            return _Gate.ALLOWED_UNCONFIRMED
        if not _client_can_elicit(ctx):
            return _Gate.NO_ELICITATION
        if not _uses_input_required(ctx):
            return _Gate.ASK_IN_BODY
        return Elicit(prepared.preview.question, Confirmation)

    async def run(
        arguments: dict[str, Any],
        ctx: Context[AppState, Any],
        prepared: _Prepared,
        answer: ElicitationResult[Confirmation],
    ) -> BaseModel | CallToolResult:
        state = ctx.request_context.lifespan_context
        if prepared.refusal is not None or prepared.params is None or prepared.preview is None:
            state.record(op, arguments, prepared.decision or Decision.PREVIEW_FAILED, detail=prepared.refusal)
            return error_result(prepared.refusal or _refused(op, "its arguments could not be checked."))
        preview, params = prepared.preview, prepared.params
        if preview.nothing_to_do:
            state.record(op, arguments, Decision.NOTHING_TO_DO, detail=preview.nothing_to_do)
            return error_result(f"{op.tool_name} sent nothing: {preview.nothing_to_do}")

        decision = await _decide(op, ctx, preview, answer)
        if decision not in (Decision.CONFIRMED, Decision.ALLOWED_UNCONFIRMED):
            reason = _REFUSALS[decision](op, state)
            state.record(op, arguments, decision, detail=reason)
            return error_result(_refused(op, reason))

        try:
            again = await build_preview(op.tool_name, state.client, params)
        except CivisMCPError as exc:
            reason = f"the target could not be re-read before acting ({state.client.redact(str(exc))})."
            state.record(op, arguments, Decision.PREVIEW_FAILED, detail=reason)
            return error_result(_refused(op, reason))
        if again.facts != preview.facts or again.nothing_to_do:
            now = again.nothing_to_do or again.question
            reason = f"the target changed after the preview was shown. Now: {now}"
            state.record(op, arguments, Decision.TARGET_CHANGED, detail=reason)
            return error_result(_refused(op, reason))
        return await send(state, op, params, arguments, decision)

    # Real objects, not strings: the SDK reads these annotations to wire the resolvers (closures are not globals).
    prepare.__annotations__ = {"arguments": dict[str, Any], "ctx": Context[AppState, Any], "return": _Prepared}
    ask.__annotations__ = {
        "prepared": Annotated[_Prepared, Resolve(prepare)],
        "ctx": Context[AppState, Any],
        "return": Elicit[Confirmation] | _Gate,
    }
    run.__annotations__ = {
        "arguments": dict[str, Any],
        "ctx": Context[AppState, Any],
        "prepared": Annotated[_Prepared, Resolve(prepare)],
        "answer": Annotated[ElicitationResult[Confirmation], Resolve(ask)],
        "return": BaseModel | CallToolResult,
    }
    for fn, suffix in ((prepare, "preview"), (ask, "confirm"), (run, "run")):
        fn.__qualname__ = f"{op.tool_name}.{suffix}"
    run.__name__ = op.tool_name
    return run


async def _decide(
    op: Operation, ctx: Context[AppState, Any], preview: Preview, answer: ElicitationResult[Confirmation]
) -> Decision:
    """Turn what the ask step produced (a gate, or the client's answer) into a decision."""
    if isinstance(answer, DeclinedElicitation):
        return Decision.DECLINED
    if isinstance(answer, CancelledElicitation):
        return Decision.CANCELLED
    if not isinstance(answer, AcceptedElicitation):
        return Decision.CANCELLED
    data: Any = answer.data
    if data is _Gate.ALLOWED_UNCONFIRMED:
        return Decision.ALLOWED_UNCONFIRMED
    if data is _Gate.NO_ELICITATION:
        return Decision.NO_ELICITATION
    if data is _Gate.ASK_IN_BODY:
        timeout = ctx.request_context.lifespan_context.policy.confirm_timeout
        with anyio.move_on_after(timeout):
            try:
                reply = await ctx.elicit(preview.question, Confirmation)
            except Exception:  # a client that fails to answer has not said yes
                return Decision.CANCELLED
            return await _decide(op, ctx, preview, reply)
        return Decision.TIMED_OUT
    if isinstance(data, Confirmation):
        return Decision.CONFIRMED if data.confirm else Decision.DECLINED
    return Decision.CANCELLED


_REFUSALS: dict[Decision, Callable[[Operation, AppState], str]] = {
    Decision.DECLINED: lambda op, _: "the human declined.",
    Decision.CANCELLED: lambda op, _: "the human cancelled the confirmation.",
    Decision.TIMED_OUT: lambda op, state: f"no answer came within {state.policy.confirm_timeout:g} s.",
    Decision.NO_ELICITATION: lambda op, _: (
        f"it needs a human to confirm it, and this client cannot ask (it does not support MCP elicitation). "
        f"Use one of the {CONFIRMING_CLIENTS}; or an operator can allow this tool without confirmation with "
        f"`civis-mcp serve --allow-unconfirmed {op.tool_name}` (or CIVIS_MCP_ALLOW_UNCONFIRMED={op.tool_name})."
    ),
}
