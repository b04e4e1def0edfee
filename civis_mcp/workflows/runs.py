"""Finding a run of any kind of import, and reading its state."""

from __future__ import annotations

from typing import Any

from civis_mcp.api.errors import NotFoundError
from civis_mcp.state import AppState
from civis_mcp.workflows.kinds import KIND_TOOLS, Kind, call
from civis_mcp.workflows.models import RunFacts

__all__ = ["WorkflowError", "facts", "find_run", "read_run"]
_PAGES_SEARCHED = 3


class WorkflowError(Exception):
    """A workflow cannot go on; the message says why and what to do."""


def facts(run: Any) -> RunFacts:
    run = run if isinstance(run, dict) else {}
    return RunFacts(
        id=run.get("id"),
        state=run.get("state"),
        created_at=run.get("created_at"),
        started_at=run.get("started_at"),
        finished_at=run.get("finished_at"),
        error=run.get("error"),
    )


async def read_run(state: AppState, kind: Kind, import_id: int, run_id: int) -> RunFacts:
    """The current state of one run."""
    tools = KIND_TOOLS[kind]
    if kind is Kind.BATCH:
        # A batch import has no runs: the batch itself carries the state, the timing and the error.
        return facts((await call(state, "imports_get_batches", id=import_id)).data)
    if tools.get_run is not None:
        try:
            return facts((await call(state, tools.get_run, id=import_id, run_id=run_id)).data)
        except NotFoundError:
            raise WorkflowError(f"Run {run_id} of {kind.value} import {import_id} was not found.") from None
    assert tools.list_runs is not None
    for page in range(1, _PAGES_SEARCHED + 1):
        runs = (await call(state, tools.list_runs, id=import_id, limit=100, page_num=page)).data or []
        for run in runs:
            if isinstance(run, dict) and run.get("id") == run_id:
                return facts(run)
        if len(runs) < 100:
            break
    raise WorkflowError(f"Run {run_id} is not among the latest runs of import {import_id}.")


async def find_run(
    state: AppState, kind: Kind, import_id: int, run_id: int | None, prefer_failed: bool
) -> tuple[RunFacts, str | None]:
    """The run asked for, else the latest failed one (``prefer_failed``) or the latest; and a note on the choice."""
    if kind is Kind.BATCH:
        return await read_run(state, kind, import_id, import_id), None
    if run_id is not None:
        return await read_run(state, kind, import_id, run_id), None
    list_runs = KIND_TOOLS[kind].list_runs
    assert list_runs is not None
    latest: dict[str, Any] | None = None
    for page in range(1, _PAGES_SEARCHED + 1):
        runs = [
            r
            for r in (await call(state, list_runs, id=import_id, limit=100, page_num=page)).data or []
            if isinstance(r, dict)
        ]
        runs.sort(key=lambda r: r.get("id") or 0, reverse=True)
        if latest is None and runs:
            latest = runs[0]
        if not prefer_failed:
            break
        failed = next((r for r in runs if r.get("state") == "failed"), None)
        if failed is not None:
            return facts(failed), None
        if len(runs) < 100:
            break
    if latest is None:
        raise WorkflowError(f"{kind.value.capitalize()} import {import_id} has no runs yet.")
    note = (
        f"No failed run among its latest runs; this is the latest run ({latest.get('state')})."
        if prefer_failed
        else None
    )
    return facts(latest), note
