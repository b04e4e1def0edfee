"""Arguments and result of ``imports_load_file`` (a local CSV file -> a table, in one call)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from civis_mcp.models.base import RequestModel
from civis_mcp.models.common import ColumnDelimiter, ExistingTableRows
from civis_mcp.workflows.models import Cause, Fix, RunFacts

__all__ = ["FileFacts", "LoadDiagnosis", "LoadFileParams", "LoadResult"]


class LoadFileParams(RequestModel):
    path: str = Field(description="File path in the workspace.")
    schema: str = Field(description="Destination schema.")  # type: ignore[assignment]
    table: str = Field(description="Destination table.")
    remote_host_id: int = Field(description="Database host ID.")
    credential_id: int = Field(description="Database credential ID.")
    existing_table_rows: ExistingTableRows = Field(
        default="fail", description="If the table exists (truncate, drop: asked first)."
    )
    column_delimiter: ColumnDelimiter | None = Field(default=None, description="Delimiter (default: sniffed).")
    first_row_is_header: bool | None = Field(default=None, description="Header row (default: sniffed).")
    max_errors: int | None = Field(default=None, ge=0, description="Max bad rows.")
    timeout_seconds: float = Field(default=300, gt=0, le=3600, description="Wait for the run, seconds.")


class FileFacts(BaseModel):
    """What was checked about the local file. Never its rows."""

    path: str
    size_bytes: int
    compressed: bool
    encoding: str
    column_delimiter: str
    first_row_is_header: bool
    columns: int
    header: list[str] | None = Field(default=None, description="Header names from the file (sanitised).")
    rows: int | None = Field(default=None, description="Data rows: exact if rows_exact, else an estimate.")
    rows_exact: bool


class LoadDiagnosis(BaseModel):
    """Why the run failed, without the log lines (they can quote the file's rows)."""

    cause: Cause
    summary: str
    fix: Fix | None = None


class LoadResult(BaseModel):
    file: FileFacts
    destination: str
    existing_table_rows: str
    import_id: int | None = None
    run_id: int | None = None
    uploaded_bytes: int
    run: RunFacts | None = Field(default=None, description="The run's state and timing (its error is not repeated).")
    finished: bool
    outcome: Literal["succeeded", "failed", "cancelled", "still_running"]
    rows_loaded: int | None = Field(default=None, description="From the run's log; null when it does not say.")
    rows_rejected: int | None = Field(
        default=None, description="From the run's log; 0 when a successful run's log reports no rejected rows."
    )
    diagnosis: LoadDiagnosis | None = None
    waited_seconds: float
    note: str
