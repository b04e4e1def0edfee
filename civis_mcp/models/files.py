"""File imports (one uploaded file) and batch imports (many Civis files), and file import runs."""

from __future__ import annotations

from civis_mcp.models.base import RequestModel, ResponseModel

# PLACEHOLDER: replaced by the real models.

class CreateFileImportParams(RequestModel):
    pass


class ListBatchesParams(RequestModel):
    pass


class CreateBatchImportParams(RequestModel):
    pass


class FileUpload(ResponseModel):
    pass


class FileImportRun(ResponseModel):
    pass


class FileImportRunInputs(ResponseModel):
    pass


class BatchImportSummary(ResponseModel):
    pass


class BatchImport(ResponseModel):
    pass
