"""Models of ``GET /jobs``, the one operation outside the Imports API that civis-mcp reads.

Civis lists jobs of every kind there (imports among them), filtered by type, last-run state, name, schedule and
author; the Imports API itself has no list of CSV imports. ``imports_find`` reads it (see ``civis_mcp.jobs``).
Checked against the full Civis spec shipped with civis-python in ``tests/test_find.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from civis_mcp.models.base import RequestModel, ResponseModel
from civis_mcp.models.common import (
    JobRun,
    OrderDir,
    PageNum,
    PermissionLevel,
    RunState,
    Schedule,
    User,
    comma_separated,
)

__all__ = ["JobOrder", "JobSummary", "ListJobsParams"]

JobOrder = Literal["updated_at", "last_run_updated_at"]  # from the prose of GET /jobs order


class ListJobsParams(RequestModel):
    """Arguments of GET /jobs/ (comma-separated lists are sent as one string, as the spec says)."""

    state: Annotated[str | None, comma_separated(RunState)] = Field(default=None, description="Comma-sep states.")
    type: str | None = Field(default=None, description="Comma-sep job types, e.g. JobTypes::CsvImport.")
    q: str | None = Field(default=None, description="Search on ID, name and job type.")
    permission: PermissionLevel | None = Field(default=None, description="Only jobs with this permission.")
    scheduled: bool | None = Field(default=None, description="Only scheduled (or unscheduled) jobs.")
    hidden: bool | None = Field(default=None, description="True to list hidden jobs.")
    archived: Literal["true", "false", "all", ""] | None = Field(default=None, description="Archived filter.")
    author: str | None = Field(default=None, description="Comma-sep author user IDs.")
    limit: int | None = Field(default=None, ge=1, le=50, description="Per page (default 50).")
    page_num: PageNum
    order: JobOrder | None = Field(default=None, description="Sort field (default updated_at).")
    order_dir: OrderDir | None = Field(default=None, description="Default desc.")


class JobSummary(ResponseModel):
    """A job in GET /jobs (JobSummary)."""

    id: int | None = None
    name: str | None = None
    type: str | None = None
    from_template_id: int | None = None
    state: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    last_run_updated_at: str | None = None
    last_run: JobRun | None = None
    archived: bool | None = None
    author: User | None = None
    schedule: Schedule | None = None
