"""What every tool call shares: the server state it reaches, the upstream call, result shaping and audit lines."""

from __future__ import annotations

import logging
from typing import Any

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ValidationError

from civis_mcp.api.client import ApiResult, CivisClient, Pagination
from civis_mcp.api.errors import CivisAPIError, CivisMCPError
from civis_mcp.audit import Decision, Phase
from civis_mcp.models.base import RequestModel
from civis_mcp.operations import OPERATIONS_BY_TOOL, Operation
from civis_mcp.presenting import explain, present
from civis_mcp.results import Acknowledgement, ListResult, MoreHint, bound, bound_items
from civis_mcp.state import AppState
from civis_mcp.untrusted import fence_inline

__all__ = ["error_pointer", "error_result", "present", "read_operation", "send"]

logger = logging.getLogger("civis_mcp.tools")


async def read_operation(client: CivisClient, tool: str, **arguments: Any) -> ApiResult:
    """Run a read operation by tool name, for previews and workflows: anything but a GET is refused, so what only
    looks can never change anything."""
    op = OPERATIONS_BY_TOOL[tool]
    if op.verb != "GET":
        raise AssertionError(f"{tool} is a {op.verb}; only reads may run here")
    return await client.call(op, op.params.model_validate(arguments))


def error_result(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def shape(op: Operation, result: ApiResult) -> BaseModel:
    """Turn a successful answer into the tool's structured result."""
    if op.response is None:
        return Acknowledgement(status_code=result.status_code, message=f"Done: {op.title[0].lower()}{op.title[1:]}.")
    if op.returns_list:
        items = [op.response.model_validate(item) for item in result.data or []]
        return ListResult[op.response](items=items, pagination=result.pagination)  # type: ignore[name-defined]
    return op.response.model_validate(result.data or {})


async def send(
    state: AppState, op: Operation, params: RequestModel, arguments: dict[str, Any], decision: Decision | None
) -> BaseModel | CallToolResult:
    """Send the one upstream request of a tool call. When ``decision`` says the call writes, an audit intent line
    goes first (with ``--audit-required``, a write whose intent cannot be recorded is not sent) and an outcome line
    after."""
    if decision is not None and not state.record(op, arguments, decision, phase=Phase.INTENT):
        state.record(op, arguments, Decision.AUDIT_FAILED, detail="the intent line could not be written")
        return error_result(
            f"{op.tool_name} was not run: the audit log is required (--audit-required) and its intent line could not "
            "be written. Nothing was changed. Ask the operator to fix the audit log's path or permissions."
        )
    try:
        result = await state.client.call(op, params)
    except CivisMCPError as exc:
        message = explain(exc, state.client.redact)
        if isinstance(exc, CivisAPIError):
            message += state.client.redact(await error_pointer(state, op, params, exc))
        logger.info("%s", message)
        if decision is not None:
            status = getattr(exc, "status_code", None)
            state.record(op, arguments, decision, status, message, phase=Phase.OUTCOME)
        return error_result(message)
    hint = more_hint(op, params)
    try:
        if op.returns_list and op.response is not None:  # item by item, up to the budget (results.bound_items)
            bounded = bound_items(op.response, result.data or [], result.pagination, state.result_budget, hint)
        else:
            bounded = bound(shape(op, result), state.result_budget, hint)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        message = (
            f"{op.tool_name}: Civis answered HTTP {result.status_code}, but the answer does not match the "
            # Field paths can hold Civis's own keys (a column name under column_overrides): fenced as its words.
            f"documented response (fields: {fence_inline(', '.join(fields))}). The call itself went through."
        )
        if decision is not None:
            state.record(op, arguments, Decision.MALFORMED_ANSWER, result.status_code, message, phase=Phase.OUTCOME)
        return error_result(message)
    if decision is not None:
        state.record(op, arguments, decision, result.status_code, phase=Phase.OUTCOME)
    # Every string came through CivisClient._decode, sanitised (or shown to need no sanitising): fenced as it is.
    return present(bounded, clean=True)


async def error_pointer(state: AppState, op: Operation, params: RequestModel, exc: CivisAPIError) -> str:
    """Which tool fits an ID of another kind, or who can grant a refused permission (one extra read)."""
    # Imported here: the workflows read through this module, so importing them at the top would be circular.
    from civis_mcp.workflows.pointers import pointer_for

    return await pointer_for(state.client, op, params, exc)


def more_hint(op: Operation, params: RequestModel) -> MoreHint:
    """How a caller gets the items a cut list leaves out: the cursor or the page to ask for next."""

    def hint(result: ListResult[Any], kept: int) -> str:
        if kept == 0:
            return f"Not even one item fits the result budget; raise CIVIS_MCP_RESULT_BUDGET to read {op.tool_name}."
        omitted = len(result.items) - kept
        if op.path.endswith("/logs"):
            if getattr(params, "last_id", None) is None:
                # Without a cursor Civis answers newest first: the lines left out are the oldest ones answered, and
                # a cursor just below the oldest answered id returns exactly them (oldest first).
                oldest = min(getattr(item, "id", 0) or 0 for item in result.items)
                return (
                    f"These are the newest lines. Call {op.tool_name} with last_id={oldest - 1} and "
                    f"limit={omitted} for the {omitted} older lines left out."
                )
            last = getattr(result.items[kept - 1], "id", None)
            return f"Call {op.tool_name} again with last_id={last} to read the lines after the last one shown."
        if op.paginated:
            pagination = result.pagination or Pagination()
            page, per_page = pagination.page or 1, pagination.per_page or len(result.items)
            offset = (page - 1) * per_page + kept
            # The largest page size that fits the budget and has a page starting right after the last item shown.
            size = next(d for d in range(kept, 0, -1) if offset % d == 0)
            return f"Call {op.tool_name} with limit={size} and page_num={offset // size + 1} to read on from here."
        return f"{op.tool_name} does not page, so the {omitted} items left out cannot be fetched."

    return hint
