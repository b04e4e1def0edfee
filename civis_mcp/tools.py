"""Builds one MCP tool per selected entry of OPERATIONS: schemas, annotations and the function that runs it.

The SDK builds a ``Tool`` from a function; its published input schema and argument model are then replaced by ours
from the operations table: the SDK hands the raw arguments through, and ``arguments.validate_arguments`` checks them
with errors that list the valid names. Destructive operations get the guarded runner of ``guard``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from typing import Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, InputRequiredResult, ToolAnnotations
from mcp_types import Tool as MCPTool
from pydantic import BaseModel, TypeAdapter

from civis_mcp.api.errors import CivisMCPError
from civis_mcp.arguments import ArgumentError, validate_arguments
from civis_mcp.audit import Decision
from civis_mcp.execution import error_result, send
from civis_mcp.guard import run_guarded
from civis_mcp.operations import OPERATIONS, Operation, Safety
from civis_mcp.presenting import explain, present
from civis_mcp.results import Acknowledgement, ListResult, bound
from civis_mcp.schema import compact_input, compact_output
from civis_mcp.sdk_seam import Tool, make_tool
from civis_mcp.state import AppState
from civis_mcp.workflows import WORKFLOWS, Workflow, WorkflowError

__all__ = [
    "annotations_for",
    "build_named_tool",
    "build_tools",
    "listing_of",
    "output_model",
    "run_operation",
]


def annotations_for(op: Operation) -> ToolAnnotations:
    """The annotation rule, written once: hints follow the operation's safety class and idempotency.

    ``openWorldHint`` is false for every tool: each acts only on objects of the one configured Civis account.
    """
    return _hints(op.safety_class, op.is_idempotent)


def _hints(safety: Safety, idempotent: bool) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=safety is Safety.READ,
        destructive_hint=safety is Safety.DESTRUCTIVE,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )


def output_model(op: Operation) -> type[BaseModel]:
    if op.response is None:
        return Acknowledgement
    if op.returns_list:
        return ListResult[op.response]  # type: ignore[name-defined]
    return op.response


def _make_runner(op: Operation) -> Callable[..., Awaitable[BaseModel | CallToolResult | InputRequiredResult]]:
    """The tool function of an operation (``run_operation``, named after the tool)."""

    async def run(
        arguments: dict[str, Any], ctx: Context[AppState, Any]
    ) -> BaseModel | CallToolResult | InputRequiredResult:
        return await run_operation(op, arguments, ctx)

    run.__annotations__ = {"arguments": dict[str, Any], "ctx": Context[AppState, Any], "return": BaseModel}
    run.__name__ = op.tool_name
    return run


async def run_operation(
    op: Operation, arguments: dict[str, Any], ctx: Context[AppState, Any], *, via: str | None = None
) -> BaseModel | CallToolResult | InputRequiredResult:
    """One call of an operation: a read, a write, or (with an effect policy) a guarded call; validation, effect
    policy, confirmation, audit and result shaping included. The typed tool and the gateway's ``imports_call`` (which
    passes ``via``, so that a confirmation asked through one is never taken by the other) both run this."""
    if op.guard is not None:
        return await run_guarded(op, op.guard, arguments, ctx, via=via)
    state = ctx.request_context.lifespan_context
    audited = op.safety_class is Safety.WRITE
    try:
        params = validate_arguments(op.tool_name, op.params, arguments)
    except ArgumentError as exc:
        if audited:
            state.record(op, arguments, Decision.INVALID_ARGUMENTS, detail=str(exc))
        return error_result(str(exc))
    return await send(state, op, params, arguments, Decision.NOT_GUARDED if audited else None)


def build_tool(op: Operation) -> Tool:
    return _tool(
        _make_runner(op), op.tool_name, op.title, op.description, annotations_for(op), op.params, output_model(op)
    )


def _tool(
    fn: Callable[..., Any],
    name: str,
    title: str,
    description: str,
    annotations: ToolAnnotations,
    params: type[BaseModel],
    result: type[BaseModel],
) -> Tool:
    """The one place a tool's published input and output schemas are made (from our models, not its signature)."""
    schema = compact_input(params.model_json_schema())
    schema.pop("description", None)  # the tool's own description says it better
    output = compact_output(TypeAdapter(result).json_schema())
    return make_tool(
        fn,
        name=name,
        title=title,
        description=description,
        annotations=annotations,
        input_schema=schema,
        output_schema=output,
    )


def build_workflow_tool(wf: Workflow) -> Tool:
    """A workflow's tool; its hints follow its safety class (a workflow that only reads is idempotent)."""
    function = wf.tool_function() if wf.tool_function is not None else _workflow_runner(wf)
    hints = _hints(wf.safety, wf.safety is Safety.READ)
    return _tool(function, wf.name, wf.title, wf.description, hints, wf.params, wf.result)


def _workflow_runner(wf: Workflow) -> Callable[..., Awaitable[BaseModel | CallToolResult]]:
    workflow = wf.run
    assert workflow is not None, f"{wf.name} has neither run nor tool_function"

    async def run(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> BaseModel | CallToolResult:
        state = ctx.request_context.lifespan_context
        try:
            params = validate_arguments(wf.name, wf.params, arguments)
        except ArgumentError as exc:
            return error_result(str(exc))

        async def progress(done: float, total: float, message: str) -> None:
            await ctx.report_progress(done, total, message)

        try:
            result = await workflow(state, params, progress)
        except WorkflowError as exc:
            return error_result(f"{wf.name}: {exc}")
        except CivisMCPError as exc:
            return error_result(explain(exc, state.client.redact))
        bounded = bound(result, state.result_budget, lambda _, kept: "Nothing more can be fetched.")
        return present(
            bounded, f"The result of {wf.name} (its strings, such as names, log lines and errors, came from Civis)"
        )

    run.__annotations__ = {"arguments": dict[str, Any], "ctx": Context[AppState, Any], "return": BaseModel}
    run.__name__ = wf.name
    return run


def listing_of(tool: Tool) -> dict[str, Any]:
    """The exact ``tools/list`` entry of a built tool, in wire form."""
    entry = MCPTool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.parameters,
        output_schema=tool.output_schema,
        annotations=tool.annotations,
    )
    return entry.model_dump(mode="json", by_alias=True, exclude_none=True)


@cache
def build_named_tool(name: str) -> Tool:
    """Build one tool from the code, by name (the server builds tools lazily). Built once per process and shared by
    every server in it: a tool is a pure function of its entry (a call's state comes from its context), and building
    one (its argument model, its metadata) costs about 30 ms of CPU."""
    from civis_mcp.gateway import GATEWAY

    for op in OPERATIONS:
        if op.tool_name == name:
            return build_tool(op)
    for wf in (*WORKFLOWS, *GATEWAY):
        if wf.name == name:
            return build_workflow_tool(wf)
    raise KeyError(name)


def build_tools(operations: Iterable[Operation] = OPERATIONS, workflows: Iterable[Workflow] = WORKFLOWS) -> list[Tool]:
    """Every tool: the operations', the workflows' and the gateway's."""
    from civis_mcp.gateway import GATEWAY

    return [build_tool(op) for op in operations] + [build_workflow_tool(wf) for wf in (*workflows, *GATEWAY)]
