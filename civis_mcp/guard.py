"""The guarded executor: a call that destroys, moves or exposes data runs only after a human says yes, once.

One guarded call, as a straight line:

1. **Validate** the arguments (nothing is read for arguments that do not fit).
2. **Assess** (GET only): the operation's assessor (its ``Guard`` in ``OPERATIONS``) reads the live state and says
   which effects this very call has. None: the call runs like any write. Nothing to change (the run already ended):
   nothing is sent. The live state cannot be read: civis-mcp assumes every effect the operation can have, and asks.
3. **Ask** the human through the client, the effects and facts first in the server's words, upstream text quoted.
   On 2026-07-28 clients the question is a round of ``InputRequiredResult`` carrying a random ticket and a digest of
   what was shown, sealed by the SDK; on older clients a mid-call elicitation, bounded by ``confirm_timeout``.
4. **Re-check and spend**: the assessment is made again after the yes; if what it shows differs from what the human
   saw, nothing is sent. The ticket is spent in the ``ConfirmationStore`` before acting, so a replayed round finds
   it spent and sends nothing.
5. **Act**: an audit intent line, exactly one write (the one civis-python would send), an outcome line.

Only a boolean ``true`` in an accepted answer confirms. Declines, cancels, time-outs, clients that cannot ask, client
failures and malformed answers all send nothing, and the result says which it was and what to do instead.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ElicitResult, InputRequiredResult
from pydantic import BaseModel, Field

from civis_mcp.api.errors import CivisAPIError, CivisMCPError
from civis_mcp.arguments import ArgumentError, validate_arguments
from civis_mcp.audit import Decision
from civis_mcp.effects import MAX_QUESTION, Assessment, Guard, quoted
from civis_mcp.execution import error_pointer, error_result, send
from civis_mcp.models.base import RequestModel
from civis_mcp.operations import Operation
from civis_mcp.previews import LiveState
from civis_mcp.sdk_seam import ask_in_call, asks_in_rounds, can_ask_human, input_required, round_answer
from civis_mcp.state import AppState

__all__ = ["CANNOT_CONFIRM", "CAN_CONFIRM", "Confirmation", "run_guarded"]

CAN_CONFIRM = "Claude Code, VS Code (GitHub Copilot agent mode), Cursor and the MCP Inspector"
CANNOT_CONFIRM = "Claude Desktop (today)"
_ANSWER_KEY = "confirm"
_TICKET_KIND = "civis-mcp-confirmation"


class Confirmation(BaseModel):
    """The form the human answers."""

    confirm: bool = Field(title="Go ahead", description="Tick to go ahead. Anything else changes nothing.")


@dataclass(frozen=True)
class _Ticket:
    """What a question's round carries to the next one (sealed by the SDK, so the client can neither read nor forge
    it): a random id, spent once, and the digest of what the human was shown."""

    id: str
    digest: str

    def dump(self, tool: str) -> str:
        return json.dumps({"kind": _TICKET_KIND, "tool": tool, "id": self.id, "digest": self.digest})

    @classmethod
    def load(cls, text: str | None, tool: str) -> _Ticket | None:
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("kind") != _TICKET_KIND or data.get("tool") != tool:
            return None
        ticket_id, digest = data.get("id"), data.get("digest")
        return cls(ticket_id, digest) if isinstance(ticket_id, str) and isinstance(digest, str) else None


class _Refusal(Exception):
    def __init__(self, decision: Decision, reason: str) -> None:
        super().__init__(reason)
        self.decision = decision
        self.reason = reason


def _refused(op: Operation, reason: str) -> str:
    return f"{op.tool_name} was not run: {reason} Nothing was changed."


async def run_guarded(
    op: Operation, guard: Guard, arguments: dict[str, Any], ctx: Context[AppState, Any]
) -> CallToolResult | BaseModel | InputRequiredResult:
    """One call of an operation that has an effect policy; see the module docstring."""
    state = ctx.request_context.lifespan_context
    try:
        params = validate_arguments(op.tool_name, op.params, arguments)
    except ArgumentError as exc:
        state.record(op, arguments, Decision.INVALID_ARGUMENTS, detail=str(exc))
        return error_result(str(exc))
    rounds = asks_in_rounds(ctx)
    ticket: _Ticket | None = None
    answer: object | None = None
    if rounds:
        sealed, answer = round_answer(ctx, _ANSWER_KEY)
        ticket = _Ticket.load(sealed, op.tool_name)
    try:
        if ticket is not None and not await state.confirmations.spend(ticket.id):
            # Spent first, whatever follows: any round that carries a ticket uses it up.
            raise _Refusal(
                Decision.ALREADY_USED,
                "this confirmation was used already; a yes counts for one call. Call the tool again to be asked anew.",
            )
        assessment = await _assess(op, guard, state, params)
        if assessment.nothing_to_do:
            state.record(op, arguments, Decision.NOTHING_TO_DO, detail=assessment.nothing_to_do)
            text = f"{op.tool_name} sent nothing: {assessment.nothing_to_do}"
            if assessment.missing:  # an ID of another kind of import? say which tool fits
                not_found = CivisAPIError(text, status_code=404, error_description=None, operation=op.tool_name)
                text += state.client.redact(await error_pointer(state, op, params, not_found))
            return error_result(text)
        if not assessment.effects:
            return await send(state, op, params, arguments, Decision.NO_EFFECT)
        decision = await _confirm(op, ctx, state, assessment, rounds, ticket, answer)
        if isinstance(decision, InputRequiredResult):
            return decision
        if decision is Decision.CONFIRMED and not rounds:
            # The mid-call answer came after a wait: read the live state again before acting.
            again = await _assess(op, guard, state, params)
            _same_or_refuse(assessment.digest, again)
    except _Refusal as refusal:
        state.record(op, arguments, refusal.decision, detail=refusal.reason)
        return error_result(_refused(op, refusal.reason))
    return await send(state, op, params, arguments, decision)


async def _assess(op: Operation, guard: Guard, state: AppState, params: RequestModel) -> Assessment:
    try:
        return await guard.assess(LiveState(state.client), params)
    except CivisMCPError as exc:
        # The live state cannot be read: assume the worst, and ask with what is known.
        body = json.dumps(params.model_dump(mode="json", exclude_unset=True), ensure_ascii=False)
        return Assessment(
            action=f"call {op.tool_name} ({op.verb} {op.path})",
            effects=guard.effects,
            facts=(
                "civis-mcp could not read the live state, so it cannot say what this call changes and assumes the "
                f"worst: it {guard.rule}",
                f"Reading it failed: {quoted(state.client.redact(str(exc)), 300)}.",
            ),
            quoted=(("arguments", quoted(body, 2_000)),),
        )


def _same_or_refuse(digest: str, now: Assessment) -> None:
    if now.nothing_to_do:
        raise _Refusal(Decision.TARGET_CHANGED, f"the target changed after you confirmed: {now.nothing_to_do}")
    if now.digest != digest:
        raise _Refusal(
            Decision.TARGET_CHANGED,
            "the target changed after the question was shown, so the yes does not cover it. What the call would do "
            f"now:\n{now.question}\nCall the tool again to be asked about that.",
        )


async def _confirm(
    op: Operation,
    ctx: Context[AppState, Any],
    state: AppState,
    assessment: Assessment,
    rounds: bool,
    ticket: _Ticket | None,
    answer: object | None,
) -> Decision | InputRequiredResult:
    """The human's decision on ``assessment``, or the round that asks for it; raises ``_Refusal`` for a no."""
    question = assessment.question
    if len(question) > MAX_QUESTION:
        raise _Refusal(
            Decision.TOO_LONG_TO_CONFIRM,
            f"what it would do takes {len(question)} characters to show, more than a confirmation may ({MAX_QUESTION})"
            ", and civis-mcp shows everything or nothing. Split the call (for example fewer grantees per call, or a "
            "shorter e-mail body).",
        )
    if op.tool_name in state.policy.allow_unconfirmed:
        return Decision.ALLOWED_UNCONFIRMED
    if not can_ask_human(ctx):
        raise _Refusal(
            Decision.NO_ELICITATION,
            f"it {assessment.effects_text()}, so a human must confirm it, and this client cannot ask one (it does not "
            f"support MCP elicitation). Clients that can: {CAN_CONFIRM}; clients that cannot: {CANNOT_CONFIRM}. "
            "Instead: use one of those clients; or run civis-mcp with --read-only; or an operator can allow this "
            f"tool without confirmation with `civis-mcp serve --allow-unconfirmed {op.tool_name} --audit-log FILE` "
            f"(or CIVIS_MCP_ALLOW_UNCONFIRMED={op.tool_name}).",
        )
    if rounds:
        if ticket is None:
            fresh = _Ticket(secrets.token_urlsafe(24), assessment.digest)
            return input_required(_ANSWER_KEY, question, Confirmation, fresh.dump(op.tool_name))
        decision = _judge(answer)
        _same_or_refuse(ticket.digest, assessment)
        return decision
    reply: ElicitResult | None = None
    with anyio.move_on_after(state.policy.confirm_timeout):
        try:
            reply = await ask_in_call(ctx, question, Confirmation)
        except Exception as exc:  # the client failed to ask: that is not a yes
            raise _Refusal(
                Decision.CLIENT_FAILED,
                f"the client could not ask the human (it answered with an error: {quoted(str(exc), 200)}); nobody "
                "declined. Try again, or use another client.",
            ) from None
    if reply is None:
        raise _Refusal(Decision.TIMED_OUT, f"no answer came within {state.policy.confirm_timeout:g} s.")
    return _judge(reply)


def _judge(answer: object | None) -> Decision:
    """Only an accepted answer whose ``confirm`` is the boolean true confirms."""
    if answer is None:
        raise _Refusal(
            Decision.CLIENT_FAILED,
            "the client sent the round back without an answer to the question; nobody declined. Try again.",
        )
    if not isinstance(answer, ElicitResult):
        raise _Refusal(Decision.CLIENT_FAILED, "the client answered the question with something else than a form.")
    if answer.action == "decline":
        raise _Refusal(Decision.DECLINED, "the human declined.")
    if answer.action == "cancel":
        raise _Refusal(Decision.CANCELLED, "the human dismissed the question.")
    content = answer.content or {}
    if "confirm" not in content:
        raise _Refusal(
            Decision.CLIENT_FAILED,
            "the client accepted the question without the box's value (an empty answer); that is not a yes.",
        )
    value = content["confirm"]
    if value is True:
        return Decision.CONFIRMED
    if value is False:
        raise _Refusal(Decision.DECLINED, "the human left the box unticked.")
    raise _Refusal(
        Decision.CLIENT_FAILED,
        f"the answer was {quoted(json.dumps(value), 40)}, not the boolean true of a ticked box; that is not a yes.",
    )
