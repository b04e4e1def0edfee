"""Import jobs (Dbsync, AutoImport, GdocImport, GdocExport) and their syncs."""

from __future__ import annotations

import copy
from typing import Any

from civis_mcp import models as m
from civis_mcp.sandbox.errors import ApiError, not_found, unprocessable
from civis_mcp.sandbox.handlers.base import Ctx, Reply, paged, sort_by
from civis_mcp.sandbox.store import Job, JobKind, SyncRecord
from civis_mcp.sandbox.views import (
    DEFAULT_NOTIFICATIONS,
    DEFAULT_SCHEDULE,
    DEFAULT_TIME_ZONE,
    import_state,
    import_view,
    sync_view,
)

IMPORT: tuple[JobKind, ...] = ("import",)


def _ids(text: str, name: str) -> set[int]:
    try:
        return {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise ApiError(400, f"{name}: expected comma-separated IDs, got {text!r}.") from None


def _names(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}


def list_imports(ctx: Ctx, p: m.ListImportsParams) -> Reply:
    types = _names(p.type) if p.type else None
    if p.source and not (types and "Dbsync" in types):
        raise ApiError(400, "source: filtering by source needs type to include 'Dbsync'.")
    sources = _ids(p.source, "source") if p.source else None
    destinations = _ids(p.destination, "destination") if p.destination else None
    statuses = _names(p.status) if p.status else None
    authors = _ids(p.author, "author") if p.author else None
    archived = p.archived or "false"
    rows: list[tuple[Job, dict[str, Any]]] = []
    for job in ctx.store.list_jobs("import"):
        level = ctx.level_on(job)
        if level is None or job.hidden != bool(p.hidden):
            continue
        if (archived == "false" and job.archived) or (archived == "true" and not job.archived):
            continue
        doc = job.doc
        if types is not None and doc.get("sync_type") not in types:
            continue
        if sources is not None and (doc.get("source") or {}).get("remote_host_id") not in sources:
            continue
        if destinations is not None and (doc.get("destination") or {}).get("remote_host_id") not in destinations:
            continue
        if authors is not None and job.owner_id not in authors:
            continue
        if statuses is not None:
            state = import_state(ctx.store.last_run(job.id))
            scheduled = bool((doc.get("schedule") or {}).get("scheduled"))
            if state not in statuses and not ("scheduled" in statuses and scheduled):
                continue
        rows.append((job, import_view(ctx.store, job, level)))

    def key(row: tuple[Job, dict[str, Any]]) -> Any:
        job, view = row
        order = p.order or "updated_at"
        if order == "name":
            return (str(view["name"] or "").lower(), job.id)
        if order == "created_at":
            return (job.created_at, job.id)
        if order == "last_run.updated_at":
            last = view["last_run"] or {}
            return (last.get("finished_at") or last.get("started_at") or last.get("created_at") or "", job.id)
        return (job.updated_at, job.id)

    ordered = sort_by(rows, key, p.order_dir)
    return paged([view for _, view in ordered], limit=p.limit, page_num=p.page_num)


def get_import(ctx: Ctx, p: m.ImportIdParams) -> Reply:
    job, level = ctx.job(p.id, IMPORT, "read")
    return Reply(200, import_view(ctx.store, job, level))


def _data_source(ctx: Ctx, given: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    if given is None:
        return None
    ctx.check_host(given.get("remote_host_id"), f"{name}.remote_host_id")
    ctx.check_credential(given.get("credential_id"), f"{name}.credential_id")
    for credential_id in given.get("additional_credentials") or []:
        ctx.check_credential(credential_id, f"{name}.additional_credentials")
    return {
        "remote_host_id": given.get("remote_host_id"),
        "credential_id": given.get("credential_id"),
        "additional_credentials": list(given.get("additional_credentials") or []),
    }


def _check_parent(ctx: Ctx, parent_id: int | None, own_id: int | None = None) -> None:
    if parent_id is None:
        return
    if parent_id == own_id:
        raise unprocessable("parent_id: an import cannot be its own parent.")
    if ctx.store.get_job(parent_id) is None:
        raise unprocessable(f"parent_id: job {parent_id} does not exist.")


def _import_settings(ctx: Ctx, p: m.CreateImportParams | m.ReplaceImportParams, own_id: int | None) -> dict[str, Any]:
    """The stored document for a create or a replace: every setting from ``p``, defaults for the rest."""
    given = p.model_dump(exclude_unset=True)
    _check_parent(ctx, p.parent_id, own_id)
    return {
        "name": p.name,
        "sync_type": p.sync_type,
        "is_outbound": p.is_outbound,
        "source": _data_source(ctx, given.get("source"), "source"),
        "destination": _data_source(ctx, given.get("destination"), "destination"),
        "parent_id": p.parent_id,
        "schedule": {**DEFAULT_SCHEDULE, **(given.get("schedule") or {})},
        "next_run_at": p.next_run_at,
        "notifications": {**DEFAULT_NOTIFICATIONS, **(given.get("notifications") or {})},
        "time_zone": p.time_zone or DEFAULT_TIME_ZONE,
    }


def create_import(ctx: Ctx, p: m.CreateImportParams) -> Reply:
    doc = _import_settings(ctx, p, None)
    doc["running_as_id"] = None
    job = ctx.store.create_job("import", ctx.caller_id, doc, hidden=bool(p.hidden))
    return Reply(201, import_view(ctx.store, job, "manage"))


def replace_import(ctx: Ctx, p: m.ReplaceImportParams) -> Reply:
    job, level = ctx.job(p.id, IMPORT, "write")
    keep: dict[str, Any] = {key: job.doc[key] for key in ("running_as_id", "file_import") if key in job.doc}
    job.doc = {**_import_settings(ctx, p, job.id), **keep}
    ctx.store.save_job(job)
    return Reply(200, import_view(ctx.store, job, level))


def update_import(ctx: Ctx, p: m.UpdateImportParams) -> Reply:
    job, level = ctx.job(p.id, IMPORT, "write")
    given = p.model_dump(exclude_unset=True)
    doc = job.doc
    if "name" in given:
        if not p.name:
            raise unprocessable("name: must not be empty.")
        doc["name"] = p.name
    for side in ("source", "destination"):
        if side in given:
            merged = {**(doc.get(side) or {}), **(given[side] or {})}
            doc[side] = _data_source(ctx, merged, side) if given[side] is not None else None
    if "running_as_id" in given:
        if p.running_as_id is not None:
            ctx.user(p.running_as_id, "running_as_id")
        doc["running_as_id"] = p.running_as_id
    if "schedule" in given:
        doc["schedule"] = {**DEFAULT_SCHEDULE, **(doc.get("schedule") or {}), **(given["schedule"] or {})}
    if "notifications" in given:
        doc["notifications"] = {
            **DEFAULT_NOTIFICATIONS,
            **(doc.get("notifications") or {}),
            **(given["notifications"] or {}),
        }
    for key in ("next_run_at", "time_zone"):
        if key in given:
            doc[key] = given[key]
    ctx.store.save_job(job)
    return Reply(200, import_view(ctx.store, job, level))


def clone_import(ctx: Ctx, p: m.CloneImportParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "read")
    doc = copy.deepcopy(job.doc)
    doc["name"] = f"Clone of {job.doc.get('name')}"
    doc["running_as_id"] = None
    if not p.clone_schedule:
        doc["schedule"] = dict(DEFAULT_SCHEDULE)
        doc["next_run_at"] = None
    if not p.clone_notifications:
        doc["notifications"] = dict(DEFAULT_NOTIFICATIONS)
    with ctx.store.transaction():
        clone = ctx.store.create_job("import", ctx.caller_id, doc, hidden=job.hidden)
        for sync in ctx.store.list_syncs(job.id):
            ctx.store.create_sync(clone.id, copy.deepcopy(sync.doc))
    return Reply(201, import_view(ctx.store, clone, "manage"))


def archive_import(ctx: Ctx, p: m.ArchiveParams) -> Reply:
    job, level = ctx.job(p.id, IMPORT, "manage")
    job.archived = p.status
    ctx.store.save_job(job)
    return Reply(200, import_view(ctx.store, job, level))


# --- syncs ------------------------------------------------------------------------------------------------------------

_SIDE_KINDS = ("database_table", "file", "google_worksheet")


def _split_path(path: str, name: str, *, sheet: bool) -> dict[str, Any]:
    head, dot, tail = path.rpartition(".")
    if not dot or not head or not tail:
        expected = "Spreadsheet.Worksheet" if sheet else "schema.table"
        raise unprocessable(f"{name}.path: expected {expected}, got {path!r}.")
    if sheet:
        return {
            "google_worksheet": {"spreadsheet": head, "spreadsheet_id": None, "worksheet": tail, "worksheet_id": None}
        }
    return {"database_table": {"schema": head, "table": tail}}


def _sync_side(ctx: Ctx, job: Job, given: dict[str, Any], name: str) -> dict[str, Any]:
    """A sync's source or destination as stored: one of database_table, file or google_worksheet."""
    side = {key: given[key] for key in _SIDE_KINDS if given.get(key) is not None}
    if not side and given.get("path"):
        sync_type = job.doc.get("sync_type")
        sheet = (name == "source" and sync_type == "GdocImport") or (
            name == "destination" and sync_type == "GdocExport"
        )
        side = _split_path(str(given["path"]), name, sheet=sheet)
    if not side:
        allowed = "database_table, file, google_worksheet or path" if name == "source" else "database_table, "
        allowed += "" if name == "source" else "google_worksheet or path"
        raise unprocessable(f"{name}: give one of {allowed}.")
    if len(side) > 1:
        raise unprocessable(f"{name}: give only one of {', '.join(sorted(side))}.")
    file_ref = side.get("file")
    if file_ref is not None:
        file_id = file_ref.get("id") if isinstance(file_ref, dict) else None
        if not isinstance(file_id, int):
            raise unprocessable(f'{name}.file: give the Civis file as {{"id": <file ID>}}.')
        ctx.check_files([file_id], f"{name}.file.id")
        side["file"] = {"id": file_id}
    return side


def _sync_or_404(ctx: Ctx, job: Job, sync_id: int) -> SyncRecord:
    sync = ctx.store.get_sync(job.id, sync_id)
    if sync is None:
        raise not_found(f"Sync {sync_id} of import job {job.id}")
    return sync


def _options(given: dict[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (given or {}).items() if value is not None}


def create_sync(ctx: Ctx, p: m.CreateSyncParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "write")
    given = p.model_dump(exclude_unset=True)
    doc = {
        "source": _sync_side(ctx, job, given["source"], "source"),
        "destination": _sync_side(ctx, job, given["destination"], "destination"),
        "advanced_options": _options(given.get("advanced_options")),
    }
    sync = ctx.store.create_sync(job.id, doc)
    ctx.store.save_job(job)
    return Reply(201, sync_view(ctx.store, sync))


def replace_sync(ctx: Ctx, p: m.ReplaceSyncParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "write")
    sync = _sync_or_404(ctx, job, p.sync_id)
    given = p.model_dump(exclude_unset=True)
    sync.doc = {
        "source": _sync_side(ctx, job, given["source"], "source"),
        "destination": _sync_side(ctx, job, given["destination"], "destination"),
        "advanced_options": _options(given.get("advanced_options")),
    }
    ctx.store.save_sync(sync)
    ctx.store.save_job(job)
    return Reply(200, sync_view(ctx.store, sync))


def _merge_side(ctx: Ctx, job: Job, current: dict[str, Any], patch: dict[str, Any] | None, name: str) -> dict[str, Any]:
    if not patch:
        return current
    kinds = [key for key in _SIDE_KINDS if patch.get(key) is not None]
    if len(kinds) > 1:
        raise unprocessable(f"{name}: give only one of {', '.join(kinds)}.")
    if not kinds:
        return current
    kind = kinds[0]
    # Changing a field of the current kind keeps the others; switching kinds replaces the side.
    base = current.get(kind) if isinstance(current.get(kind), dict) else {}
    merged = {**(base or {}), **_options(patch[kind])} if kind != "file" else patch[kind]
    return _sync_side(ctx, job, {kind: merged}, name)


def update_sync(ctx: Ctx, p: m.UpdateSyncParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "write")
    sync = _sync_or_404(ctx, job, p.sync_id)
    given = p.model_dump(exclude_unset=True)
    doc = sync.doc
    doc["source"] = _merge_side(ctx, job, doc.get("source") or {}, given.get("source"), "source")
    doc["destination"] = _merge_side(ctx, job, doc.get("destination") or {}, given.get("destination"), "destination")
    if "advanced_options" in given:
        doc["advanced_options"] = {**(doc.get("advanced_options") or {}), **(given["advanced_options"] or {})}
    ctx.store.save_sync(sync)
    ctx.store.save_job(job)
    return Reply(200, sync_view(ctx.store, sync, legacy=False))


def archive_sync(ctx: Ctx, p: m.ArchiveSyncParams) -> Reply:
    job, _ = ctx.job(p.id, IMPORT, "manage")
    sync = _sync_or_404(ctx, job, p.sync_id)
    sync.archived = True if p.status is None else p.status
    ctx.store.save_sync(sync)
    ctx.store.save_job(job)
    return Reply(200, sync_view(ctx.store, sync))
