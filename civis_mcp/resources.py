"""MCP resources: an import, a CSV import, a batch import and a run's log, for clients that attach resources.

Every resource text came from Civis, so it is sanitised and fenced like tool results. Logs are the last lines of the
run (bounded); ``imports_tail_logs`` reads further.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError

from civis_mcp.api.errors import CivisMCPError
from civis_mcp.presenting import explain
from civis_mcp.state import AppState
from civis_mcp.untrusted import fence, one_line

__all__ = ["LOG_LINES", "register_resources"]

LOG_LINES = 200


# The workflow modules load the operations table and every model, so they are imported on the first read, not at
# start-up.


async def _object(ctx: Context[AppState, Any], tool: str, import_id: int, what: str) -> str:
    from civis_mcp.execution import read_operation

    state = ctx.request_context.lifespan_context
    try:
        data = (await read_operation(state.client, tool, id=import_id)).data
    except CivisMCPError as exc:
        raise ResourceError(explain(exc, state.client.redact)) from None
    return fence(json.dumps(data, ensure_ascii=False, indent=1), what)


async def _log(ctx: Context[AppState, Any], kind: str, import_id: int, run_id: int) -> str:
    from civis_mcp.workflows.kinds import KIND_TOOLS, Kind
    from civis_mcp.workflows.logs import tail

    state = ctx.request_context.lifespan_context
    tool = KIND_TOOLS[Kind(kind)].logs
    assert tool is not None
    try:
        window = await tail(state, tool, import_id, run_id, LOG_LINES)
    except CivisMCPError as exc:
        raise ResourceError(explain(exc, state.client.redact)) from None
    text = "\n".join(
        f"{line.id} {line.created_at or ''} [{line.level or '?'}] {one_line(line.message, 1000)}"
        for line in window.lines
    )
    head = "" if window.complete else f"(the last {len(window.lines)} lines; imports_tail_logs reads more)\n"
    return fence(head + text, f"The log of run {run_id}")


def register_resources(server: MCPServer) -> None:
    @server.resource(
        "civis://imports/{import_id}",
        name="import",
        title="Import job",
        description="An import job's configuration (JSON).",
        mime_type="text/plain",
    )
    async def import_job(import_id: int, ctx: Context[AppState, Any]) -> str:
        return await _object(ctx, "imports_get", import_id, f"Import job {import_id}")

    @server.resource(
        "civis://csv-imports/{import_id}",
        name="csv-import",
        title="CSV import",
        description="A CSV import's configuration (JSON).",
        mime_type="text/plain",
    )
    async def csv_import(import_id: int, ctx: Context[AppState, Any]) -> str:
        return await _object(ctx, "imports_get_files_csv", import_id, f"CSV import {import_id}")

    @server.resource(
        "civis://batch-imports/{import_id}",
        name="batch-import",
        title="Batch import",
        description="A batch import's state (JSON).",
        mime_type="text/plain",
    )
    async def batch_import(import_id: int, ctx: Context[AppState, Any]) -> str:
        return await _object(ctx, "imports_get_batches", import_id, f"Batch import {import_id}")

    @server.resource(
        "civis://imports/{import_id}/runs/{run_id}/logs",
        name="import-run-log",
        title="Import job run log",
        description="The last lines of an import job run's log.",
        mime_type="text/plain",
    )
    async def import_log(import_id: int, run_id: int, ctx: Context[AppState, Any]) -> str:
        return await _log(ctx, "import", import_id, run_id)

    @server.resource(
        "civis://csv-imports/{import_id}/runs/{run_id}/logs",
        name="csv-import-run-log",
        title="CSV import run log",
        description="The last lines of a CSV import run's log.",
        mime_type="text/plain",
    )
    async def csv_log(import_id: int, run_id: int, ctx: Context[AppState, Any]) -> str:
        return await _log(ctx, "csv", import_id, run_id)

    @server.resource(
        "civis://file-imports/{import_id}/runs/{run_id}/logs",
        name="file-import-run-log",
        title="File import run log",
        description="The last lines of a file import run's log.",
        mime_type="text/plain",
    )
    async def file_log(import_id: int, run_id: int, ctx: Context[AppState, Any]) -> str:
        return await _log(ctx, "file", import_id, run_id)
