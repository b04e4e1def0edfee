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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ElicitResult, InputRequiredResult, TextContent
from pydantic import BaseModel, Field

from civis_mcp.api.errors import CivisMCPError, NotFoundError, PermissionDeniedError
from civis_mcp.arguments import ArgumentError, validate_arguments
from civis_mcp.audit import Decision
from civis_mcp.clients import CONFIRMING_CLIENTS, NON_CONFIRMING_CLIENTS
from civis_mcp.confirmations import ConfirmationUnavailable
from civis_mcp.effects import LEVELS, MAX_QUESTION, Assessment, Guard, quoted
from civis_mcp.execution import error_pointer, error_result, send
from civis_mcp.models.base import RequestModel
from civis_mcp.operations import OPERATIONS_BY_TOOL, Operation
from civis_mcp.presenting import explain
from civis_mcp.previews import LiveState
from civis_mcp.sdk_seam import ask_in_call, asks_in_rounds, can_ask_human, input_required, round_answers
from civis_mcp.state import AppState
from civis_mcp.untrusted import fence

__all__ = [
    "CANNOT_CONFIRM",
    "CAN_CONFIRM",
    "Confirmation",
    "Refusal",
    "Round",
    "carry_only",
    "confirm_effect",
    "current_round",
    "run_guarded",
    "spend_ticket",
    "ticket_route",
]

# One list of who can confirm, shared with the README's client matrix and `civis-mcp doctor`.
CAN_CONFIRM = ", ".join(CONFIRMING_CLIENTS)
CANNOT_CONFIRM = f"{', '.join(NON_CONFIRMING_CLIENTS)} (today)"
_ANSWER_KEY = "confirm"
_TICKET_KIND = "civis-mcp-confirmation"


class Confirmation(BaseModel):
    """The form the human answers."""

    confirm: bool = Field(title="Go ahead", description="Tick to go ahead. Anything else changes nothing.")


@dataclass(frozen=True)
class _Ticket:
    """What a question's round carries to the next one (sealed by the SDK, so the client can neither read nor forge
    it): a random id, spent once, the digest of what the human was shown, and what the tool carries along."""

    id: str
    digest: str
    carry: dict[str, Any]

    def dump(self, tool: str) -> str:
        return json.dumps(
            {"kind": _TICKET_KIND, "tool": tool, "id": self.id, "digest": self.digest, "carry": self.carry}
        )


@dataclass(frozen=True)
class Round:
    """This call's place in the 2026-07-28 multi-round flow: what the previous round left (verified by the SDK),
    and the client's answers to it. On older protocols every call is a single round."""

    in_rounds: bool
    ticket: _Ticket | None = None
    carry: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, object] = field(default_factory=dict)


def current_round(ctx: Context[AppState, Any], tool: str) -> Round:
    if not asks_in_rounds(ctx):
        return Round(in_rounds=False)
    sealed, answers = round_answers(ctx)
    try:
        data = json.loads(sealed) if sealed else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("kind") != _TICKET_KIND or data.get("tool") != tool:
        return Round(in_rounds=True, answers=answers)
    found = data.get("carry")
    carry: dict[str, Any] = found if isinstance(found, dict) else {}
    ticket_id, digest = data.get("id"), data.get("digest")
    ticket = _Ticket(ticket_id, digest, carry) if isinstance(ticket_id, str) and isinstance(digest, str) else None
    return Round(in_rounds=True, ticket=ticket, carry=carry, answers=answers)


def ticket_route(tool: str, via: str | None) -> str:
    """What a question's ticket is bound to: the tool called, and the operation when it came through the gateway."""
    return tool if via is None else f"{via}:{tool}"


def carry_only(tool: str, carry: dict[str, Any]) -> str:
    """Round state that carries values to the next round without a question (e.g. the client's roots)."""
    return json.dumps({"kind": _TICKET_KIND, "tool": tool, "carry": carry})


class Refusal(Exception):
    """A guarded call ends here: nothing is sent. ``reason`` says why and what to do instead."""

    def __init__(self, decision: Decision, reason: str) -> None:
        super().__init__(reason)
        self.decision = decision
        self.reason = reason


def _live(state: AppState) -> LiveState:
    """A fresh reader of the live state (it remembers the caller's levels it saw, so one per assessment)."""
    return LiveState(state.client, OPERATIONS_BY_TOOL)


def _refused(op: Operation, reason: str) -> str:
    return f"{op.tool_name} was not run: {reason} Nothing was changed."


