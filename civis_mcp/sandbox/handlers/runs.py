"""Runs of import jobs, file imports and CSV imports: start, list, get, cancel, logs, inputs.

File imports are import jobs (AutoImport with one file sync, as in Civis), so ``/imports/files/{id}/runs`` and
``/imports/{id}/runs`` see the same runs of the same job.

Logs: with ``last_id`` the lines after it come oldest first (sorted by ID); without it the newest ``limit`` lines come
newest first (sorted by creation time), as the spec describes ("Logs are sorted by ID if this value is provided, and
are otherwise sorted by createdAt") and as Civis answers. Log answers carry Civis's ``civis-max-id`` header (the
run's highest log ID) and ``civis-cache-control`` ("no-store" while the run can still log), which
``civis.utils.job_logs`` relies on.
"""

from __future__ import annotations

import copy
from typing import Any

from civis_mcp import models as m
from civis_mcp.sandbox.errors import not_found
from civis_mcp.sandbox.handlers.base import Ctx, Reply, paged, sort_by
from civis_mcp.sandbox.runs import cancel_run
from civis_mcp.sandbox.store import Job, JobKind, Run
from civis_mcp.sandbox.views import import_inputs_view, run_view

IMPORT: tuple[JobKind, ...] = ("import",)
CSV: tuple[JobKind, ...] = ("csv_import",)
DEFAULT_LOG_LIMIT = 10_000


def _start(ctx: Ctx, job: Job) -> Run:
    inputs = copy.deepcopy(job.doc) if job.kind == "csv_import" else import_inputs_view(ctx.store, job)
    run = ctx.store.create_run(job.id, inputs=inputs)
    ctx.clock.start(run.id)
    return run


def _run_of(ctx: Ctx, job: Job, run_id: int) -> Run:
    run = ctx.store.get_run(run_id)
    if run is None or run.job_id != job.id:
        kind = "CSV import" if job.kind == "csv_import" else "import"
        raise not_found(f"Run {run_id} of {kind} {job.id}")
    return run


def _list(ctx: Ctx, job: Job, p: m.ListRunsParams) -> Reply:
    runs = sort_by(ctx.store.list_runs(job.id), lambda run: run.id, p.order_dir)
    return paged([run_view(run) for run in runs], limit=p.limit, page_num=p.page_num)


def _logs(ctx: Ctx, run: Run, p: m.RunLogsParams) -> Reply:
    lines = ctx.store.list_logs(run.id, last_id=p.last_id, limit=p.limit or DEFAULT_LOG_LIMIT)
    headers = {"civis-cache-control": "max-age=31536000" if run.finished else "no-store"}
    top = ctx.store.max_log_id(run.id)
    if top is not None:
        headers["civis-max-id"] = str(top)
    body = [
        {"id": line.id, "created_at": line.created_at, "message": line.message, "level": line.level} for line in lines
    ]
    return Reply(200, body, headers)


def _cancel(ctx: Ctx, run: Run) -> Run:
    return cancel_run(ctx.store, run, ctx.caller_name, in_engine=ctx.clock.in_engine(run.id))


def _cancelled(run: Run) -> dict[str, Any]:
    return {"id": run.id, "state": run.state, "is_cancel_requested": run.is_cancel_requested}


# --- import jobs ------------------------------------------------------------------------------------------------------


def start_import_run(ctx: Ctx, p: m.ImportIdParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "write")
    return Reply(202, {"run_id": _start(ctx, job).id})


def list_import_runs(ctx: Ctx, p: m.ListRunsParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "read")
    return _list(ctx, job, p)


def cancel_import_run(ctx: Ctx, p: m.ImportIdParams) -> Reply:
    """Cancel the job's active run; with none active, report the last run unchanged (state succeeded/failed/...)."""
    job, _ = ctx.job(p.id, IMPORT, "write")
    runs = ctx.store.list_runs(job.id)
    if not runs:
        raise not_found(f"A run of import job {job.id} to cancel (it has never run)")
    active = [run for run in runs if not run.finished]
    run = _cancel(ctx, active[-1]) if active else runs[-1]
    return Reply(202, _cancelled(run))


def import_run_logs(ctx: Ctx, p: m.RunLogsParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "read")
    return _logs(ctx, _run_of(ctx, job, p.run_id), p)


# --- file imports -----------------------------------------------------------------------------------------------------


def start_file_import_run(ctx: Ctx, p: m.ImportIdParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "write", "File import")
    return Reply(202, run_view(_start(ctx, job)))


def list_file_import_runs(ctx: Ctx, p: m.ListRunsParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "read", "File import")
    return _list(ctx, job, p)


def get_file_import_run(ctx: Ctx, p: m.RunIdParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "read", "File import")
    return Reply(200, run_view(_run_of(ctx, job, p.run_id)))


def cancel_file_import_run(ctx: Ctx, p: m.RunIdParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "write", "File import")
    _cancel(ctx, _run_of(ctx, job, p.run_id))
    return Reply(202)


def file_import_run_logs(ctx: Ctx, p: m.RunLogsParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "read", "File import")
    return _logs(ctx, _run_of(ctx, job, p.run_id), p)


def file_import_run_inputs(ctx: Ctx, p: m.RunIdParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "read", "File import")
    run = _run_of(ctx, job, p.run_id)
    return Reply(200, run.inputs if run.inputs is not None else import_inputs_view(ctx.store, job))


# --- CSV imports ------------------------------------------------------------------------------------------------------


def start_csv_run(ctx: Ctx, p: m.ImportIdParams) -> Reply:
    job, _ = ctx.job(p.id, CSV, "write")
    return Reply(202, run_view(_start(ctx, job)))


def list_csv_runs(ctx: Ctx, p: m.ListRunsParams) -> Reply:
    job, _ = ctx.job(p.id, CSV, "read")
    return _list(ctx, job, p)


def get_csv_run(ctx: Ctx, p: m.RunIdParams) -> Reply:
    job, _ = ctx.job(p.id, CSV, "read")
    return Reply(200, run_view(_run_of(ctx, job, p.run_id)))


def cancel_csv_run(ctx: Ctx, p: m.RunIdParams) -> Reply:
    job, _ = ctx.job(p.id, CSV, "write")
    _cancel(ctx, _run_of(ctx, job, p.run_id))
    return Reply(202)


def csv_run_logs(ctx: Ctx, p: m.RunLogsParams) -> Reply:
    job, _ = ctx.job(p.id, CSV, "read")
    return _logs(ctx, _run_of(ctx, job, p.run_id), p)


def csv_run_inputs(ctx: Ctx, p: m.RunIdParams) -> Reply:
    job, _ = ctx.job(p.id, CSV, "read")
    run = _run_of(ctx, job, p.run_id)
    return Reply(200, run.inputs if run.inputs is not None else job.doc)
