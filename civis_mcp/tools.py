"""Builds one MCP tool per entry of OPERATIONS: schemas, annotations and the function that runs it.

The SDK's ``Tool`` is built directly rather than from a function signature, because the argument model, the
published input schema and the output schema all come from the operations table: the SDK receives the raw
arguments, and ``arguments.validate_arguments`` checks them with errors that list the valid names.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from civis_mcp.api.client import ApiResult, CivisClient
from civis_mcp.api.errors import CivisMCPError
from civis_mcp.arguments import ArgumentError, validate_arguments
from civis_mcp.operations import OPERATIONS, Operation, Safety
from civis_mcp.results import Acknowledgement, ListResult
from civis_mcp.schema import compact_input, compact_output

__all__ = ["AppState", "annotations_for", "build_tools", "input_schema", "output_model", "output_schema"]

logger = logging.getLogger("civis_mcp.tools")


@dataclass(frozen=True)
class AppState:
    """What the server's lifespan owns and every tool call reaches through its context."""

    client: CivisClient


class _RawArguments(ArgModelBase):
    """Hands the caller's arguments through untouched; ``validate_arguments`` does the real validation."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def annotations_for(op: Operation) -> ToolAnnotations:
    """The annotation rule, written once: hints follow the operation's safety class and idempotency.

    ``openWorldHint`` is false for every tool: each acts only on objects of the one configured Civis account.
    """
    return ToolAnnotations(
        read_only_hint=op.safety_class is Safety.READ,
        destructive_hint=op.safety_class is Safety.DESTRUCTIVE,
        idempotent_hint=op.is_idempotent,
        open_world_hint=False,
    )


def output_model(op: Operation) -> type[BaseModel]:
    if op.response is None:
        return Acknowledgement
    if op.returns_list:
        return ListResult[op.response]  # type: ignore[name-defined]
    return op.response


def input_schema(op: Operation) -> dict[str, Any]:
    schema = compact_input(op.params.model_json_schema())
    schema.pop("description", None)  # the tool's own description says it better
    return schema


def output_schema(op: Operation) -> dict[str, Any]:
    return compact_output(TypeAdapter(output_model(op)).json_schema())


def _shape(op: Operation, result: ApiResult) -> BaseModel:
    """Turn a successful answer into the tool's structured result."""
    if op.response is None:
        return Acknowledgement(status_code=result.status_code, message=f"Done: {op.title[0].lower()}{op.title[1:]}.")
    if op.returns_list:
        items = [op.response.model_validate(item) for item in result.data or []]
        return ListResult[op.response](items=items, pagination=result.pagination)  # type: ignore[name-defined]
    return op.response.model_validate(result.data or {})


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def make_runner(op: Operation) -> Callable[..., Awaitable[BaseModel | CallToolResult]]:
    async def run(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> BaseModel | CallToolResult:
        try:
            params = validate_arguments(op.tool_name, op.params, arguments)
        except ArgumentError as exc:
            return _error(str(exc))
        client = ctx.request_context.lifespan_context.client
        try:
            result = await client.call(op, params)
        except CivisMCPError as exc:
            message = client.redact(str(exc))
            logger.info("%s", message)
            return _error(message)
        try:
            return _shape(op, result)
        except ValidationError as exc:
            fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
            return _error(
                f"{op.tool_name}: Civis answered HTTP {result.status_code}, but the answer does not match the "
                f"documented response (fields: {', '.join(fields)}). The call itself went through."
            )

    run.__name__ = op.tool_name
    return run


def build_tool(op: Operation) -> Tool:
    return Tool(
        fn=make_runner(op),
        name=op.tool_name,
        title=op.title,
        description=op.description,
        parameters=input_schema(op),
        fn_metadata=FuncMetadata(
            arg_model=_RawArguments, output_model=output_model(op), output_schema=output_schema(op)
        ),
        is_async=True,
        context_kwarg="ctx",
        annotations=annotations_for(op),
    )


def build_tools(operations: Iterable[Operation] = OPERATIONS) -> list[Tool]:
    return [build_tool(op) for op in operations]
