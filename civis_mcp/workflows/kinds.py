"""The four kinds of import and the operations that read each one's runs and logs.

Import jobs, CSV imports, file imports and batch imports have different endpoints for the same questions ("what is
run 5's state", "show its logs"); this table says which tool answers each, so the workflows are written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from civis_mcp.api.client import ApiResult
from civis_mcp.api.errors import CivisAPIError
from civis_mcp.execution import read_operation
from civis_mcp.state import AppState

__all__ = ["KIND_TOOLS", "Kind", "KindTools", "call", "counterpart", "find_kind", "kind_of_path"]


class Kind(StrEnum):
    IMPORT = "import"  # an import job: Dbsync, AutoImport, GdocImport
    CSV = "csv"
    FILE = "file"
    BATCH = "batch"


@dataclass(frozen=True)
class KindTools:
    get: str | None
    list_runs: str | None
    get_run: str | None
    logs: str | None
    fix: str | None
    """The tool that changes the import's settings."""
    start: str | None
    """The tool that starts a run."""
    cancel: str | None = None
    """The tool that cancels a run."""
    fix_sync: str | None = None
    """The tool that changes one sync's settings (import jobs and file imports, whose settings live on syncs)."""

    def family(self) -> str:
        """Its tools, for a sentence that says which to use."""
        return ", ".join(dict.fromkeys(tool for tool in vars(self).values() if tool is not None))


KIND_TOOLS: dict[Kind, KindTools] = {
    Kind.CSV: KindTools(
        "imports_get_files_csv",
        "imports_list_files_csv_runs",
        "imports_get_files_csv_runs",
        "imports_list_files_csv_runs_logs",
        "imports_patch_files_csv",
        "imports_post_files_csv_runs",
        "imports_delete_files_csv_runs",
    ),
    Kind.IMPORT: KindTools(
        "imports_get",
        "imports_list_runs",
        None,
        "imports_list_runs_logs",
        "imports_patch",
        "imports_post_runs",
        "imports_post_cancel",
        "imports_patch_syncs",
    ),
    Kind.FILE: KindTools(
        None,
        "imports_list_files_runs",
        "imports_get_files_runs",
        "imports_list_files_runs_logs",
        None,
        "imports_post_files_runs",
        "imports_delete_files_runs",
        "imports_patch_syncs",
    ),
    Kind.BATCH: KindTools("imports_get_batches", None, None, None, None, None),
}


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
    except CivisAPIError as exc:
        if exc.status_code in (404, 403):
            return None
        raise


async def find_kind(state: AppState, import_id: int, kind: Kind | None) -> tuple[Kind, Any] | None:
    """Which kind of import ``import_id`` is (trying the most specific first), and its object; None if none."""
    for candidate in [kind] if kind is not None else [Kind.CSV, Kind.IMPORT, Kind.BATCH, Kind.FILE]:
        found = await _exists(state, candidate, import_id)
        if found is not None:
            return candidate, found
    return None


def kind_of_path(path: str) -> Kind | None:
    """The kind of import an operation's path serves, or None when it serves several (shares, projects, ...)."""
    if path.startswith("/imports/files/csv/{id}"):
        return Kind.CSV
    if path.startswith("/imports/files/{id}"):
        return Kind.FILE
    if path.startswith("/imports/batches/{id}"):
        return Kind.BATCH
    shared = ("/shares", "/dependencies", "/transfer", "/projects")
    if path.startswith("/imports/{id}") and not any(part in path for part in shared):
        return Kind.IMPORT
    return None


def counterpart(tool: str, kind: Kind, other: Kind) -> str | None:
    """The tool of kind ``other`` that does what ``tool`` does for ``kind`` (get, list runs, start, ...), if any."""
    mine, theirs = vars(KIND_TOOLS[kind]), vars(KIND_TOOLS[other])
    role = next((name for name, value in mine.items() if value == tool), None)
    return None if role is None else theirs.get(role)
