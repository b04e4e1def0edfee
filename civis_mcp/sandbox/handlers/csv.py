"""CSV imports: create, get, replace, update, archive. Their runs live in ``handlers.runs``."""

from __future__ import annotations

from typing import Any

from civis_mcp import models as m
from civis_mcp.sandbox.errors import unprocessable
from civis_mcp.sandbox.handlers.base import Ctx, Reply
from civis_mcp.sandbox.store import JobKind
from civis_mcp.sandbox.views import csv_import_view

CSV: tuple[JobKind, ...] = ("csv_import",)

# What Civis fills in for settings a CSV import was created (or replaced) without.
_DEFAULTS: dict[str, Any] = {
    "name": None,
    "column_delimiter": "comma",
    "escaped": False,
    "compression": "none",
    "existing_table_rows": "fail",
    "max_errors": None,
    "table_columns": [],
    "loosen_types": False,
    "execution": "delayed",
    "redshift_destination_options": {"diststyle": None, "distkey": None, "sortkeys": []},
}
_DESTINATION_DEFAULTS: dict[str, Any] = {"primary_keys": [], "last_modified_keys": []}


def _check_source(ctx: Ctx, source: dict[str, Any]) -> dict[str, Any]:
    if source.get("file_ids") is not None:
        ctx.check_files(source["file_ids"], "source.file_ids")
    storage = source.get("storage_path")
    if storage is not None:
        ctx.check_host(storage.get("storage_host_id"), "source.storage_path.storage_host_id")
        ctx.check_credential(storage.get("credential_id"), "source.storage_path.credential_id")
    return {"file_ids": source.get("file_ids"), "storage_path": storage}


def _check_destination(ctx: Ctx, destination: dict[str, Any]) -> dict[str, Any]:
    ctx.check_host(destination.get("remote_host_id"), "destination.remote_host_id")
    ctx.check_credential(destination.get("credential_id"), "destination.credential_id")
    return {**_DESTINATION_DEFAULTS, **{key: value for key, value in destination.items() if value is not None}}


def _check_upsert(doc: dict[str, Any]) -> None:
    if doc.get("existing_table_rows") == "upsert" and not (doc.get("destination") or {}).get("primary_keys"):
        raise unprocessable("existing_table_rows: 'upsert' needs destination.primary_keys.")


def _settings(ctx: Ctx, p: m.CreateCsvImportParams | m.ReplaceCsvImportParams) -> dict[str, Any]:
    given = p.model_dump(exclude_unset=True, exclude={"id", "hidden"})
    doc = {**_DEFAULTS, **{key: value for key, value in given.items() if value is not None}}
    doc["source"] = _check_source(ctx, given["source"])
    doc["destination"] = _check_destination(ctx, given["destination"])
    doc["redshift_destination_options"] = {
        **_DEFAULTS["redshift_destination_options"],
        **(given.get("redshift_destination_options") or {}),
    }
    _check_upsert(doc)
    return doc


def create_csv_import(ctx: Ctx, p: m.CreateCsvImportParams) -> Reply:
    job = ctx.store.create_job("csv_import", ctx.caller_id, _settings(ctx, p), hidden=bool(p.hidden))
    return Reply(201, csv_import_view(job, "manage"))


def get_csv_import(ctx: Ctx, p: m.ImportIdParams) -> Reply:
    job, level = ctx.job(p.id, CSV, "read")
    return Reply(200, csv_import_view(job, level))


def replace_csv_import(ctx: Ctx, p: m.ReplaceCsvImportParams) -> Reply:
    job, level = ctx.job(p.id, CSV, "write")
    job.doc = _settings(ctx, p)
    ctx.store.save_job(job)
    return Reply(200, csv_import_view(job, level))


def update_csv_import(ctx: Ctx, p: m.UpdateCsvImportParams) -> Reply:
    job, level = ctx.job(p.id, CSV, "write")
    given = p.model_dump(exclude_unset=True, exclude={"id"})
    doc = dict(job.doc)
    for key, value in given.items():
        if key == "source":
            doc["source"] = _check_source(ctx, value)
        elif key == "destination":
            merged = {**(doc.get("destination") or {}), **{k: v for k, v in (value or {}).items()}}
            doc["destination"] = _check_destination(ctx, merged)
        elif key == "redshift_destination_options":
            doc[key] = {**_DEFAULTS[key], **(doc.get(key) or {}), **(value or {})}
        elif value is None and key in _DEFAULTS:
            doc[key] = _DEFAULTS[key]
        else:
            doc[key] = value
    _check_upsert(doc)
    job.doc = doc
    ctx.store.save_job(job)
    return Reply(200, csv_import_view(job, level))


def archive_csv_import(ctx: Ctx, p: m.ArchiveParams) -> Reply:
    job, level = ctx.job(p.id, CSV, "manage")
    job.archived = p.status
    ctx.store.save_job(job)
    return Reply(200, csv_import_view(job, level))
