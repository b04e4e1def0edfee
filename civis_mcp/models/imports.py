"""Import jobs (Dbsync, AutoImport, GdocImport), their syncs and their runs."""

from __future__ import annotations

from civis_mcp.models.base import RequestModel, ResponseModel

# PLACEHOLDER: replaced by the real models.

class ListImportsParams(RequestModel):
    pass


class CreateImportParams(RequestModel):
    pass


class ReplaceImportParams(RequestModel):
    pass


class UpdateImportParams(RequestModel):
    pass


class CloneImportParams(RequestModel):
    pass


class CreateSyncParams(RequestModel):
    pass


class ReplaceSyncParams(RequestModel):
    pass


class UpdateSyncParams(RequestModel):
    pass


class ArchiveSyncParams(RequestModel):
    pass


class ImportSummary(ResponseModel):
    pass


class Import(ResponseModel):
    pass


class Sync(ResponseModel):
    pass


class SyncUpdated(ResponseModel):
    pass


class ImportJobRun(ResponseModel):
    pass


class ImportJobRunSummary(ResponseModel):
    pass
