"""The gateway of the compact profile: every operation reachable through three tools instead of 46.

* ``imports_find_operation(query)``: the operations that match some words, best first;
* ``imports_describe_operation(operation)``: one operation's exact typed input schema (the typed tool's own, from
  the catalog), its safety and whether it asks a human first;
* ``imports_call(operation, arguments)``: runs it through ``tools.run_operation``, the very code its typed tool runs:
  the same validation, effect policy, confirmation, audit and result shaping. Its confirmations are bound to the
  gateway (``guard.ticket_route``): a question asked through ``imports_call`` is never answered through the typed
  tool, nor the other way round.

Everything is derived from ``OPERATIONS`` and the catalog; which operations are reachable is decided by the same
bounds as the typed tools (``catalog.within_bounds``: --tools, --toolsets, read-only), narrowed per request.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import BaseModel, ConfigDict, Field

from civis_mcp.arguments import ArgumentError, validate_arguments
from civis_mcp.audit import Decision
from civis_mcp.catalog import CatalogEntry, load_catalog, within_bounds
from civis_mcp.config import Settings
from civis_mcp.execution import error_result, present
from civis_mcp.models.base import RequestModel
from civis_mcp.operations import OPERATIONS_BY_TOOL, Operation, Safety, Toolset
from civis_mcp.profiles import PROFILE_HEADER, narrow
from civis_mcp.results import bound
from civis_mcp.sdk_seam import request_header
from civis_mcp.state import AppState
from civis_mcp.workflows import Workflow

__all__ = ["CALL", "GATEWAY", "effective_settings", "reachable_operations"]

CALL = "imports_call"
_FOUND_AT_MOST = 12
"""Operations one search returns; an empty query returns the names and titles of all of them."""


class FindOperationParams(RequestModel):
    query: str | None = Field(default=None, description="Words, e.g. 'cancel csv run'; none: all")


class DescribeOperationParams(RequestModel):
    operation: str = Field(description="Operation name, e.g. imports_get")


class CallParams(RequestModel):
    operation: str = Field(description="Operation name")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Its arguments")


SafetyName = Literal["read", "write", "destructive"]


class OperationSummary(BaseModel):
    operation: str
    title: str
    safety: SafetyName
    description: str


class FoundOperations(BaseModel):
    operations: list[OperationSummary]
    matched: int = Field(description="Operations that matched, before the limit.")


class OperationDescription(BaseModel):
    operation: str
    title: str
    description: str
    safety: SafetyName
    asks_confirmation: bool = Field(description="A human confirms its effects first (unless the operator allowed it).")
    verb: str
    path: str
    input_schema: dict[str, Any] = Field(description="The exact input schema of its typed tool.")


class CallResult(BaseModel):
    """What the operation's own tool returns; its output schema is the operation's (see describe)."""

    model_config = ConfigDict(extra="allow")


def effective_settings(ctx: Context[AppState, Any]) -> Settings:
    """The operator's settings narrowed by this request's profile (HTTP only; see ``profiles``)."""
    state = ctx.request_context.lifespan_context
    return narrow(state.settings, request_header(ctx.request_context, PROFILE_HEADER))


def reachable_operations(settings: Settings) -> list[CatalogEntry]:
    """The operations the gateway reaches under ``settings``: the operator's bounds, as for the typed tools."""
    return [entry for entry in load_catalog() if entry.kind == "operation" and within_bounds(entry, settings)]


_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return {word.removesuffix("s") for word in _WORD.findall(text.lower())}


def _score(query: set[str], op: Operation) -> int:
    """Name words count three, title words two, description and path words one; every query word must match."""
    weighted = ((_words(op.tool_name), 3), (_words(op.title), 2), (_words(f"{op.description} {op.path}"), 1))
    total = 0
    for word in query:
        best = max((weight for words, weight in weighted if word in words), default=0)
        if best == 0:
            return 0
        total += best
    return total


def _summary(op: Operation) -> OperationSummary:
    return OperationSummary(
        operation=op.tool_name, title=op.title, safety=op.safety_class.value, description=op.description
    )


def _unknown(name: str, reachable: list[CatalogEntry]) -> str:
    names = [entry.name for entry in reachable]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"{name!r} is not an operation this server offers.{hint} imports_find_operation lists them."


