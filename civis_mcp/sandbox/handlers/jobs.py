"""``GET /jobs``: import jobs and CSV imports as Civis lists jobs of every kind (batch imports are not listed)."""

from __future__ import annotations

from typing import Any

from civis_mcp.jobs import CSV_IMPORT_TYPE, IMPORT_TYPE
from civis_mcp.models.jobs import ListJobsParams
from civis_mcp.sandbox.access import at_least
from civis_mcp.sandbox.handlers.base import Ctx, Reply, paged, sort_by
from civis_mcp.sandbox.handlers.imports import _ids, _names
from civis_mcp.sandbox.store import Job
from civis_mcp.sandbox.views import DEFAULT_SCHEDULE, import_state, job_run_view, user_view

_TYPES = {"import": IMPORT_TYPE, "csv_import": CSV_IMPORT_TYPE}


def _summary(ctx: Ctx, job: Job) -> dict[str, Any]:
    last = ctx.store.last_run(job.id)
    run = job_run_view(last)
    return {
        "id": job.id,
        "name": job.doc.get("name"),
        "type": _TYPES[job.kind],
        "from_template_id": None,
        "state": import_state(last),
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "last_run_updated_at": None if run is None else run["finished_at"] or run["started_at"] or run["created_at"],
        "last_run": run,
        "archived": job.archived,
        "author": user_view(ctx.store, job.owner_id),
        "schedule": {**DEFAULT_SCHEDULE, **(job.doc.get("schedule") or {})},
    }


def _matches_query(summary: dict[str, Any], q: str) -> bool:
    """Civis searches "on the id, name and job type": the ID exactly, the others as case-blind substrings."""
    needle = q.strip().lower()
    return needle == str(summary["id"]) or any(needle in str(summary[key] or "").lower() for key in ("name", "type"))


def list_jobs(ctx: Ctx, p: ListJobsParams) -> Reply:
    states = _names(p.state) if p.state else None
    types = _names(p.type) if p.type else None
    authors = _ids(p.author, "author") if p.author else None
    archived = p.archived or "false"
    rows: list[dict[str, Any]] = []
    for kind in _TYPES:
        for job in ctx.store.list_jobs(kind):  # type: ignore[arg-type]
            level = ctx.level_on(job)
            if level is None or (p.permission and not at_least(level, p.permission)):
                continue
            if job.hidden != bool(p.hidden):
                continue
            if (archived == "false" and job.archived) or (archived == "true" and not job.archived):
                continue
            if authors is not None and job.owner_id not in authors:
                continue
            summary = _summary(ctx, job)
            if types is not None and summary["type"] not in types:
                continue
            if states is not None and summary["state"] not in states:
                continue
            if p.scheduled is not None and bool(summary["schedule"].get("scheduled")) != p.scheduled:
                continue
            if p.q and not _matches_query(summary, p.q):
                continue
            rows.append(summary)

    def key(row: dict[str, Any]) -> Any:
        if p.order == "last_run_updated_at":
            return (row["last_run_updated_at"] or "", row["id"])
        return (row["updated_at"] or "", row["id"])

    return paged(sort_by(rows, key, p.order_dir), limit=p.limit or 50, page_num=p.page_num)