async def run_guarded(
    op: Operation, guard: Guard, arguments: dict[str, Any], ctx: Context[AppState, Any], *, via: str | None = None
) -> CallToolResult | BaseModel | InputRequiredResult:
    """One call of an operation that has an effect policy; see the module docstring. ``via`` names the tool the call
    came through when it is not the operation's own (the gateway's ``imports_call``): the question's ticket is bound
    to that route, so a round asked through one tool is never answered through the other."""
    state = ctx.request_context.lifespan_context
    try:
        params = validate_arguments(op.tool_name, op.params, arguments)
    except ArgumentError as exc:
        state.record(op, arguments, Decision.INVALID_ARGUMENTS, detail=str(exc))
        return error_result(str(exc))
    route = ticket_route(op.tool_name, via)
    rnd = current_round(ctx, route)
    try:
        await spend_ticket(state, rnd)
        live = _live(state)
        with state.client.tool_call_budget():  # the reads before the question share one deadline
            assessment = await _assess(op, guard, state, params, live)
        if assessment.nothing_to_do:
            state.record(op, arguments, Decision.NOTHING_TO_DO, detail=assessment.nothing_to_do)
            text = f"{op.tool_name} sent nothing: {assessment.nothing_to_do}"
            if assessment.missing:  # an ID of another kind of import? say which tool fits
                not_found = NotFoundError(text, status_code=404, error_description=None, operation=op.tool_name)
                text += state.client.redact(await error_pointer(state, op, params, not_found))
            return error_result(text)
        if not assessment.effects:
            with state.client.tool_call_budget():
                return await send(state, op, params, arguments, Decision.NO_EFFECT)
        await _refuse_if_not_permitted(op, guard, state, params, live)

        async def reassess() -> Assessment:
            with state.client.tool_call_budget():  # a fresh budget: the human's time to answer is not in it
                return await _assess(op, guard, state, params, _live(state))

        decision = await confirm_effect(op.tool_name, assessment, ctx, rnd, reassess, route=route)
        if isinstance(decision, InputRequiredResult):
            return decision
    except Refusal as refusal:
        state.record(op, arguments, refusal.decision, detail=refusal.reason)
        return error_result(_refused(op, refusal.reason))
    with state.client.tool_call_budget():
        result = await send(state, op, params, arguments, decision)
    if guard.after is not None and isinstance(result, CallToolResult) and not result.is_error:
        await _report_after(guard, state, params, result)
    return result


async def _report_after(guard: Guard, state: AppState, params: RequestModel, result: CallToolResult) -> None:
    """Add the state the write left to its result, so the answer shows where things stand (best effort: the write
    went through whatever this read says)."""
    assert guard.after is not None
    try:
        with state.client.tool_call_budget():
            now = await guard.after(_live(state), params)
    except CivisMCPError as exc:
        now = f"The state after the change could not be read back ({explain(exc, state.client.redact)})."
    result.content.append(TextContent(type="text", text=fence(state.client.redact(now), "The state it left")))


async def spend_ticket(state: AppState, rnd: Round) -> None:
    """Spend the ticket this round carries, first, whatever follows: any round that carries one uses it up."""
    if rnd.ticket is None:
        return
    try:
        fresh = await state.confirmations.spend(rnd.ticket.id)
    except ConfirmationUnavailable as exc:  # hosted replicas: the shared store cannot vouch for the ticket
        raise Refusal(Decision.CONFIRMATION_UNAVAILABLE, str(exc)) from None
    if not fresh:
        raise Refusal(
            Decision.ALREADY_USED,
            "this confirmation was used already; a yes counts for one call. Call the tool again to be asked anew.",
        )


async def _refuse_if_not_permitted(
    op: Operation, guard: Guard, state: AppState, params: RequestModel, live: LiveState
) -> None:
    """A call the caller's own level cannot make is refused before a human is asked to approve it."""
    import_id = getattr(params, "id", None)
    level = live.levels.get(import_id) if isinstance(import_id, int) else None
    if level is None or level not in LEVELS or LEVELS[level] >= LEVELS[guard.needs]:
        return
    denied = PermissionDeniedError("", status_code=403, error_description=None, operation=op.tool_name)
    who = state.client.redact(await error_pointer(state, op, params, denied))
    raise Refusal(
        Decision.NOT_PERMITTED,
        f"you have {level} access to import #{import_id}, and this needs {guard.needs} access, so Civis would refuse "
        f"it; nobody was asked to approve it.{who or ' Ask the import owner to share it with you at that level.'}",
    )


async def _assess(op: Operation, guard: Guard, state: AppState, params: RequestModel, live: LiveState) -> Assessment:
    try:
        return await guard.assess(live, params)
    except CivisMCPError as exc:
        # The live state cannot be read: assume the worst, and ask with what is known.
        body = json.dumps(params.model_dump(mode="json", exclude_unset=True), ensure_ascii=False)
        return Assessment(
            action=f"call {op.tool_name} ({op.verb} {op.path})",
            effects=guard.effects,
            facts=(
                "civis-mcp could not read the live state, so it cannot say what this call changes and assumes the "
                f"worst: it {guard.rule}",
                f"Reading it failed: {quoted(explain(exc, state.client.redact), 300)}.",
            ),
            quoted=(("arguments", quoted(body, 2_000)),),
        )


