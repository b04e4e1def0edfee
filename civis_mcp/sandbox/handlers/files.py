"""File imports (POST /imports/files) and batch imports.

A file import is what Civis makes it: a hidden-by-choice AutoImport job with one sync whose source is the uploaded
file. ``uploadUri`` points back at the sandbox (``/sandbox-uploads/{file_id}/{token}``), which accepts the file by
PUT (the body is the file) or, with ``multipart: true``, by a multipart/form-data POST of ``uploadFields`` plus
``file``, like an S3 pre-signed upload; ``runUri`` is ``/imports/files/{id}/runs``. A run before the upload fails.
"""

from __future__ import annotations

import secrets
from typing import Any

from civis_mcp import models as m
from civis_mcp.sandbox.access import at_least
from civis_mcp.sandbox.handlers.base import Ctx, Reply, paged, sort_by
from civis_mcp.sandbox.store import JobKind
from civis_mcp.sandbox.views import DEFAULT_NOTIFICATIONS, DEFAULT_SCHEDULE, DEFAULT_TIME_ZONE, batch_view

BATCH: tuple[JobKind, ...] = ("batch",)
UPLOAD_PREFIX = "sandbox-uploads"


def upload_fields(file_id: int, token: str) -> dict[str, str]:
    return {
        "key": f"uploads/{file_id}/data",
        "policy": "c2FuZGJveC11cGxvYWQ=",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": "SANDBOX/us-east-1/s3/aws4_request",
        "x-amz-signature": token,
    }


def create_file_import(ctx: Ctx, p: m.CreateFileImportParams) -> Reply:
    ctx.check_host(p.remote_host_id, "remote_host_id")
    ctx.check_credential(p.credential_id, "credential_id")
    token = secrets.token_urlsafe(16)
    options: dict[str, Any] = {
        key: value
        for key, value in p.model_dump(
            include={
                "max_errors",
                "existing_table_rows",
                "diststyle",
                "distkey",
                "sortkey1",
                "sortkey2",
                "column_delimiter",
                "first_row_is_header",
                "escaped",
            }
        ).items()
        if value is not None
    }
    with ctx.store.transaction():
        file_id = ctx.store.create_file(f"{p.schema}.{p.name}.csv", ctx.caller_id)
        doc = {
            "name": f"File import into {p.schema}.{p.name}",
            "sync_type": "AutoImport",
            "is_outbound": False,
            "source": None,
            "destination": {
                "remote_host_id": p.remote_host_id,
                "credential_id": p.credential_id,
                "additional_credentials": [],
            },
            "parent_id": None,
            "schedule": dict(DEFAULT_SCHEDULE),
            "next_run_at": None,
            "notifications": dict(DEFAULT_NOTIFICATIONS),
            "time_zone": DEFAULT_TIME_ZONE,
            "running_as_id": None,
            "file_import": {"file_id": file_id, "token": token, "multipart": bool(p.multipart)},
        }
        job = ctx.store.create_job("import", ctx.caller_id, doc, hidden=bool(p.hidden))
        ctx.store.create_sync(
            job.id,
            {
                "source": {"file": {"id": file_id}},
                "destination": {"database_table": {"schema": p.schema, "table": p.name}},
                "advanced_options": options,
            },
        )
    upload_uri = f"{ctx.base_url}{UPLOAD_PREFIX}/{file_id}/{token}"
    return Reply(
        201,
        {
            "id": job.id,
            "upload_uri": upload_uri,
            "run_uri": f"{ctx.base_url}imports/files/{job.id}/runs",
            "upload_fields": upload_fields(file_id, token) if p.multipart else {},
        },
    )


def list_batches(ctx: Ctx, p: m.ListBatchesParams) -> Reply:
    jobs = [
        job
        for job in ctx.store.list_jobs("batch")
        if at_least(ctx.level_on(job), "read") and job.hidden == bool(p.hidden)
    ]
    order = p.order or "updated_at"
    ordered = sort_by(
        jobs, lambda job: (job.created_at if order == "created_at" else job.updated_at, job.id), p.order_dir
    )
    return paged([batch_view(job, ctx.store.last_run(job.id)) for job in ordered], limit=p.limit, page_num=p.page_num)


def create_batch(ctx: Ctx, p: m.CreateBatchImportParams) -> Reply:
    ctx.check_host(p.remote_host_id, "remote_host_id")
    ctx.check_credential(p.credential_id, "credential_id")
    ctx.check_files(p.file_ids, "file_ids")
    doc = p.model_dump(exclude={"hidden"})
    doc["compression"] = p.compression or "gzip"
    doc["column_delimiter"] = p.column_delimiter or "comma"
    doc["first_row_is_header"] = bool(p.first_row_is_header)
    job = ctx.store.create_job("batch", ctx.caller_id, doc, hidden=bool(p.hidden))
    run = ctx.store.create_run(job.id)
    ctx.clock.start(run.id)
    return Reply(201, batch_view(job, run))


def get_batch(ctx: Ctx, p: m.ImportIdParams) -> Reply:
    job, _ = ctx.job(p.id, BATCH, "read")
    return Reply(200, batch_view(job, ctx.store.last_run(job.id)))
