"""CSV imports and their runs."""

from __future__ import annotations

from civis_mcp.models.base import RequestModel, ResponseModel

# PLACEHOLDER: replaced by the real models.

class CreateCsvImportParams(RequestModel):
    pass


class ReplaceCsvImportParams(RequestModel):
    pass


class UpdateCsvImportParams(RequestModel):
    pass


class CsvImport(ResponseModel):
    pass


class CsvImportRun(ResponseModel):
    pass


class CsvImportRunInputs(ResponseModel):
    pass
