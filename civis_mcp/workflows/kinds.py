"""The four kinds of import and the tools that read each one's runs and logs.

Import jobs, CSV imports, file imports and batch imports have different endpoints for the same questions ("what is
run 5's state", "show its logs"); each entry of ``OPERATIONS`` says its role for its kind, and ``KIND_TOOLS`` is
derived from them, so the workflows are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from civis_mcp.api.client import ApiResult
from civis_mcp.api.errors import NotFoundError, PermissionDeniedError
from civis_mcp.execution import read_operation
from civis_mcp.operations import Operation, kind_tool
from civis_mcp.state import AppState
from civis_mcp.vocabulary import Kind, Role

__all__ = ["KIND_TOOLS", "Kind", "KindTools", "call", "counterpart", "find_kind", "kind_tools"]


@dataclass(frozen=True)
class KindTools:
    """The tool of each role for one kind of import (None where the kind has none); fields are named after ``Role``."""

    get: str | None
    list_runs: str | None
    get_run: str | None
    logs: str | None
    fix: str | None
    start: str | None
    cancel: str | None
    fix_sync: str | None

    def family(self) -> str:
        """Its tools, for a sentence that says which to use."""
        return ", ".join(dict.fromkeys(tool for tool in vars(self).values() if tool is not None))


def kind_tools(kind: Kind) -> KindTools:
    """The tools of ``kind``, by role, from the operations table."""
    return KindTools(**{field.name: kind_tool(kind, Role(field.name)) for field in fields(KindTools)})


KIND_TOOLS: dict[Kind, KindTools] = {kind: kind_tools(kind) for kind in Kind}


async def call(state: AppState, tool: str, **arguments: Any) -> ApiResult:
    """Run a read operation for a workflow (the same client, retries and errors as the raw tools)."""
    return await read_operation(state.client, tool, **arguments)


async def _exists(state: AppState, kind: Kind, import_id: int) -> Any:
    tools = KIND_TOOLS[kind]
    try:
        if tools.get is not None:
            return (await call(state, tools.get, id=import_id)).data
        assert tools.list_runs is not None
        runs = (await call(state, tools.list_runs, id=import_id, limit=1)).data
        return {"id": import_id} if runs is not None else None
    except (NotFoundError, PermissionDeniedError):
        return None


async def find_kind(state: AppState, import_id: int, kind: Kind | None) -> tuple[Kind, Any] | None:
    """Which kind of import ``import_id`` is (trying the most specific first), and its object; None if none."""
    for candidate in [kind] if kind is not None else [Kind.CSV, Kind.IMPORT, Kind.BATCH, Kind.FILE]:
        found = await _exists(state, candidate, import_id)
        if found is not None:
            return candidate, found
    return None


def counterpart(op: Operation, other: Kind) -> str | None:
    """The tool of kind ``other`` that does what ``op`` does for its own kind (get, list runs, start, ...), if any."""
    return None if op.role is None else kind_tool(other, op.role)
