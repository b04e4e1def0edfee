"""What every tool call shares: the server state it reaches, the upstream call, result shaping and audit lines."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ValidationError

from civis_mcp.api.client import ApiResult, CivisClient
from civis_mcp.api.errors import CivisMCPError
from civis_mcp.audit import AuditLog, Decision
from civis_mcp.models.base import RequestModel
from civis_mcp.operations import Operation
from civis_mcp.results import Acknowledgement, ListResult

__all__ = ["AppState", "GuardPolicy", "error_result", "send"]

logger = logging.getLogger("civis_mcp.tools")


@dataclass(frozen=True, kw_only=True)
class GuardPolicy:
    """How destructive calls are confirmed; see ``guard``."""

    allow_unconfirmed: frozenset[str] = frozenset()
    """Tools an operator allowed to run without a human's yes (never a default)."""
    confirm_timeout: float = 300.0
    """Seconds to wait for the human's answer before refusing."""


@dataclass(frozen=True, kw_only=True)
class AppState:
    """What the server's lifespan owns and every tool call reaches through its context."""

    client: CivisClient
    policy: GuardPolicy = field(default_factory=GuardPolicy)
    audit: AuditLog | None = None

    def record(
        self,
        op: Operation,
        arguments: dict[str, Any],
        decision: Decision,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        if self.audit is not None:
            self.audit.record(op.tool_name, arguments, decision, status, detail)


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
    """Send the one upstream request of a tool call; audit it when ``decision`` says the call writes."""
    try:
        result = await state.client.call(op, params)
    except CivisMCPError as exc:
        message = state.client.redact(str(exc))
        logger.info("%s", message)
        if decision is not None:
            status = getattr(exc, "status_code", None)
            state.record(op, arguments, decision, status, message)
        return error_result(message)
    if decision is not None:
        state.record(op, arguments, decision, result.status_code)
    try:
        return shape(op, result)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        return error_result(
            f"{op.tool_name}: Civis answered HTTP {result.status_code}, but the answer does not match the "
            f"documented response (fields: {', '.join(fields)}). The call itself went through."
        )
