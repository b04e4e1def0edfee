"""File imports (one uploaded file) and batch imports (many Civis files), and file import runs.

Fields named ``schema`` keep that name, as in the API and civis-python (see ``base`` for why that needs care).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from civis_mcp.models.base import KnownValues, RequestModel, ResponseModel
from civis_mcp.models.common import (
    ColumnDelimiter,
    DataSource,
    DistStyle,
    ExistingTableRows,
    Hidden,
    Notifications,
    OrderDir,
    PageNum,
    ReportedSyncType,
    Schedule,
)
from civis_mcp.models.csv import RunBase

# --- closed sets ------------------------------------------------------------------------------------------------------

BatchCompression = Literal["gzip", "zip", "none"]
BatchState = Literal["idle", "pending", "scheduled", "queued", "running", "succeeded", "failed", "cancelled"]
BatchOrder = Literal["updated_at", "created_at"]  # no spec enum: "Must be one of: updated_at, created_at."

_HIDE = "Hide the import."
_DB_HOST = "Database host ID."
_DB_CREDENTIAL = "Database credential ID."

# --- arguments --------------------------------------------------------------------------------------------------------


class CreateFileImportParams(RequestModel):
    """Arguments of creating an import of one uploaded file."""

    schema: str = Field(description="Destination schema.")  # type: ignore[assignment]
    name: str = Field(description="Destination table name.")
    remote_host_id: int = Field(description=_DB_HOST)
    credential_id: int = Field(description=_DB_CREDENTIAL)
    max_errors: int | None = Field(default=None, description="Max bad rows.")
    existing_table_rows: ExistingTableRows | None = Field(
        default=None, description="If the table exists (default fail)."
    )
    diststyle: DistStyle | None = Field(default=None, description="Redshift diststyle.")
    distkey: str | None = Field(default=None, description="Redshift distkey.")
    sortkey1: str | None = Field(default=None, description="Redshift sortkey.")
    sortkey2: str | None = Field(default=None, description="Second sortkey.")
    column_delimiter: ColumnDelimiter | None = Field(default=None, description="Delimiter (default detected).")
    first_row_is_header: bool | None = Field(default=None, description="Header row (default detected).")
    multipart: bool | None = Field(default=None, description="Upload by multipart/form-data POST.")
    escaped: bool | None = Field(default=None, description="Quotes escaped by backslash.")
    hidden: bool | None = Field(default=None, description=_HIDE)

    @field_validator("sortkey2")
    @classmethod
    def _sortkey2_needs_sortkey1(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The spec: sortkey2 is "the second column in a compound sortkey"; sortkey1 comes first, so it is in info.data.
        if value is not None and info.data.get("sortkey1") is None:
            raise ValueError("sortkey2 is the second column of a compound sort key: set sortkey1 too")
        return value


class ListBatchesParams(RequestModel):
    """Arguments of listing batch imports."""

    hidden: Hidden
    limit: int | None = Field(default=None, ge=1, le=50, description="Per page (default 20).")
    page_num: PageNum
    order: BatchOrder | None = Field(default=None, description="Sort field (default updated_at).")
    order_dir: OrderDir | None = Field(default=None, description="Default desc.")


class CreateBatchImportParams(RequestModel):
    """Arguments of creating (and starting) a batch import."""

    file_ids: list[int] = Field(description="Civis file IDs.")
    schema: str = Field(description="Existing Redshift schema.")  # type: ignore[assignment]
    table: str = Field(description="Existing table, no schema prefix.")
    remote_host_id: int = Field(description=_DB_HOST)
    credential_id: int = Field(description=_DB_CREDENTIAL)
    column_delimiter: ColumnDelimiter | None = Field(default=None, description="Delimiter (default comma).")
    first_row_is_header: bool | None = Field(default=None, description="Header row (default false).")
    compression: BatchCompression | None = Field(default=None, description="Compression (default gzip).")
    hidden: bool | None = Field(default=None, description=_HIDE)


# --- responses --------------------------------------------------------------------------------------------------------


class FileUpload(ResponseModel):
    """A new file import: where to upload the file, then where to POST to start the import."""

    id: int | None = None
    upload_uri: str | None = None
    run_uri: str | None = None
    upload_fields: dict[str, str] | None = None


class FileImportRun(RunBase):
    """A run of a file import."""

    import_id: int | None = None


class FileImportRunInputs(ResponseModel):
    """The settings one file import run was given."""

    name: str | None = None
    source: DataSource | None = None
    destination: DataSource | None = None
    sync_type: ReportedSyncType | None = None
    parent_id: int | None = None
    is_outbound: bool | None = None
    schedule: Schedule | None = None
    next_run_at: str | None = None
    notifications: Notifications | None = None
    time_zone: str | None = None
    hidden: bool | None = None


class BatchImportSummary(ResponseModel):
    """A batch import in a list."""

    id: int | None = None
    schema: str | None = None  # type: ignore[assignment]
    table: str | None = None
    remote_host_id: int | None = None
    state: Annotated[str, KnownValues(BatchState)] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


class BatchImport(BatchImportSummary):
    """A batch import: destination table and the state of its run."""

    hidden: bool | None = None
