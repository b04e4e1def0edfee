"""Response documents (snake_case) built from the stored state; ``wire.shape`` then turns them into camelCase JSON.

Each function returns every field the corresponding response model has, or leaves it out to be sent as null. Stored
documents keep only what was set; defaults are filled in here, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from civis_mcp.sandbox.access import Level
from civis_mcp.sandbox.demo_files import DEMO_FILES
from civis_mcp.sandbox.store import Job, Run, Store, SyncRecord, format_time, now

__all__ = [
    "DEFAULT_NOTIFICATIONS",
    "DEFAULT_SCHEDULE",
    "DEFAULT_TIME_ZONE",
    "JOB_TYPE",
    "batch_view",
    "csv_import_view",
    "file_name",
    "import_inputs_view",
    "import_state",
    "import_view",
    "job_run_view",
    "next_run_at",
    "project_view",
    "run_view",
    "sync_view",
    "user_view",
]

JOB_TYPE = "JobTypes::Import"
DEFAULT_TIME_ZONE = "America/Chicago"
DEFAULT_SCHEDULE: dict[str, Any] = {
    "scheduled": False,
    "scheduled_days": [],
    "scheduled_hours": [],
    "scheduled_minutes": [],
    "scheduled_days_of_month": [],
}
DEFAULT_NOTIFICATIONS: dict[str, Any] = {
    "urls": [],
    "success_email_subject": None,
    "success_email_body": None,
    "success_email_addresses": [],
    "success_email_from_name": None,
    "success_email_reply_to": None,
    "failure_email_addresses": [],
    "stall_warning_minutes": None,
    "success_on": True,
    "failure_on": True,
}


def user_view(store: Store, user_id: int | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    user = store.get_entry("user", user_id)
    if user is None:
        return {"id": user_id, "name": None, "username": None, "initials": None, "online": False}
    return {key: user.get(key) for key in ("id", "name", "username", "initials", "online")}


def file_name(store: Store, file_id: int) -> str | None:
    stored = store.get_file(file_id)
    if stored is not None:
        return stored.name
    demo = DEMO_FILES.get(file_id)
    return None if demo is None else demo.name


# --- import jobs ------------------------------------------------------------------------------------------------------


def _data_source(store: Store, source: dict[str, Any] | None) -> dict[str, Any] | None:
    if source is None:
        return None
    host_id = source.get("remote_host_id")
    host = store.get_entry("remote_host", host_id) if isinstance(host_id, int) else None
    return {
        "remote_host_id": host_id,
        "credential_id": source.get("credential_id"),
        "additional_credentials": source.get("additional_credentials") or [],
        "name": None if host is None else host.get("name"),
    }


def _table_path(table: dict[str, Any] | None) -> str | None:
    if not table:
        return None
    return f"{table.get('schema')}.{table.get('table')}"


def _sheet_path(sheet: dict[str, Any] | None) -> str | None:
    if not sheet:
        return None
    return f"{sheet.get('spreadsheet')}.{sheet.get('worksheet')}"


def sync_view(store: Store, sync: SyncRecord, *, legacy: bool = True) -> dict[str, Any]:
    """A sync as ImportSyncLegacy (with ``path``), or as ImportSync when ``legacy`` is False."""
    source: dict[str, Any] = dict(sync.doc.get("source") or {})
    destination: dict[str, Any] = dict(sync.doc.get("destination") or {})
    file_ref = source.get("file")
    file_id = file_ref.get("id") if isinstance(file_ref, dict) else None
    source_view: dict[str, Any] = {
        "id": file_id,
        "database_table": source.get("database_table"),
        "file": None if file_id is None else {"id": file_id, "name": file_name(store, file_id)},
        "google_worksheet": source.get("google_worksheet"),
    }
    destination_view: dict[str, Any] = {
        "database_table": destination.get("database_table"),
        "google_worksheet": destination.get("google_worksheet"),
    }
    if legacy:
        source_view["path"] = (
            _table_path(source.get("database_table"))
            or _sheet_path(source.get("google_worksheet"))
            or (None if file_id is None else file_name(store, file_id))
        )
        destination_view["path"] = _table_path(destination.get("database_table")) or _sheet_path(
            destination.get("google_worksheet")
        )
    return {
        "id": sync.id,
        "source": source_view,
        "destination": destination_view,
        "advanced_options": dict(sync.doc.get("advanced_options") or {}),
    }


def job_run_view(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "state": run.state,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error,
    }


def import_state(last: Run | None) -> str:
    """An import job's state: its last run's, or "idle" when it has never run."""
    return "idle" if last is None else last.state


def next_run_at(doc: dict[str, Any], moment: datetime | None = None) -> str | None:
    """The next time the schedule fires, in the job's time zone (None when not scheduled)."""
    schedule = doc.get("schedule") or {}
    if not schedule.get("scheduled"):
        return None
    explicit = doc.get("next_run_at")
    if explicit:
        return str(explicit)
    try:
        zone = ZoneInfo(str(doc.get("time_zone") or DEFAULT_TIME_ZONE))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = (moment or now()).astimezone(zone)
    hours = sorted(schedule.get("scheduled_hours") or [0])
    minutes = sorted(schedule.get("scheduled_minutes") or [0])
    days = set(schedule.get("scheduled_days") or [])
    days_of_month = set(schedule.get("scheduled_days_of_month") or [])
    for offset in range(0, 63):
        day = (local + timedelta(days=offset)).date()
        weekday = (day.weekday() + 1) % 7  # Civis counts 0 = Sunday
        if days and weekday not in days:
            continue
        if days_of_month and day.day not in days_of_month:
            continue
        for hour in hours:
            for minute in minutes:
                candidate = datetime(day.year, day.month, day.day, hour % 24, minute % 60, tzinfo=zone)
                if candidate > local:
                    return format_time(candidate)
    return None


