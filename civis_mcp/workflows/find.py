"""``imports_find``: imports of every kind in one list, through Civis's ``GET /jobs``.

The Imports API lists import jobs (``imports_list``) and batch imports (``imports_list_batches``) but has no list of
CSV imports; ``GET /jobs`` lists them all, filtered by type, last-run state, name, schedule and author. This workflow
asks it for the job types of imports only (``civis_mcp.jobs``), adds batch imports from their own list, and says
for each item its kind, its last run (state, time, a one-line error), its schedule and next run; the tools of each
kind come once, beside the list. ``identify`` is the same look-up for one ID, for the wrong-kind hint of
``civis_mcp.execution``.
"""

from __future__ import annotations

from typing import Any

import anyio
from pydantic import ValidationError

from civis_mcp.api.client import CivisClient
from civis_mcp.api.errors import CivisMCPError
from civis_mcp.jobs import IMPORT_JOB_TYPES, LIST_JOBS
from civis_mcp.models.common import JobRun
from civis_mcp.models.files import BatchImportSummary
from civis_mcp.models.imports import Import
from civis_mcp.models.jobs import JobSummary, ListJobsParams
from civis_mcp.state import AppState
from civis_mcp.untrusted import one_line
from civis_mcp.workflows.kinds import KIND_TOOLS, Kind, read, read_list
from civis_mcp.workflows.models import FindParams, FindResult, FoundImport, FoundRun

__all__ = ["find_imports", "identify"]

MAX_ERROR = 200
_BATCH_PAGE = 50


def _types(kind: str | None) -> list[str]:
    return [job_type for job_type, of in IMPORT_JOB_TYPES.items() if kind is None or of == kind]


async def _list_jobs(client: CivisClient, **arguments: Any) -> tuple[list[JobSummary], int | None]:
    """The jobs of one page of ``GET /jobs`` that have an ID (a job without one cannot be named), and the number of
    pages. An item that does not match the documented summary is left out, as the typed reads do."""
    result = await client.call(LIST_JOBS, ListJobsParams.model_validate(arguments))
    jobs: list[JobSummary] = []
    for row in result.data if isinstance(result.data, list) else []:
        try:
            job = JobSummary.model_validate(row)
        except ValidationError:
            continue
        if job.id is not None:
            jobs.append(job)
    return jobs, result.pagination.total_pages if result.pagination else None


def _run(run: JobRun | BatchImportSummary | None) -> FoundRun | None:
    if run is None or run.id is None:
        return None
    return FoundRun(
        id=run.id,
        state=run.state,
        # A batch's summary documents no created_at; one Civis adds is kept as an extra field.
        at=run.finished_at or run.started_at or getattr(run, "created_at", None),
        error=one_line(run.error, MAX_ERROR) if run.error else None,
    )


def _from_job(job: JobSummary) -> FoundImport:
    assert job.id is not None
    return FoundImport(
        id=job.id,
        name=job.name,
        kind=IMPORT_JOB_TYPES.get(str(job.type), Kind.IMPORT),
        last_run=_run(job.last_run),
        scheduled=bool(job.schedule and job.schedule.scheduled),
        author=job.author.name if job.author else None,
    )


def _from_batch(batch: BatchImportSummary) -> FoundImport:
    assert batch.id is not None
    return FoundImport(
        id=batch.id,
        name=f"{batch.schema}.{batch.table}",
        kind=Kind.BATCH,
        # A batch import runs once: the batch itself carries the state, timing and error of that run.
        last_run=_run(batch) if batch.state not in (None, "idle") else None,
    )


