"""Import jobs (Dbsync, AutoImport, GdocImport), their syncs and their runs.

Request objects come in two strictnesses, as in the spec: ``...Input`` for create and replace (POST, PUT), where the
spec requires some nested fields, and ``...Patch`` for PATCH, where nothing is required. Where the two have the same
fields the ``Input`` class subclasses the ``Patch`` class and only re-declares the fields it makes required.

Fields the spec marks deprecated ("This parameter is deprecated", "Deprecated in favor of ...", "This attribute is no
longer available") are left out of every model here.

Database tables have a field named ``schema``, like the API and civis-python (see ``base`` for why that needs care).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from civis_mcp.models.base import RequestModel, ResponseModel
from civis_mcp.models.common import (
    ColumnDelimiter,
    DataSource,
    DistStyle,
    ExistingTableRows,
    Hidden,
    ImportId,
    JobRun,
    Notifications,
    OrderDir,
    PageNum,
    ReportedColumnDelimiter,
    ReportedDistStyle,
    ReportedExistingTableRows,
    ReportedPermissionLevel,
    ReportedRunState,
    Schedule,
    SyncType,
    User,
    comma_separated,
)

# --- closed sets ------------------------------------------------------------------------------------------------------

ImportStatus = Literal["running", "failed", "succeeded", "idle", "scheduled"]  # from the prose of GET /imports status
ImportOrder = Literal["updated_at", "name", "created_at", "last_run.updated_at"]  # from the prose of GET /imports order
Archived = Literal["true", "false", "all", ""]  # spec enum; "" is read as "false"
ExportAction = Literal["newsprsht", "newwksht", "updatewksht", "appendwksht"]  # from the prose of exportAction

SyncId = Annotated[int, Field(description="Sync ID.")]

# --- request objects: import job --------------------------------------------------------------------------------------


class ScheduleInput(RequestModel):
    """When the job runs; days x hours x minutes."""

    scheduled: bool | None = Field(default=None, description="Schedule on.")
    scheduled_days: list[int] | None = Field(default=None, description="Weekdays, 0=Sunday..6.")
    scheduled_hours: list[int] | None = Field(default=None, description="Hours, 0-23.")
    scheduled_minutes: list[int] | None = Field(default=None, description="Minutes, 0-59.")
    scheduled_days_of_month: list[int] | None = Field(default=None, description="Days of month, 1-31.")


class NotificationsInput(RequestModel):
    """E-mails and webhooks sent when the job ends."""

    urls: list[str] | None = Field(default=None, description="Webhook URLs.")
    success_email_subject: str | None = Field(default=None, description="Success subject.")
    success_email_body: str | None = Field(default=None, description="Success body, Markdown.")
    success_email_addresses: list[str] | None = Field(default=None, description="Success recipients.")
    success_email_from_name: str | None = Field(default=None, description="Success sender name.")
    success_email_reply_to: str | None = Field(default=None, description="Success reply-to.")
    failure_email_addresses: list[str] | None = Field(default=None, description="Failure recipients.")
    stall_warning_minutes: int | None = Field(default=None, description="Stall warning, minutes.")
    success_on: bool | None = Field(default=None, description="Default: user prefs.")
    failure_on: bool | None = Field(default=None, description="Default: user prefs.")


class DataSourcePatch(RequestModel):
    """A remote host and the credential to reach it."""

    remote_host_id: int | None = Field(default=None, description="Remote host ID.")
    credential_id: int | None = Field(default=None, description="Credential ID.")
    additional_credentials: list[int] | None = Field(
        default=None, description="Dbsync SSL key IDs, private then public."
    )


class DataSourceInput(DataSourcePatch):
    """A remote host and the credential to reach it."""

    remote_host_id: int = Field(description="Remote host ID.")
    credential_id: int = Field(description="Credential ID.")


class _ImportBody(RequestModel):
    """Body fields shared by creating and replacing an import job."""

    name: str = Field(description="Import name.")
    sync_type: SyncType = Field(description="Kind of import job.")
    is_outbound: bool = Field(description="True for GdocExport.")
    source: DataSourceInput | None = Field(default=None, description="Source host.")
    destination: DataSourceInput | None = Field(default=None, description="Destination host.")
    parent_id: int | None = Field(default=None, description="Job whose run triggers this.")
    schedule: ScheduleInput | None = Field(default=None, description="When the import runs.")
    next_run_at: str | None = Field(default=None, description="ISO 8601 time.")
    notifications: NotificationsInput | None = Field(default=None, description="E-mails and webhooks.")
    time_zone: str | None = Field(default=None, description="IANA time zone.")


# --- request objects: sync --------------------------------------------------------------------------------------------


class DatabaseTablePatch(RequestModel):
    """A database table."""

    schema: str | None = Field(default=None, description="Schema name.")  # type: ignore[assignment]
    table: str | None = Field(default=None, description="Table name.")


class DatabaseTableInput(DatabaseTablePatch):
    """A database table."""

    schema: str = Field(description="Schema name.")
    table: str = Field(description="Table name.")


class GoogleWorksheetPatch(RequestModel):
    """A tab of a Google spreadsheet."""

    spreadsheet: str | None = Field(default=None, description="Spreadsheet name.")
    spreadsheet_id: str | None = Field(default=None, description="Spreadsheet ID.")
    worksheet: str | None = Field(default=None, description="Tab name.")
    worksheet_id: int | None = Field(default=None, description="Tab ID.")


class GoogleWorksheetInput(GoogleWorksheetPatch):
    """A tab of a Google spreadsheet."""

    spreadsheet: str = Field(description="Spreadsheet name.")
    worksheet: str = Field(description="Tab name.")


# The spec gives the file source of a sync no properties at all ({"type": "object", "properties": {}}).
_FILE_DESCRIPTION = "Civis file."


class SyncSourceInput(RequestModel):
    """What a sync reads; give one of these."""

    path: str | None = Field(default=None, description="Legacy schema.table.")
    database_table: DatabaseTableInput | None = Field(default=None, description="Source table.")
    file: dict[str, Any] | None = Field(default=None, description=_FILE_DESCRIPTION)
    google_worksheet: GoogleWorksheetInput | None = Field(default=None, description="Source sheet tab.")


class SyncDestinationInput(RequestModel):
    """Where a sync writes; give one of these."""

    path: str | None = Field(default=None, description="Legacy schema.table or Sheet.Tab.")
    database_table: DatabaseTableInput | None = Field(default=None, description="Destination table.")
    google_worksheet: GoogleWorksheetInput | None = Field(default=None, description="Destination sheet tab.")


class SyncSourcePatch(RequestModel):
    """What a sync reads; give one of these."""

    database_table: DatabaseTablePatch | None = Field(default=None, description="Source table.")
    file: dict[str, Any] | None = Field(default=None, description=_FILE_DESCRIPTION)
    google_worksheet: GoogleWorksheetPatch | None = Field(default=None, description="Source sheet tab.")


class SyncDestinationPatch(RequestModel):
    """Where a sync writes; give one of these."""

    database_table: DatabaseTablePatch | None = Field(default=None, description="Destination table.")
    google_worksheet: GoogleWorksheetPatch | None = Field(default=None, description="Destination sheet tab.")


class ColumnOverrideInput(RequestModel):
    """Replacement name and type of one auto-detected column."""

    name: str | None = Field(default=None, description="Column name.")
    type: str | None = Field(default=None, description="SQL type.")


class AdvancedSyncOptionsInput(RequestModel):
    """Sync options; the first word says which sync types use each."""

    max_errors: int | None = Field(default=None, description="Auto/Gdoc max errors.")
    existing_table_rows: ExistingTableRows | None = Field(
        default=None, description="Auto/Gdoc if table exists (default fail)."
    )
    first_row_is_header: bool | None = Field(default=None, description="Auto/Gdoc header row.")
    diststyle: DistStyle | None = Field(default=None, description="Auto Redshift diststyle.")
    distkey: str | None = Field(default=None, description="Auto Redshift distkey.")
    sortkey1: str | None = Field(default=None, description="Auto Redshift sortkey.")
    sortkey2: str | None = Field(default=None, description="Auto second Redshift sortkey.")
    column_delimiter: ColumnDelimiter | None = Field(default=None, description="Auto delimiter.")
    column_overrides: dict[str, ColumnOverrideInput] | None = Field(
        default=None, description="Auto column index -> override."
    )
    escaped: bool | None = Field(default=None, description="Auto backslash escapes.")
    identity_column: str | None = Field(default=None, description="Dbsync incremental key.")
    last_modified_column: str | None = Field(default=None, description="Dbsync modified-at column.")
    row_chunk_size: int | None = Field(default=None, description="Dbsync rows per chunk.")
    wipe_destination_table: bool | None = Field(default=None, description="Dbsync full table refresh.")
    truncate_long_lines: bool | None = Field(default=None, description="Dbsync cut long values.")
    invalid_char_replacement: str | None = Field(default=None, description="Dbsync bad UTF-8 replacement.")
    verify_table_row_counts: bool | None = Field(default=None, description="Dbsync check row counts.")
    export_action: ExportAction | None = Field(default=None, description="Gdoc export target.")
    sql_query: str | None = Field(default=None, description="Gdoc export SQL query.")


# --- arguments --------------------------------------------------------------------------------------------------------


class ListImportsParams(RequestModel):
    """Arguments of GET /imports/: filters and paging."""

    type: Annotated[str | None, comma_separated(SyncType)] = Field(
        default=None, description="Comma-separated sync types."
    )
    destination: str | None = Field(default=None, description="Comma-sep destination host IDs.")
    source: str | None = Field(default=None, description="Comma-sep source host IDs; type=Dbsync.")
    status: Annotated[str | None, comma_separated(ImportStatus)] = Field(
        default=None, description="Comma-sep: running,failed,succeeded,idle,scheduled."
    )
    author: str | None = Field(default=None, description="Comma-sep author user IDs.")
    hidden: Hidden
    archived: Archived | None = Field(default=None, description="Archived filter (default false).")
    limit: int | None = Field(default=None, ge=1, le=50, description="Per page (default 20).")
    page_num: PageNum
    order: ImportOrder | None = Field(default=None, description="Sort field (default updated_at).")
    order_dir: OrderDir | None = Field(default=None, description="Default desc.")


class _WithImportId(RequestModel):
    id: ImportId


class CreateImportParams(_ImportBody):
    """Arguments of POST /imports/."""

    hidden: bool | None = Field(default=None, description="Hide the import from lists.")


class ReplaceImportParams(_ImportBody, _WithImportId):
    """Arguments of PUT /imports/{id}."""


class UpdateImportParams(RequestModel):
    """Arguments of PATCH /imports/{id}; only given fields change."""

    id: ImportId
    name: str | None = Field(default=None, description="Import name.")
    source: DataSourcePatch | None = Field(default=None, description="Source host.")
    destination: DataSourcePatch | None = Field(default=None, description="Destination host.")
    running_as_id: int | None = Field(default=None, description="Run-as user ID.")
    schedule: ScheduleInput | None = Field(default=None, description="When the import runs.")
    next_run_at: str | None = Field(default=None, description="ISO 8601 time.")
    notifications: NotificationsInput | None = Field(default=None, description="E-mails and webhooks.")
    time_zone: str | None = Field(default=None, description="IANA time zone.")


class CloneImportParams(RequestModel):
    """Arguments of POST /imports/{id}/clone."""

    id: ImportId
    clone_schedule: bool | None = Field(default=None, description="Copy the schedule too.")
    clone_notifications: bool | None = Field(default=None, description="Copy the notifications too.")


class _WithSyncId(RequestModel):
    id: ImportId
    sync_id: SyncId


class CreateSyncParams(RequestModel):
    """Arguments of POST /imports/{id}/syncs."""

    id: ImportId
    source: SyncSourceInput = Field(description="What the sync reads.")
    destination: SyncDestinationInput = Field(description="Where the sync writes.")
    advanced_options: AdvancedSyncOptionsInput | None = Field(default=None, description="Sync options.")


class ReplaceSyncParams(_WithSyncId):
    """Arguments of PUT /imports/{id}/syncs/{sync_id}."""

    source: SyncSourceInput = Field(description="What the sync reads.")
    destination: SyncDestinationInput = Field(description="Where the sync writes.")
    advanced_options: AdvancedSyncOptionsInput | None = Field(default=None, description="Sync options.")


class UpdateSyncParams(_WithSyncId):
    """Arguments of PATCH /imports/{id}/syncs/{sync_id}; only given fields change."""

    source: SyncSourcePatch | None = Field(default=None, description="What the sync reads.")
    destination: SyncDestinationPatch | None = Field(default=None, description="Where the sync writes.")
    advanced_options: AdvancedSyncOptionsInput | None = Field(default=None, description="Sync options.")


class ArchiveSyncParams(_WithSyncId):
    """Arguments of PUT /imports/{id}/syncs/{sync_id}/archive."""

    status: bool | None = Field(default=None, description="true to archive.")


# --- response objects -------------------------------------------------------------------------------------------------


class DatabaseTable(ResponseModel):
    """A database table (ImportDatabaseTable)."""

    schema: str | None = None  # type: ignore[assignment]
    table: str | None = None


class SyncFile(ResponseModel):
    """A Civis file (ImportFile)."""

    id: int | None = None
    name: str | None = None


class GoogleWorksheet(ResponseModel):
    """A Google spreadsheet tab (ImportGoogleWorksheet)."""

    spreadsheet: str | None = None
    spreadsheet_id: str | None = None
    worksheet: str | None = None
    worksheet_id: int | None = None


class SyncSource(ResponseModel):
    """What a sync reads (ImportSyncSource)."""

    id: int | None = None
    database_table: DatabaseTable | None = None
    file: SyncFile | None = None
    google_worksheet: GoogleWorksheet | None = None


class SyncSourceLegacy(SyncSource):
    """What a sync reads, with the legacy path (ImportSyncSourceLegacy)."""

    path: str | None = None


class SyncDestination(ResponseModel):
    """Where a sync writes (ImportSyncDestination)."""

    database_table: DatabaseTable | None = None
    google_worksheet: GoogleWorksheet | None = None


class SyncDestinationLegacy(SyncDestination):
    """Where a sync writes, with the legacy path (ImportSyncDestinationLegacy)."""

    path: str | None = None


class ColumnOverride(ResponseModel):
    """Replacement name and type of one column (ImportColumnOverride)."""

    name: str | None = None
    type: str | None = None


class AdvancedSyncOptions(ResponseModel):
    """A sync's options (ImportAdvancedSyncOptions)."""

    max_errors: int | None = None
    existing_table_rows: ReportedExistingTableRows | None = None
    first_row_is_header: bool | None = None
    diststyle: ReportedDistStyle | None = None
    distkey: str | None = None
    sortkey1: str | None = None
    sortkey2: str | None = None
    column_delimiter: ReportedColumnDelimiter | None = None
    column_overrides: dict[str, ColumnOverride] | None = None
    escaped: bool | None = None
    identity_column: str | None = None
    last_modified_column: str | None = None
    row_chunk_size: int | None = None
    wipe_destination_table: bool | None = None
    truncate_long_lines: bool | None = None
    invalid_char_replacement: str | None = None
    verify_table_row_counts: bool | None = None
    # str, not ExportAction: a response must not fail on a value the prose did not list.
    export_action: str | None = None
    sql_query: str | None = None