def import_view(store: Store, job: Job, level: Level | None) -> dict[str, Any]:
    """An import job as Import (and, by dropping keys, ImportSummary)."""
    doc = job.doc
    last = store.last_run(job.id)
    return {
        "id": job.id,
        "name": doc.get("name"),
        "source": _data_source(store, doc.get("source")),
        "destination": _data_source(store, doc.get("destination")),
        "sync_type": doc.get("sync_type"),
        "parent_id": doc.get("parent_id"),
        "is_outbound": bool(doc.get("is_outbound")),
        "job_type": JOB_TYPE,
        "syncs": [sync_view(store, sync) for sync in store.list_syncs(job.id)],
        "state": import_state(last),
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "last_run": job_run_view(last),
        "user": user_view(store, job.owner_id),
        "running_as": user_view(store, doc.get("running_as_id") or job.owner_id),
        "schedule": {**DEFAULT_SCHEDULE, **(doc.get("schedule") or {})},
        "next_run_at": next_run_at(doc),
        "notifications": {**DEFAULT_NOTIFICATIONS, **(doc.get("notifications") or {})},
        "time_zone": doc.get("time_zone") or DEFAULT_TIME_ZONE,
        "hidden": job.hidden,
        "archived": job.archived,
        "my_permission_level": level,
    }


def import_inputs_view(store: Store, job: Job) -> dict[str, Any]:
    """What a run of an import job (or file import) is started with: ImportRunInputs."""
    view = import_view(store, job, None)
    keys = (
        "name",
        "source",
        "destination",
        "sync_type",
        "parent_id",
        "is_outbound",
        "schedule",
        "next_run_at",
        "notifications",
        "time_zone",
        "hidden",
    )
    return {key: view[key] for key in keys}


# --- CSV imports, runs, batches, projects -----------------------------------------------------------------------------


def csv_import_view(job: Job, level: Level | None) -> dict[str, Any]:
    return {**job.doc, "id": job.id, "hidden": job.hidden, "my_permission_level": level}


def run_view(run: Run) -> dict[str, Any]:
    """A run as ImportRunSummary, ImportRun or CsvImportRun (each model keeps the keys it knows)."""
    return {
        "id": run.id,
        "import_id": run.job_id,
        "csv_import_id": run.job_id,
        "state": run.state,
        "is_cancel_requested": run.is_cancel_requested,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error,
    }


def batch_view(job: Job, run: Run | None) -> dict[str, Any]:
    doc = job.doc
    return {
        "id": job.id,
        "schema": doc.get("schema"),
        "table": doc.get("table"),
        "remote_host_id": doc.get("remote_host_id"),
        "state": "idle" if run is None else run.state,
        "started_at": None if run is None else run.started_at,
        "finished_at": None if run is None else run.finished_at,
        "error": None if run is None else run.error,
        "hidden": job.hidden,
    }


def project_view(store: Store, project: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": project["id"],
        "author": user_view(store, project.get("author_id")),
        "name": project.get("name"),
        "description": project.get("description"),
        "users": [user_view(store, user_id) for user_id in project.get("user_ids", [])],
        "auto_share": bool(project.get("auto_share")),
        "created_at": project.get("created_at"),
        "updated_at": project.get("updated_at"),
        "archived": bool(project.get("archived")),
    }
