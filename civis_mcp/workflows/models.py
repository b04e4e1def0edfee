"""Arguments and results of the workflow tools (find imports, diagnose a run, wait for a run, tail a run's log)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from civis_mcp.models.base import RequestModel
from civis_mcp.vocabulary import Kind, KindName, RunState, SeverityLevel

KindArg = KindName
_KIND = "Kind (default: detected)."


class DiagnoseParams(RequestModel):
    import_id: int = Field(description="Import ID.")
    run_id: int | None = Field(default=None, description="Run ID (default: latest failed).")
    kind: KindArg | None = Field(default=None, description=_KIND)


class WaitParams(RequestModel):
    import_id: int = Field(description="Import ID.")
    run_id: int | None = Field(default=None, description="Run to wait for (default: latest).")
    kind: KindArg | None = Field(default=None, description=_KIND)
    timeout_seconds: float = Field(
        default=25,
        gt=0,
        le=3600,
        description="Seconds for this call; call again if still running.",
    )


class TailParams(RequestModel):
    import_id: int = Field(description="Import ID.")
    run_id: int | None = Field(default=None, description="Run to read (default: latest).")
    kind: KindArg | None = Field(default=None, description=_KIND)
    lines: int = Field(default=50, ge=1, le=1000, description="Lines to read.")
    after_id: int | None = Field(default=None, description="Lines after this log ID.")
    level: SeverityLevel | None = Field(default=None, description="Minimum level.")


class FindParams(RequestModel):
    state: list[RunState] | None = Field(default=None, description="Last-run states.")
    kind: Literal["import", "csv", "batch"] | None = Field(default=None, description="Only this kind.")
    q: str | None = Field(default=None, description="Name or ID.")
    scheduled: bool | None = Field(default=None, description="Scheduled (true) or not (false).")
    author: int | None = Field(default=None, description="Author's user ID.")
    order: Literal["last_run", "updated"] = Field(default="last_run", description="Latest run or latest change first.")
    limit: int = Field(default=20, ge=1, le=50, description="Per page.")
    page_num: int = Field(default=1, ge=1, description="Page number.")
    hidden: bool = Field(default=True, description="With hidden ones, e.g. file imports.")


class FoundRun(BaseModel):
    id: int | None = None
    state: str | None = None
    at: str | None = Field(default=None, description="When it finished (or started, or was queued).")
    error: str | None = None


class FoundImport(BaseModel):
    id: int
    name: str | None = None
    kind: Kind
    last_run: FoundRun | None = None
    scheduled: bool = False
    next_run_at: str | None = None
    author: str | None = None
    hidden: bool = False


class FindResult(BaseModel):
    items: list[FoundImport]
    tools: dict[str, str] = Field(description="The tools for each kind listed.")
    next_page: int | None = None
    note: str | None = None


class RowCounts(BaseModel):
    """Rows a run loaded and rejected, as its log says (None when the log does not say)."""

    rows_loaded: int | None = None
    rows_rejected: int | None = None


class RunFacts(BaseModel):
    """A run's state and timing, whatever the kind of import."""

    id: int | None = None
    state: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


class LogLine(BaseModel):
    id: int
    level: str | None = None
    created_at: str | None = None
    message: str


class Fix(BaseModel):
    """A change that should make the next run succeed, as a tool call."""

    tool: str
    arguments: dict[str, Any]
    explanation: str
    then: str = Field(description="What to do after applying the fix.")


Cause = Literal[
    "delimiter_or_column_count",
    "header_mismatch",
    "type_conversion",
    "table_exists",
    "existing_table_differs",
    "compression",
    "upsert_keys",
    "permission_or_credential",
    "missing_file",
    "not_found",
    "missing_column",
    "row_count_mismatch",
    "upstream_timeout",
    "cancelled",
    "not_failed",
    "unknown",
]


class Diagnosis(BaseModel):
    """Why a run failed and how to fix it."""

    kind: Kind
    import_id: int
    import_name: str | None = None
    run: RunFacts
    cause: Cause
    summary: str
    evidence: list[LogLine] = Field(default_factory=list, description="Error log lines with a little context.")
    configuration: dict[str, Any] = Field(default_factory=dict, description="Current values of the settings involved.")
    fix: Fix | None = None
    rows: RowCounts | None = None
    not_examined: list[str] = Field(default_factory=list)


class WaitResult(BaseModel):
    kind: Kind
    import_id: int
    run: RunFacts
    finished: bool
    waited_seconds: float
    rows: RowCounts | None = None
    note: str


class TailResult(BaseModel):
    kind: Kind
    import_id: int
    run_id: int
    lines: list[LogLine]
    examined: int = Field(description="Log lines looked at (before the level filter).")
    complete: bool = Field(description="True when the whole log (so far) was examined.")
    next_after_id: int | None = Field(default=None, description="Pass as after_id to read on.")
    filtered_out: dict[str, int] | None = Field(default=None, description="Lines the level filter left out, by level.")
    note: str | None = None
