"""CSV imports and their runs.

The run base class defined here is shared with ``files`` (file and batch imports).

Fields named ``schema`` keep that name, as in the API and civis-python (see ``base`` for why that needs care).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from civis_mcp.models.base import KnownValues, RequestModel, ResponseModel
from civis_mcp.models.common import (
    ColumnDelimiter,
    DistStyle,
    ImportId,
    ImportIdParams,
    JobRun,
    ReportedColumnDelimiter,
    ReportedDistStyle,
    ReportedPermissionLevel,
)

# --- closed sets ------------------------------------------------------------------------------------------------------

CsvCompression = Literal["gzip", "none"]
CsvExistingTableRows = Literal["append", "truncate", "fail", "drop", "upsert"]
Execution = Literal["delayed", "immediate"]  # no spec enum: the values are named in the description

# --- request objects --------------------------------------------------------------------------------------------------


class StoragePath(RequestModel):
    """Files on an external storage host (e.g. S3)."""

    storage_host_id: int = Field(description="Storage host ID.")
    credential_id: int = Field(description="Credential ID.")
    file_paths: list[str] = Field(min_length=1, description="Bucket paths; a dir loads all.")


class CsvSource(RequestModel):
    """Source: exactly one of file_ids or storage_path."""

    file_ids: list[int] | None = Field(default=None, min_length=1, description="Civis file IDs.")
    storage_path: StoragePath | None = Field(default=None, description="Files on a storage host.")

    @model_validator(mode="after")
    def _one_source(self) -> CsvSource:
        if (self.file_ids is None) == (self.storage_path is None):
            raise ValueError("source needs exactly one of file_ids or storage_path")
        return self


_SCHEMA = "Schema name."
_TABLE = "Table name."
_DB_HOST = "Database host ID."
_DB_CREDENTIAL = "Database credential ID."
_PRIMARY_KEYS = "Key columns; required for upsert."
_LAST_MODIFIED_KEYS = "Update-marker columns (upsert)."


class CsvDestination(RequestModel):
    """Destination table."""

    schema: str = Field(description=_SCHEMA)  # type: ignore[assignment]
    table: str = Field(description=_TABLE)
    remote_host_id: int = Field(description=_DB_HOST)
    credential_id: int = Field(description=_DB_CREDENTIAL)
    primary_keys: list[str] | None = Field(default=None, description=_PRIMARY_KEYS)
    last_modified_keys: list[str] | None = Field(default=None, description=_LAST_MODIFIED_KEYS)


class CsvDestinationPatch(RequestModel):
    """Destination table settings to change."""

    schema: str | None = Field(default=None, description=_SCHEMA)  # type: ignore[assignment]
    table: str | None = Field(default=None, description=_TABLE)
    remote_host_id: int | None = Field(default=None, description=_DB_HOST)
    credential_id: int | None = Field(default=None, description=_DB_CREDENTIAL)
    primary_keys: list[str] | None = Field(default=None, description=_PRIMARY_KEYS)
    last_modified_keys: list[str] | None = Field(default=None, description=_LAST_MODIFIED_KEYS)


_COLUMN_NAME = "Column name."
_SQL_TYPE = "SQL type (optional to append)."


class TableColumn(RequestModel):
    """A column of the source file."""

    name: str = Field(description=_COLUMN_NAME)
    sql_type: str | None = Field(default=None, description=_SQL_TYPE)


class TableColumnPatch(RequestModel):
    """A column of the source file."""

    name: str | None = Field(default=None, description=_COLUMN_NAME)
    sql_type: str | None = Field(default=None, description=_SQL_TYPE)


class RedshiftOptions(RequestModel):
    """Redshift table layout."""

    diststyle: DistStyle | None = Field(default=None, description="Dist style.")
    distkey: str | None = Field(default=None, description="Dist key column.")
    sortkeys: list[str] | None = Field(default=None, max_length=2, description="Sort key columns (max 2).")


# --- arguments --------------------------------------------------------------------------------------------------------

_SOURCE = "file_ids or storage_path."
_DESTINATION = "Target table."
_FIRST_ROW_IS_HEADER = "Header row."

_Name = Annotated[str | None, Field(default=None, description="Import name.")]
_ColumnDelimiterArg = Annotated[ColumnDelimiter | None, Field(default=None, description="Delimiter (default comma).")]
_Escaped = Annotated[bool | None, Field(default=None, description="Quotes escaped by backslash.")]
_CompressionArg = Annotated[CsvCompression | None, Field(default=None, description="Compression (default none).")]
_ExistingTableRowsArg = Annotated[
    CsvExistingTableRows | None, Field(default=None, description="If the table exists (default fail).")
]
_MaxErrors = Annotated[int | None, Field(default=None, description="Bad rows to allow; not for Postgres.")]
_LoosenTypes = Annotated[bool | None, Field(default=None, description="Widen sized SQL types on create.")]
_ExecutionArg = Annotated[Execution | None, Field(default=None, description="Upsert data move (default delayed).")]
_RedshiftOptionsArg = Annotated[RedshiftOptions | None, Field(default=None, description="Redshift dist/sort keys.")]
_TABLE_COLUMNS = "Columns in file order; needed for new table."


class _CsvImportSettings(RequestModel):
    """The settings a CSV import is created or replaced with."""

    source: CsvSource = Field(description=_SOURCE)
    destination: CsvDestination = Field(description=_DESTINATION)
    first_row_is_header: bool = Field(description=_FIRST_ROW_IS_HEADER)
    name: _Name
    column_delimiter: _ColumnDelimiterArg
    escaped: _Escaped
    compression: _CompressionArg
    existing_table_rows: _ExistingTableRowsArg
    max_errors: _MaxErrors
    table_columns: list[TableColumn] | None = Field(default=None, description=_TABLE_COLUMNS)
    loosen_types: _LoosenTypes
    execution: _ExecutionArg
    redshift_destination_options: _RedshiftOptionsArg

    @field_validator("existing_table_rows")
    @classmethod
    def _upsert_has_keys(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The spec: "If the import mode is "upsert", this field [primaryKeys] is required". destination comes first, so
        # it is in info.data unless it failed validation itself.
        destination = info.data.get("destination")
        if value == "upsert" and isinstance(destination, CsvDestination) and not destination.primary_keys:
            raise ValueError("'upsert' needs destination.primary_keys")
        return value


class CreateCsvImportParams(_CsvImportSettings):
    """Arguments of creating a CSV import."""

    hidden: bool | None = Field(default=None, description="Hide the import.")


# ImportIdParams last among the bases puts ``id`` first among the fields (pydantic lays bases out from the last).
class ReplaceCsvImportParams(_CsvImportSettings, ImportIdParams):
    """Arguments of replacing all settings of a CSV import."""


class UpdateCsvImportParams(RequestModel):
    """Arguments of changing some settings of a CSV import."""

    id: ImportId
    name: _Name
    source: CsvSource | None = Field(default=None, description=_SOURCE)
    destination: CsvDestinationPatch | None = Field(default=None, description=_DESTINATION)
    first_row_is_header: bool | None = Field(default=None, description=_FIRST_ROW_IS_HEADER)
    column_delimiter: _ColumnDelimiterArg
    escaped: _Escaped
    compression: _CompressionArg
    existing_table_rows: _ExistingTableRowsArg
    max_errors: _MaxErrors
    table_columns: list[TableColumnPatch] | None = Field(default=None, description=_TABLE_COLUMNS)
    loosen_types: _LoosenTypes
    execution: _ExecutionArg
    redshift_destination_options: _RedshiftOptionsArg


# --- responses --------------------------------------------------------------------------------------------------------


class CsvImportStoragePath(ResponseModel):
    """Files on an external storage host."""

    storage_host_id: int | None = None
    credential_id: int | None = None
    file_paths: list[str] | None = None


class CsvImportSource(ResponseModel):
    """The source files of a CSV import."""

    file_ids: list[int] | None = None
    storage_path: CsvImportStoragePath | None = None


class CsvImportDestination(ResponseModel):
    """The destination table of a CSV import."""

    schema: str | None = None  # type: ignore[assignment]
    table: str | None = None
    remote_host_id: int | None = None
    credential_id: int | None = None
    primary_keys: list[str] | None = None
    last_modified_keys: list[str] | None = None


class CsvImportColumn(ResponseModel):
    """A column of the source file."""

    name: str | None = None
    sql_type: str | None = None


class CsvImportRedshiftOptions(ResponseModel):
    """Redshift table layout."""

    diststyle: ReportedDistStyle | None = None
    distkey: str | None = None
    sortkeys: list[str] | None = None


class CsvImportRunInputs(ResponseModel):
    """The settings one CSV import run was given."""

    name: str | None = None
    source: CsvImportSource | None = None
    destination: CsvImportDestination | None = None
    first_row_is_header: bool | None = None
    column_delimiter: ReportedColumnDelimiter | None = None
    escaped: bool | None = None
    compression: Annotated[str, KnownValues(CsvCompression)] | None = None
    existing_table_rows: Annotated[str, KnownValues(CsvExistingTableRows)] | None = None
    max_errors: int | None = None
    table_columns: list[CsvImportColumn] | None = None
    loosen_types: bool | None = None
    execution: Annotated[str, KnownValues(Execution)] | None = None
    redshift_destination_options: CsvImportRedshiftOptions | None = None
    hidden: bool | None = None


class CsvImport(CsvImportRunInputs):
    """A CSV import: its settings, plus its ID and your permission on it."""

    id: int | None = None
    my_permission_level: ReportedPermissionLevel | None = None


class RunBase(JobRun):
    """What every CSV or file import run reports: a job run, and whether a cancel was asked for."""

    is_cancel_requested: bool | None = None


class CsvImportRun(RunBase):
    """A run of a CSV import."""

    csv_import_id: int | None = None
