"""Parts of the Imports API shared by many operations, defined once.

Argument models for the path and paging parameters that recur across operations live here too, so that
``id`` or ``limit`` is described the same way in every tool.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field

from civis_mcp.models.base import KnownValues, RequestModel, ResponseModel

# Defined once in ``vocabulary``; re-exported here beside the other closed sets of the API.
from civis_mcp.vocabulary import ENDED_RUN_STATES as ENDED_RUN_STATES
from civis_mcp.vocabulary import LogLevel as LogLevel
from civis_mcp.vocabulary import RunState as RunState

# --- closed sets shared across operations -------------------------------------------------------------------------

OrderDir = Literal["asc", "desc"]
PermissionLevel = Literal["read", "write", "manage"]
SyncType = Literal["Dbsync", "AutoImport", "GdocImport", "GdocExport"]  # from the prose of syncType
ExistingTableRows = Literal["append", "truncate", "fail", "drop"]  # syncs and file imports; CSV imports add "upsert"
DistStyle = Literal["even", "all", "key"]
ColumnDelimiter = Literal["comma", "tab", "pipe"]

# The same sets as Civis reports them in responses: documented, but open (see ``KnownValues``).
ReportedRunState = Annotated[str, KnownValues(RunState)]
ReportedPermissionLevel = Annotated[str, KnownValues(PermissionLevel)]
ReportedLogLevel = Annotated[str, KnownValues(LogLevel)]
ReportedSyncType = Annotated[str, KnownValues(SyncType)]
ReportedExistingTableRows = Annotated[str, KnownValues(ExistingTableRows)]
ReportedDistStyle = Annotated[str, KnownValues(DistStyle)]
ReportedColumnDelimiter = Annotated[str, KnownValues(ColumnDelimiter)]


def comma_separated(closed_set: Any) -> AfterValidator:
    """Checks a comma-separated argument (as the spec sends several values in one string) against a closed set: a
    value outside it is refused with the valid values, instead of silently matching nothing upstream."""
    valid = tuple(get_args(closed_set))

    def check(text: str | None) -> str | None:
        if text is None:
            return None
        wrong = [part.strip() for part in text.split(",") if part.strip() not in valid]
        if wrong:
            raise ValueError(
                f"{', '.join(repr(part) for part in wrong)} not allowed; use one or more of {', '.join(valid)}"
            )
        return text

    return AfterValidator(check)


# --- reusable argument fields -----------------------------------------------------------------------------------------

ImportId = Annotated[int, Field(description="Import ID.")]
RunId = Annotated[int, Field(description="Run ID.")]
PageNum = Annotated[int | None, Field(default=None, ge=1, description="Page number.")]
Hidden = Annotated[bool | None, Field(default=None, description="Hidden items only.")]


class ImportIdParams(RequestModel):
    """Arguments of an operation that names one import and nothing else."""

    id: ImportId


class RunIdParams(RequestModel):
    """Arguments of an operation on one run of one import."""

    id: ImportId
    run_id: RunId


class RunLogsParams(RequestModel):
    """Arguments of a run-log read: the run, a cursor and a page size."""

    id: ImportId
    run_id: RunId
    last_id: int | None = Field(default=None, description="Lines after this log ID.")
    limit: int | None = Field(default=None, ge=1, le=10000, description="Max lines (default 10000).")


class ListRunsParams(RequestModel):
    """Arguments of a paged list of an import's runs."""

    id: ImportId
    limit: int | None = Field(default=None, ge=1, le=100, description="Per page (default 20).")
    page_num: PageNum
    order: Literal["id"] | None = Field(default=None, description="Sort field.")
    order_dir: OrderDir | None = Field(default=None, description="Default desc.")


# --- reusable response objects ----------------------------------------------------------------------------------------


class User(ResponseModel):
    """A Civis user as embedded in other objects (author, owner, run-as user)."""

    id: int | None = None
    name: str | None = None
    username: str | None = None
    initials: str | None = None
    online: bool | None = None


class LogEntry(ResponseModel):
    """One line of a run's log."""

    id: int | None = None
    created_at: str | None = None
    message: str | None = None
    level: ReportedLogLevel | None = None


class DataSource(ResponseModel):
    """A remote host and credential (ImportDataSource)."""

    remote_host_id: int | None = None
    credential_id: int | None = None
    additional_credentials: list[int] | None = None
    name: str | None = None


class JobRun(ResponseModel):
    """A job's run as jobs report it (JobRun): state, timing and error."""

    id: int | None = None
    state: ReportedRunState | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


class CancelledRun(ResponseModel):
    """The state of a run after a cancel request."""

    id: int | None = None
    state: ReportedRunState | None = None
    is_cancel_requested: bool | None = None


class ArchiveParams(RequestModel):
    """Arguments of archiving or unarchiving an import."""

    id: ImportId
    status: bool = Field(description="true to archive.")


class Schedule(ResponseModel):
    """When a job runs (JobSchedule)."""

    scheduled: bool | None = None
    scheduled_days: list[int] | None = None
    scheduled_hours: list[int] | None = None
    scheduled_minutes: list[int] | None = None
    scheduled_days_of_month: list[int] | None = None


class Notifications(ResponseModel):
    """E-mails and webhooks sent when a job ends (JobNotifications)."""

    urls: list[str] | None = None
    success_email_subject: str | None = None
    success_email_body: str | None = None
    success_email_addresses: list[str] | None = None
    success_email_from_name: str | None = None
    success_email_reply_to: str | None = None
    failure_email_addresses: list[str] | None = None
    stall_warning_minutes: int | None = None
    success_on: bool | None = None
    failure_on: bool | None = None
