"""Workflow tools: what people ask an assistant about imports, one call each, with answers that fit in context.

Each entry says its tool name, title, description, argument model, result model and the coroutine that runs it.
``tools.build_workflow_tool`` turns an entry into an MCP tool. Most are read-only and in the ``runs`` toolset;
``imports_load_file`` writes (and can truncate or drop a table, after the human says yes), reads a local file, and so
is never offered over HTTP (``local_files``). It builds its own tool function (``tool_function``), because it asks the
client for its roots and, for truncate or drop, the human for a yes, before its body runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from civis_mcp.models.base import RequestModel
from civis_mcp.operations import Safety, Toolset
from civis_mcp.workflows.diagnose import diagnose
from civis_mcp.workflows.find import find_imports
from civis_mcp.workflows.load_file import make_load_file_tool
from civis_mcp.workflows.load_models import LoadFileParams, LoadResult
from civis_mcp.workflows.models import (
    DiagnoseParams,
    Diagnosis,
    FindParams,
    FindResult,
    TailParams,
    TailResult,
    WaitParams,
    WaitResult,
)
from civis_mcp.workflows.runs import WorkflowError
from civis_mcp.workflows.tail import tail_logs
from civis_mcp.workflows.wait import wait_for_run

__all__ = ["WORKFLOWS", "Workflow", "WorkflowError"]


@dataclass(frozen=True)
class Workflow:
    name: str
    title: str
    description: str
    params: type[RequestModel]
    result: type[BaseModel]
    run: Callable[..., Awaitable[BaseModel]] | None
    """``run(state, params, progress)``; None when ``tool_function`` builds the whole tool function."""
    toolset: Toolset = Toolset.RUNS
    safety: Safety = Safety.READ
    """The worst effect a call can have; annotations, read-only mode and ``--allow-unconfirmed`` follow it."""
    local_files: bool = False
    """Reads files on the server's own disk: never offered over HTTP."""
    tool_function: Callable[[], Callable[..., Awaitable[Any]]] | None = None
    """Builds the tool function itself (with its resolver steps), instead of the shared one around ``run``."""


async def _diagnose(state: Any, params: Any, progress: Any) -> BaseModel:
    return await diagnose(state, params)


async def _tail(state: Any, params: Any, progress: Any) -> BaseModel:
    return await tail_logs(state, params)


async def _find(state: Any, params: Any, progress: Any) -> BaseModel:
    return await find_imports(state, params)


WORKFLOWS: tuple[Workflow, ...] = (
    Workflow(
        "imports_find",
        "Find imports of every kind",
        "Find imports of any kind by last-run state, name, schedule or author; each with its last run.",
        FindParams,
        FindResult,
        _find,
    ),
    Workflow(
        "imports_diagnose_run",
        "Diagnose a failed import run",
        "Explain why a run failed: cause, log evidence, settings and the call that fixes it.",
        DiagnoseParams,
        Diagnosis,
        _diagnose,
    ),
    Workflow(
        "imports_wait_for_run",
        "Wait for an import run to end",
        "Wait for a run to end, with progress; returns its final state.",
        WaitParams,
        WaitResult,
        wait_for_run,
    ),
    Workflow(
        "imports_tail_logs",
        "Tail an import run's log",
        "Read a run's last log lines, or those after a cursor, optionally by level.",
        TailParams,
        TailResult,
        _tail,
    ),
    Workflow(
        "imports_load_file",
        "Load a local CSV file into a table",
        "Load a workspace CSV into a table; answers with row counts or the diagnosis.",
        LoadFileParams,
        LoadResult,
        None,
        toolset=Toolset.FILES,
        safety=Safety.DESTRUCTIVE,
        local_files=True,
        tool_function=make_load_file_tool,
    ),
)
