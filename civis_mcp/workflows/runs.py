"""Finding a run of any kind of import, and reading its state."""

from __future__ import annotations

from civis_mcp.api.errors import NotFoundError
from civis_mcp.models.common import JobRun
from civis_mcp.state import AppState
from civis_mcp.workflows.kinds import KIND_TOOLS, Kind, read, read_list
from civis_mcp.workflows.models import RunFacts

__all__ = ["WorkflowError", "facts", "find_run", "read_run"]

_PAGES_SEARCHED = 3


class WorkflowError(Exception):
    """A workflow cannot go on; the message says why and what to do."""


def facts(run: JobRun) -> RunFacts:
    """A run (or a batch import, which carries its one run's state itself) as the workflows report it."""
    return RunFacts.model_validate(run.model_dump(include=set(RunFacts.model_fields)))


async def read_run(state: AppState, kind: Kind, import_id: int, run_id: int) -> RunFacts:
    """The current state of one run."""
    tools = KIND_TOOLS[kind]
    if kind is Kind.BATCH:
        # A batch import has no runs: the batch itself carries the state, the timing and the error.
        assert tools.get is not None
        return facts(await read(state.client, tools.get, JobRun, id=import_id))
    if tools.get_run is not None:
        try:
            return facts(await read(state.client, tools.get_run, JobRun, id=import_id, run_id=run_id))
        except NotFoundError:
            raise WorkflowError(f"Run {run_id} of {kind.value} import {import_id} was not found.") from None
    assert tools.list_runs is not None
    for page in range(1, _PAGES_SEARCHED + 1):
        listed = await read_list(state.client, tools.list_runs, JobRun, id=import_id, limit=100, page_num=page)
        for run in listed.items:
            if run.id == run_id:
                return facts(run)
        if listed.answered < 100:
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
    latest: JobRun | None = None
    for page in range(1, _PAGES_SEARCHED + 1):
        listed = await read_list(state.client, list_runs, JobRun, id=import_id, limit=100, page_num=page)
        runs = sorted(listed.items, key=lambda run: run.id or 0, reverse=True)
        if latest is None and runs:
            latest = runs[0]
        if not prefer_failed:
            break
        failed = next((run for run in runs if run.state == "failed"), None)
        if failed is not None:
            return facts(failed), None
        if listed.answered < 100:
            break
    if latest is None:
        raise WorkflowError(f"{kind.value.capitalize()} import {import_id} has no runs yet.")
    note = f"No failed run among its latest runs; this is the latest run ({latest.state})." if prefer_failed else None
    return facts(latest), note