async def _batches(state: AppState, params: FindParams) -> list[FoundImport]:
    """Batch imports matching the filters they can match (they have neither schedule nor author)."""
    if params.kind not in (None, "batch") or params.scheduled or params.author is not None or params.page_num > 1:
        return []
    batches = (await read_list(state.client, "imports_list_batches", BatchImportSummary, limit=_BATCH_PAGE)).items
    found = [_from_batch(batch) for batch in batches if batch.id is not None]
    if params.hidden:
        hidden = await read_list(
            state.client, "imports_list_batches", BatchImportSummary, limit=_BATCH_PAGE, hidden=True
        )
        found += [
            _from_batch(batch).model_copy(update={"hidden": True}) for batch in hidden.items if batch.id is not None
        ]
    if params.state:
        found = [item for item in found if item.last_run is not None and item.last_run.state in params.state]
    if params.q:
        needle = params.q.strip().lower()
        found = [item for item in found if needle == str(item.id) or needle in (item.name or "").lower()]
    return found


async def _add_next_runs(state: AppState, items: list[FoundImport]) -> None:
    """``GET /jobs`` says whether a job is scheduled, not when it runs next: read that from each scheduled import
    job (concurrently; a read that fails leaves ``next_run_at`` empty)."""

    async def fill(item: FoundImport) -> None:
        try:
            job = await read(state.client, "imports_get", Import, id=item.id)
        except CivisMCPError:
            return
        item.next_run_at = job.next_run_at

    async with anyio.create_task_group() as group:
        for item in items:
            if item.scheduled and item.kind is Kind.IMPORT:
                group.start_soon(fill, item)


async def find_imports(state: AppState, params: FindParams) -> FindResult:
    items: list[FoundImport] = []
    next_page: int | None = None
    if params.kind != "batch":
        arguments: dict[str, Any] = {
            "type": ",".join(_types(params.kind)),
            "limit": params.limit,
            "page_num": params.page_num,
            "order": "last_run_updated_at" if params.order == "last_run" else "updated_at",
            "order_dir": "desc",
        }
        if params.state:
            arguments["state"] = ",".join(params.state)
        if params.q:
            arguments["q"] = params.q
        if params.scheduled is not None:
            arguments["scheduled"] = params.scheduled
        if params.author is not None:
            arguments["author"] = str(params.author)
        jobs, pages = await _list_jobs(state.client, **arguments)
        items = [_from_job(job) for job in jobs]
        next_page = params.page_num + 1 if pages is not None and pages > params.page_num else None
        if params.hidden and params.page_num == 1:
            # Hidden imports (every file import is) are listed only when asked for: one more look, first page only.
            hidden_jobs, _ = await _list_jobs(state.client, **{**arguments, "hidden": True})
            items += [_from_job(job).model_copy(update={"hidden": True}) for job in hidden_jobs]
    items += await _batches(state, params)
    if params.order == "last_run":  # the lists came apart (visible, hidden, batches): one order for all
        items.sort(key=lambda item: (item.last_run.at or "") if item.last_run else "", reverse=True)
    await _add_next_runs(state, items)
    kinds = sorted({item.kind for item in items})
    return FindResult(
        items=items,
        tools={kind.value: KIND_TOOLS[kind].family() for kind in kinds},
        next_page=next_page,
        note=_note(params, items),
    )


def _note(params: FindParams, items: list[FoundImport]) -> str | None:
    if not items:
        what = f" whose last run is {' or '.join(params.state)}" if params.state else ""
        return (
            f"No import of any kind{what} matches these filters among those this user can see (import jobs, CSV "
            "imports and batch imports were searched)."
        )
    if any(item.last_run is not None and item.last_run.state == "failed" for item in items):
        return "imports_diagnose_run(import_id=...) explains a failed run and gives the call that fixes it."
    return None


async def identify(client: CivisClient, import_id: int) -> tuple[Kind, str | None] | None:
    """What kind of import ``import_id`` is (and its name), from one ``GET /jobs`` search; None when it is not an
    import job or CSV import this user can see."""
    jobs, _ = await _list_jobs(client, q=str(import_id), type=",".join(_types(None)), limit=50)
    for job in jobs:
        if job.id == import_id:
            kind = IMPORT_JOB_TYPES.get(str(job.type))
            return (kind, job.name) if kind else None
    return None