def _reach(ctx: Context[AppState, Any], name: str) -> tuple[Operation | None, str]:
    """The operation named ``name`` if this request may run it, else why not (a refusal naming what to do)."""
    settings = effective_settings(ctx)
    reachable = reachable_operations(settings)
    if any(entry.name == name for entry in reachable):
        return OPERATIONS_BY_TOOL[name], ""
    if name in OPERATIONS_BY_TOOL:
        from civis_mcp.catalog import not_offered_reason

        reason = not_offered_reason(name, settings) or "it is outside this server's bounds"
        return None, f"{name} is not offered by this server: {reason}. Nothing was sent."
    return None, _unknown(name, reachable)


def _respond(ctx: Context[AppState, Any], result: BaseModel, what: str) -> CallToolResult:
    state = ctx.request_context.lifespan_context
    return present(bound(result, state.result_budget, lambda _, kept: "Ask for fewer with limit."), what)


Runner = Callable[[dict[str, Any], Context[AppState, Any]], Awaitable[Any]]


def _tool(name: str, run: Runner) -> Callable[[], Runner]:
    """A tool function, named ``name``, with the signature ``tools`` hands raw arguments to."""

    def build() -> Runner:
        async def tool(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> Any:
            return await run(arguments, ctx)

        tool.__annotations__ = {"arguments": dict[str, Any], "ctx": Context[AppState, Any], "return": BaseModel}
        tool.__name__ = name
        return tool

    return build


async def _find(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> CallToolResult:
    name = "imports_find_operation"
    try:
        params = validate_arguments(name, FindOperationParams, arguments)
    except ArgumentError as exc:
        return error_result(str(exc))
    assert isinstance(params, FindOperationParams)
    query = _words(params.query or "")
    ops = [OPERATIONS_BY_TOOL[entry.name] for entry in reachable_operations(effective_settings(ctx))]
    scored = sorted(
        ((_score(query, op) if query else 1, op) for op in ops), key=lambda pair: (-pair[0], pair[1].tool_name)
    )
    matched = [op for score, op in scored if score > 0]
    found = FoundOperations(operations=[_summary(op) for op in matched[:_FOUND_AT_MOST]], matched=len(matched))
    return _respond(ctx, found, "The operations that match")


async def _describe(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> CallToolResult:
    name = "imports_describe_operation"
    try:
        params = validate_arguments(name, DescribeOperationParams, arguments)
    except ArgumentError as exc:
        return error_result(str(exc))
    assert isinstance(params, DescribeOperationParams)
    op, refusal = _reach(ctx, params.operation)
    if op is None:
        return error_result(f"{name}: {refusal}")
    listing = next(entry.listing for entry in load_catalog() if entry.name == op.tool_name)
    described = OperationDescription(
        operation=op.tool_name,
        title=op.title,
        description=op.description,
        safety=op.safety_class.value,
        asks_confirmation=op.guard is not None,
        verb=op.verb,
        path=op.path,
        input_schema=listing["inputSchema"],
    )
    return _respond(ctx, described, "The operation's description")


async def _call(
    arguments: dict[str, Any], ctx: Context[AppState, Any]
) -> CallToolResult | BaseModel | InputRequiredResult:
    from civis_mcp.tools import run_operation  # tools builds the gateway's tools, so it is imported when called

    try:
        params = validate_arguments(CALL, CallParams, arguments)
    except ArgumentError as exc:
        return error_result(str(exc))
    assert isinstance(params, CallParams)
    op, refusal = _reach(ctx, params.operation)
    if op is None:
        state = ctx.request_context.lifespan_context
        if state.audit is not None and params.operation in OPERATIONS_BY_TOOL:
            state.audit.record(params.operation, params.arguments, Decision.NOT_OFFERED, detail=refusal)
        return error_result(refusal if params.operation in OPERATIONS_BY_TOOL else f"{CALL}: {refusal}")
    return await run_operation(op, params.arguments, ctx, via=CALL)


GATEWAY: tuple[Workflow, ...] = (
    Workflow(
        "imports_find_operation",
        "Find a Civis imports operation",
        "Find operations by words; then describe and call one.",
        FindOperationParams,
        FoundOperations,
        None,
        toolset=Toolset.IMPORTS,
        tool_function=_tool("imports_find_operation", _find),
    ),
    Workflow(
        "imports_describe_operation",
        "Describe an operation",
        "Give an operation's typed arguments.",
        DescribeOperationParams,
        OperationDescription,
        None,
        toolset=Toolset.IMPORTS,
        tool_function=_tool("imports_describe_operation", _describe),
    ),
    Workflow(
        CALL,
        "Call an operation",
        "Run an operation as its typed tool would.",
        CallParams,
        CallResult,
        None,
        toolset=Toolset.IMPORTS,
        safety=Safety.DESTRUCTIVE,
        tool_function=_tool(CALL, _call),
    ),
)
