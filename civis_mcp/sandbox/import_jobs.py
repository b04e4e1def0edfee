"""A run of an import job: each of its syncs in turn, each doing real work.

* AutoImport: the sync's Civis file through the CSV engine (delimiter detected unless set, gzip by its signature).
* Dbsync: ``dbsync.copy_table`` between the databases of the job's source and destination hosts.
* GdocImport / GdocExport: ``sheets.import_sheet`` / ``sheets.export_to_sheet``.

Each sync is all or nothing; a failure stops the run ("failed", with the error naming the sync), a cancel stops it
("cancelled"); syncs that finished before keep what they wrote, as on Civis, and the log says how many did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from civis_mcp.sandbox.csv_engine import CsvJob, CsvOutcome, execute_csv_import
from civis_mcp.sandbox.csv_reader import GZIP_MAGIC, sniff_file
from civis_mcp.sandbox.databases import Hosts
from civis_mcp.sandbox.dbsync import copy_table
from civis_mcp.sandbox.sheets import export_to_sheet, import_sheet
from civis_mcp.sandbox.store import Job, Run, Store, SyncRecord
from civis_mcp.sandbox.syncs import Endpoint, LogFn, SyncCancelled, SyncContext, SyncFailed, connect, describe

__all__ = ["ImportJobOutcome", "perform_import_job"]


class ImportJobOutcome:
    def __init__(self, state: str, error: str | None = None, rows: int = 0) -> None:
        self.state = state
        self.error = error
        self.rows = rows


def perform_import_job(
    store: Store,
    hosts: Hosts,
    job: Job,
    run: Run,
    files: dict[int, bytes],
    log: LogFn,
    should_cancel: Callable[[], bool],
) -> ImportJobOutcome:
    doc = job.doc
    sync_type = str(doc.get("sync_type"))
    syncs = store.list_syncs(job.id)
    log("info", f'Starting {sync_type} import "{doc.get("name")}" (run {run.id}, {len(syncs)} sync(s))')
    if not syncs:
        log("error", "This import has no syncs; add one with POST /imports/{id}/syncs.")
        return ImportJobOutcome("failed", "The import has no syncs to run.")
    for label, side in (("source", doc.get("source") or {}), ("destination", doc.get("destination") or {})):
        host_id = side.get("remote_host_id")
        host = store.get_entry("remote_host", host_id) if isinstance(host_id, int) else None
        if host is not None:
            log("info", f'Connecting to {label} host "{host["name"]}" with credential {side.get("credential_id")}')
    total = 0
    for position, sync in enumerate(syncs, start=1):
        done = position - 1
        if should_cancel():
            log("warn", f"Run cancelled before sync {position} of {len(syncs)}; {done} finished sync(s) were kept.")
            return ImportJobOutcome("cancelled", None, total)
        ctx = SyncContext(store, hosts, job, run, sync, f"[{position}/{len(syncs)}]", log, should_cancel)
        try:
            total += _perform_sync(ctx, sync_type, files)
        except SyncCancelled:
            log("warn", f"Run cancelled by user; sync {sync.id}'s changes were rolled back, {done} earlier kept.")
            return ImportJobOutcome("cancelled", None, total)
        except SyncFailed as failure:
            message = f"Sync {sync.id} ({_route(sync)}) failed: {failure.message}"
            if not failure.logged:
                log("error", message)
            log("fatal", f"Import failed: {done} of {len(syncs)} syncs completed; nothing of sync {sync.id} was kept.")
            return ImportJobOutcome("failed", message, total)
    log("info", f"Import finished: {len(syncs)} sync(s), {total:,} rows in total")
    return ImportJobOutcome("succeeded", None, total)


def _route(sync: SyncRecord) -> str:
    return f"{describe(sync.doc.get('source') or {})} -> {describe(sync.doc.get('destination') or {})}"


def _perform_sync(ctx: SyncContext, sync_type: str, files: dict[int, bytes]) -> int:
    doc = ctx.job.doc
    src = ctx.sync.doc.get("source") or {}
    dst = ctx.sync.doc.get("destination") or {}
    if sync_type == "AutoImport" and isinstance(src.get("file"), dict):
        return _engine_rows(_auto_import(ctx, files))
    if sync_type == "GdocImport" and src.get("google_worksheet"):
        return _engine_rows(import_sheet(ctx, _credential(doc.get("source"))))
    if sync_type == "GdocExport" and dst.get("google_worksheet"):
        return export_to_sheet(ctx, _credential(doc.get("destination")))
    if sync_type == "Dbsync" and src.get("database_table") and dst.get("database_table"):
        return copy_table(ctx, _endpoint(ctx, "source", src), _endpoint(ctx, "destination", dst))
    raise SyncFailed(
        f"A {sync_type} sync cannot read {describe(src)} into {describe(dst)}; give it the source and destination "
        "its kind uses (imports_patch_syncs)."
    )


def _credential(side: Any) -> int | None:
    value = (side or {}).get("credential_id")
    return value if isinstance(value, int) else None


def _endpoint(ctx: SyncContext, role: str, side: dict[str, Any]) -> Endpoint:
    database, grants, credential_id = connect(ctx.store, ctx.hosts, ctx.job.doc.get(role) or {}, role)
    table = side["database_table"]
    return Endpoint(database, grants, credential_id, str(table.get("schema")), str(table.get("table")))


def _engine_rows(result: CsvOutcome) -> int:
    if result.state == "cancelled":
        raise SyncCancelled
    if result.state == "failed":
        raise SyncFailed(result.error or "The load failed.", logged=True)
    return result.rows_loaded


def _auto_import(ctx: SyncContext, files: dict[int, bytes]) -> CsvOutcome:
    src = ctx.sync.doc.get("source") or {}
    table = (ctx.sync.doc.get("destination") or {}).get("database_table") or {}
    options = ctx.options
    file_id = int(src["file"].get("id") or 0)
    content = files.get(file_id)
    if content is None:
        raise SyncFailed(f"File {file_id} has not been uploaded, or no Civis file with that ID exists.")
    settings = {
        "source": {"file_ids": [file_id]},
        "destination": {"schema": table.get("schema"), "table": table.get("table")},
        "first_row_is_header": options.get("first_row_is_header", True) is not False,
        "column_delimiter": options.get("column_delimiter") or sniff_file(content) or "comma",
        "escaped": bool(options.get("escaped")),
        "compression": "gzip" if content[:2] == GZIP_MAGIC else "none",
        "existing_table_rows": options.get("existing_table_rows") or "fail",
        "max_errors": options.get("max_errors") or 0,
    }
    ctx.say("info", f"Loading file {file_id} into {table.get('schema')}.{table.get('table')}")
    with ctx.hosts.warehouse.connection() as conn:
        return execute_csv_import(
            CsvJob(settings=settings, files=files, run_id=ctx.run.id), conn, ctx.log, ctx.should_cancel
        )