class Sync(ResponseModel):
    """One sync of an import job (ImportSyncLegacy)."""

    id: int | None = None
    source: SyncSourceLegacy | None = None
    destination: SyncDestinationLegacy | None = None
    advanced_options: AdvancedSyncOptions | None = None


class SyncUpdated(ResponseModel):
    """A sync as PATCH returns it (ImportSync): like Sync, without the legacy paths."""

    id: int | None = None
    source: SyncSource | None = None
    destination: SyncDestination | None = None
    advanced_options: AdvancedSyncOptions | None = None


class ImportSummary(ResponseModel):
    """An import job in a list (ImportSummary)."""

    id: int | None = None
    name: str | None = None
    source: DataSource | None = None
    destination: DataSource | None = None
    # str, not SyncType: older jobs carry types the prose no longer lists (e.g. Salesforce).
    sync_type: str | None = None
    is_outbound: bool | None = None
    job_type: str | None = None
    state: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    last_run: JobRun | None = None
    user: User | None = None
    schedule: Schedule | None = None
    time_zone: str | None = None
    archived: bool | None = None


class Import(ImportSummary):
    """An import job in full (Import): the summary plus syncs, notifications and more."""

    parent_id: int | None = None
    syncs: list[Sync] | None = None
    running_as: User | None = None
    next_run_at: str | None = None
    notifications: Notifications | None = None
    hidden: bool | None = None
    my_permission_level: ReportedPermissionLevel | None = None


class ImportJobRun(ResponseModel):
    """The run just started (ImportRunImport)."""

    run_id: int | None = None


class ImportJobRunSummary(ResponseModel):
    """One run of an import job (ImportRunSummary)."""

    id: int | None = None
    import_id: int | None = None
    state: ReportedRunState | None = None
    is_cancel_requested: bool | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