def _same_or_refuse(digest: str, now: Assessment) -> None:
    if now.nothing_to_do:
        raise Refusal(Decision.TARGET_CHANGED, f"the target changed after you confirmed: {now.nothing_to_do}")
    if now.digest != digest:
        raise Refusal(
            Decision.TARGET_CHANGED,
            "the target changed after the question was shown, so the yes does not cover it. What the call would do "
            f"now:\n{now.question}\nCall the tool again to be asked about that.",
        )


async def confirm_effect(
    tool: str,
    assessment: Assessment,
    ctx: Context[AppState, Any],
    rnd: Round,
    reassess: Callable[[], Awaitable[Assessment]],
    *,
    carry: dict[str, Any] | None = None,
    instead: str = "",
    route: str | None = None,
) -> Decision | InputRequiredResult:
    """The human's yes to ``assessment`` (or the operator's allowance), or the round that asks for it.

    Raises ``Refusal`` for anything else. After a mid-call yes, ``reassess`` reads the live state again and the call
    goes ahead only if it still shows what the human saw; in rounds, the answering round's own assessment is that
    re-check. ``carry`` rides the sealed state to the answering round; ``instead`` is tool-specific advice for a
    client that cannot ask; ``route`` is what the question's ticket is bound to (``tool`` unless given).
    """
    state = ctx.request_context.lifespan_context
    question = assessment.question
    if len(question) > MAX_QUESTION:
        raise Refusal(
            Decision.TOO_LONG_TO_CONFIRM,
            f"what it would do takes {len(question)} characters to show, more than a confirmation may ({MAX_QUESTION})"
            ", and civis-mcp shows everything or nothing. Split the call (for example fewer grantees per call, or a "
            "shorter e-mail body).",
        )
    if tool in state.policy.allow_unconfirmed:
        return Decision.ALLOWED_UNCONFIRMED
    if not can_ask_human(ctx):
        raise Refusal(
            Decision.NO_ELICITATION,
            f"it {assessment.effects_text()}, so a human must confirm it, and this client cannot ask one (it does not "
            f"support MCP elicitation). Clients that can: {CAN_CONFIRM}; clients that cannot: {CANNOT_CONFIRM}. "
            f"Instead: {instead}use one of those clients; or run civis-mcp with --read-only; or an operator can allow "
            f"this tool without confirmation with `civis-mcp serve --allow-unconfirmed {tool} --audit-log FILE` "
            f"(or CIVIS_MCP_ALLOW_UNCONFIRMED={tool}).",
        )
    if rnd.in_rounds:
        if rnd.ticket is None:
            fresh = _Ticket(secrets.token_urlsafe(24), assessment.digest, carry or {})
            return input_required(_ANSWER_KEY, question, Confirmation, fresh.dump(route or tool))
        decision = _judge(rnd.answers.get(_ANSWER_KEY))
        _same_or_refuse(rnd.ticket.digest, assessment)
        return decision
    reply: ElicitResult | None = None
    with anyio.move_on_after(state.policy.confirm_timeout):
        try:
            reply = await ask_in_call(ctx, question, Confirmation)
        except Exception as exc:  # the client failed to ask: that is not a yes
            raise Refusal(
                Decision.CLIENT_FAILED,
                f"the client could not ask the human (it answered with an error: {quoted(str(exc), 200)}); nobody "
                "declined. Try again, or use another client.",
            ) from None
    if reply is None:
        raise Refusal(Decision.TIMED_OUT, f"no answer came within {state.policy.confirm_timeout:g} s.")
    decision = _judge(reply)
    # The answer came after a wait: read the live state again before acting.
    _same_or_refuse(assessment.digest, await reassess())
    return decision


def _judge(answer: object | None) -> Decision:
    """Only an accepted answer whose ``confirm`` is the boolean true confirms."""
    if answer is None:
        raise Refusal(
            Decision.CLIENT_FAILED,
            "the client sent the round back without an answer to the question; nobody declined. Try again.",
        )
    if not isinstance(answer, ElicitResult):
        raise Refusal(Decision.CLIENT_FAILED, "the client answered the question with something else than a form.")
    if answer.action == "decline":
        raise Refusal(Decision.DECLINED, "the human declined.")
    if answer.action == "cancel":
        raise Refusal(Decision.CANCELLED, "the human dismissed the question.")
    content = answer.content or {}
    if "confirm" not in content:
        raise Refusal(
            Decision.CLIENT_FAILED,
            "the client accepted the question without the box's value (an empty answer); that is not a yes.",
        )
    value = content["confirm"]
    if value is True:
        return Decision.CONFIRMED
    if value is False:
        raise Refusal(Decision.DECLINED, "the human left the box unticked.")
    raise Refusal(
        Decision.CLIENT_FAILED,
        f"the answer was {quoted(json.dumps(value), 40)}, not the boolean true of a ticked box; that is not a yes.",
    )
