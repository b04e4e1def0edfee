"""OPERATIONS: the one table of Civis Imports API operations.

Every tool, its schemas, annotations, safety class and toolset, the HTTP request it sends, the manifests in
``tool_manifests/`` and the ``civis-mcp tools`` catalog, the guard's effect policy, the tools the workflows use for
each kind of import (``kind_tool``) and the sandbox's route and handler are derived from the entries below. Adding an
operation is one entry here plus its models (and, for the sandbox, its handler function).
``tests/test_spec_agreement.py`` checks every entry against the official spec; ``tests/test_one_table.py`` adds a
throw-away entry and shows everything appear from it.

Where the request parameters go is derived, not declared: names in the path template are path parameters; the other
arguments of GET and DELETE are query parameters and those of POST, PUT and PATCH form the JSON body. The spec has no
operation that breaks this rule (the spec test would fail if one appeared).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Literal

from civis_mcp import models as m
from civis_mcp import previews as assess
from civis_mcp.effects import Effect, Guard
from civis_mcp.models.base import RequestModel, ResponseModel
from civis_mcp.vocabulary import Kind, Role, Toolset

__all__ = [
    "OPERATIONS",
    "OPERATIONS_BY_TOOL",
    "Kind",
    "Operation",
    "Role",
    "Safety",
    "Toolset",
    "kind_of_path",
    "kind_tool",
    "verification_tool",
]

Verb = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class Safety(StrEnum):
    """How much harm a call can do, derived from the entry: a GET reads; an entry with a ``guard`` (an effect policy)
    is destructive; anything else writes. Decides the annotations."""

    READ = "read"
    WRITE = "write"
    DESTRUCTIVE = "destructive"


_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One Civis Imports API operation and everything needed to expose it as an MCP tool."""

    method: str
    """civis-python method name on ``client.imports``; the tool is ``imports_<method>``."""
    verb: Verb
    path: str
    """Path template exactly as in the spec, e.g. ``/imports/files/csv/{id}``."""
    params: type[RequestModel]
    response: type[ResponseModel] | None
    """Model of the response object (of each item for list operations); None when the API answers with no body."""
    title: str
    description: str
    toolset: Toolset
    sandbox: str
    """The sandbox handler that serves it: ``module.function`` under ``civis_mcp.sandbox.handlers``, or an absolute
    ``package.module:function``. Resolved when the sandbox app is built (an unknown name fails there)."""
    role: Role | None = None
    """What it does for its kind of import (``kind``), so the workflows find it by kind and role."""
    also_for: frozenset[Kind] = frozenset()
    """Other kinds it plays the same role for."""
    returns_list: bool = False
    """True when the API answers with a JSON array."""
    guard: Guard | None = None
    """The effect policy: what the call can destroy, move out or expose, and the assessor that says, from the
    arguments and the live state, whether this call does. Every DELETE has one (``tests/test_effects.py``)."""
    idempotent: bool | None = None
    """Override of the idempotency rule (every verb but POST)."""
    verify_with: str | None = None
    """Override of the rule in ``verification_tool``; "" when no read tool can show the outcome."""

    @property
    def tool_name(self) -> str:
        return f"imports_{self.method}"

    @property
    def kind(self) -> Kind | None:
        """The kind of import its ``{id}`` names, from the path; None when it serves every kind (shares, ...)."""
        return kind_of_path(self.path)

    @property
    def safety_class(self) -> Safety:
        if self.verb == "GET":
            return Safety.READ
        return Safety.DESTRUCTIVE if self.guard is not None else Safety.WRITE

    @property
    def is_idempotent(self) -> bool:
        return self.idempotent if self.idempotent is not None else self.verb != "POST"

    @cached_property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def sends_body(self) -> bool:
        return self.verb in ("POST", "PUT", "PATCH")

    @property
    def paginated(self) -> bool:
        """True when the API pages the result (it takes ``page_num`` and sends ``X-Pagination-*``)."""
        return "page_num" in self.params.model_fields


# Effect policies shared by operations that change the same thing in two ways (replace, or update some fields).
_CHANGE_IMPORT_JOB = Guard(
    effects=frozenset({Effect.DESTROYS, Effect.MOVES_OUT, Effect.EXPOSES}),
    rule=(
        "destroys when it turns on the schedule of (or points at another host) a job whose syncs drop, "
        "truncate, upsert or wipe their tables; moves data out when it changes where, what or when an outbound job "
        "copies (a replace always does); exposes when it adds notification recipients"
    ),
    assess=assess.change_import_job,
)

_CHANGE_SYNC = Guard(
    effects=frozenset({Effect.DESTROYS, Effect.MOVES_OUT}),
    rule=(
        "destroys when the job runs on its own and the sync is set to drop, truncate, upsert or wipe a "
        "table (or pointed at another table in such a mode); moves data out when the job is outbound"
    ),
    assess=assess.change_sync,
)

_CHANGE_CSV_IMPORT = Guard(
    effects=frozenset({Effect.DESTROYS}),
    rule="destroys when it sets drop, truncate or upsert, or points such an import at another table",
    assess=assess.change_csv_import,
)


# Descriptions: a verb first, then when to use the tool and how it differs from its neighbours. "Import job" means the
# sync-based imports of GET /imports (Dbsync, AutoImport, GdocImport); CSV, file and batch imports have their own tools.
OPERATIONS: tuple[Operation, ...] = (
    # --- import jobs ------------------------------------------------------------------------------------------------
    Operation(
        method="list",
        verb="GET",
        path="/imports/",
        params=m.ListImportsParams,
        response=m.ImportSummary,
        title="List import jobs",
        description="List import jobs (Dbsync, AutoImport, GdocImport); for all kinds use imports_find.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.list_imports",
        returns_list=True,
    ),
    Operation(
        method="get",
        verb="GET",
        path="/imports/{id}",
        params=m.ImportIdParams,
        response=m.Import,
        title="Get an import job",
        description="Get an import job with its syncs and last run.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.get_import",
        role=Role.GET,
    ),
    Operation(
        method="post",
        verb="POST",
        path="/imports/",
        params=m.CreateImportParams,
        response=m.Import,
        title="Create an import job",
        description="Create an import job (Dbsync, AutoImport, GdocImport), then add syncs; for CSV use "
        "imports_post_files_csv.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.create_import",
        guard=Guard(
            effects=frozenset({Effect.MOVES_OUT, Effect.EXPOSES}),
            rule=(
                "copies data out of Civis when it is outbound (is_outbound), and tells new recipients of every "
                "run when notifications name e-mail addresses or webhook URLs"
            ),
            assess=assess.create_import_job,
        ),
    ),
    Operation(
        method="put",
        verb="PUT",
        path="/imports/{id}",
        params=m.ReplaceImportParams,
        response=m.Import,
        title="Replace an import job",
        description="Replace all settings of an import job; omitted ones reset.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.replace_import",
        guard=_CHANGE_IMPORT_JOB,
    ),
    Operation(
        method="patch",
        verb="PATCH",
        path="/imports/{id}",
        params=m.UpdateImportParams,
        response=m.Import,
        title="Update an import job",
        description="Change some settings of an import job; the rest stay.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.update_import",
        role=Role.FIX,
        guard=_CHANGE_IMPORT_JOB,
    ),
    Operation(
        method="post_clone",
        verb="POST",
        path="/imports/{id}/clone",
        params=m.CloneImportParams,
        response=m.Import,
        title="Clone an import job",
        description="Copy an import job, optionally with schedule and notifications.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.clone_import",
        verify_with="imports_list",  # the copy is a new import job, not a change to the original
        guard=Guard(
            effects=frozenset({Effect.DESTROYS, Effect.MOVES_OUT}),
            rule="destroys or moves data out when the copy keeps the schedule (clone_schedule) of a job whose runs do",
            assess=assess.clone_import_job,
        ),
    ),
    Operation(
        method="put_archive",
        verb="PUT",
        path="/imports/{id}/archive",
        params=m.ArchiveParams,
        response=m.Import,
        title="Archive or restore an import job",
        description="Archive (status=true) or unarchive an import job; archived jobs stop running.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.archive_import",
        guard=Guard(
            effects=frozenset({Effect.STOPS, Effect.DESTROYS, Effect.MOVES_OUT}),
            rule="stops or hides work when archiving; when unarchiving a job that runs on its own, what its runs do",
            assess=assess.archive_import_job,
            needs="manage",
        ),
    ),
    Operation(
        method="post_syncs",
        verb="POST",
        path="/imports/{id}/syncs",
        params=m.CreateSyncParams,
        response=m.Sync,
        title="Add a sync to an import job",
        description="Add a sync (one source -> one table) to an import job.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.create_sync",
        guard=Guard(
            effects=frozenset({Effect.DESTROYS, Effect.MOVES_OUT}),
            rule=(
                "destroys when the job runs on its own and the new sync drops, truncates, upserts or wipes its "
                "table; moves data out when the job is outbound"
            ),
            assess=assess.change_sync,
        ),
    ),
    Operation(
        method="put_syncs",
        verb="PUT",
        path="/imports/{id}/syncs/{sync_id}",
        params=m.ReplaceSyncParams,
        response=m.Sync,
        title="Replace a sync",
        description="Replace a sync; omitted options reset.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.replace_sync",
        guard=_CHANGE_SYNC,
    ),
    Operation(
        method="patch_syncs",
        verb="PATCH",
        path="/imports/{id}/syncs/{sync_id}",
        params=m.UpdateSyncParams,
        response=m.SyncUpdated,
        title="Update a sync",
        description="Change some of a sync's settings; the rest stay.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.update_sync",
        role=Role.FIX_SYNC,
        also_for=frozenset({Kind.FILE}),  # file imports are import jobs: their settings live on syncs
        guard=_CHANGE_SYNC,
    ),
    Operation(
        method="put_syncs_archive",
        verb="PUT",
        path="/imports/{id}/syncs/{sync_id}/archive",
        params=m.ArchiveSyncParams,
        response=m.Sync,
        title="Archive or restore a sync",
        description="Archive (status=true) or unarchive a sync.",
        toolset=Toolset.IMPORTS,
        sandbox="imports.archive_sync",
        guard=Guard(
            effects=frozenset({Effect.STOPS, Effect.DESTROYS, Effect.MOVES_OUT}),
            rule=(
                "stops loading a table when archiving; when unarchiving in a job that runs on its own, what that "
                "sync's runs do"
            ),
            assess=assess.archive_sync,
            needs="manage",
        ),
    ),
    # --- runs of import jobs ----------------------------------------------------------------------------------------
    Operation(
        method="post_runs",
        verb="POST",
        path="/imports/{id}/runs",
        params=m.ImportIdParams,
        response=m.ImportJobRun,
        title="Run an import job",
        description="Start a run of an import job (not CSV or file imports: they have their own).",
        toolset=Toolset.RUNS,
        sandbox="runs.start_import_run",
        role=Role.START,
        guard=Guard(
            effects=frozenset({Effect.DESTROYS, Effect.MOVES_OUT}),
            rule=(
                "destroys when a sync drops, truncates, upserts or wipes its destination table; moves data out "
                "when the job is outbound"
            ),
            assess=assess.run_import_job,
        ),
    ),
    Operation(
        method="list_runs",
        verb="GET",
        path="/imports/{id}/runs",
        params=m.ListRunsParams,
        response=m.ImportJobRunSummary,
        title="List an import job's runs",
        description="List an import job's runs, newest first.",
        toolset=Toolset.RUNS,
        sandbox="runs.list_import_runs",
        role=Role.LIST_RUNS,
        returns_list=True,
    ),
    Operation(
        method="post_cancel",
        verb="POST",
        path="/imports/{id}/cancel",
        params=m.ImportIdParams,
        response=m.CancelledRun,
        title="Cancel an import job's run",
        description="Cancel an import job's active run (not CSV or file imports: they have their own).",
        toolset=Toolset.RUNS,
        sandbox="runs.cancel_import_run",
        role=Role.CANCEL,
        idempotent=True,  # cancelling a cancelled run changes nothing
        guard=Guard(
            effects=frozenset({Effect.STOPS}),
            rule="stops the active run (the one shown, or nothing is sent)",
            assess=assess.cancel_import_job,
        ),
    ),
    Operation(
        method="list_runs_logs",
        verb="GET",
        path="/imports/{id}/runs/{run_id}/logs",
        params=m.RunLogsParams,
        response=m.LogEntry,
        title="Read an import job run's logs",
        description="Read an import job run's log lines; page with last_id.",
        toolset=Toolset.RUNS,
        sandbox="runs.import_run_logs",
        role=Role.LOGS,
        returns_list=True,
    ),
    # --- file imports -----------------------------------------------------------------------------------------------
    Operation(
        method="post_files",
        verb="POST",
        path="/imports/files",
        params=m.CreateFileImportParams,
        response=m.FileUpload,
        title="Start a file upload import",
        description="Create an import of one uploaded file into a table; returns the upload URI.",
        toolset=Toolset.FILES,
        sandbox="files.create_file_import",
        verify_with="",  # no tool lists file imports
    ),
    Operation(
        method="post_files_runs",
        verb="POST",
        path="/imports/files/{id}/runs",
        params=m.ImportIdParams,
        response=m.FileImportRun,
        title="Run a file import",
        description="Start a run of a file import.",
        toolset=Toolset.RUNS,
        sandbox="runs.start_file_import_run",
        role=Role.START,
        guard=Guard(
            effects=frozenset({Effect.DESTROYS}),
            rule="destroys when the file import drops, truncates or upserts into its table",
            assess=assess.run_file_import,
        ),
    ),
    Operation(
        method="list_files_runs",
        verb="GET",
        path="/imports/files/{id}/runs",
        params=m.ListRunsParams,
        response=m.FileImportRun,
        title="List a file import's runs",
        description="List a file import's runs, newest first.",
        toolset=Toolset.RUNS,
        sandbox="runs.list_file_import_runs",
        role=Role.LIST_RUNS,
        returns_list=True,
    ),
    Operation(
        method="get_files_runs",
        verb="GET",
        path="/imports/files/{id}/runs/{run_id}",
        params=m.RunIdParams,
        response=m.FileImportRun,
        title="Get a file import run",
        description="Get one file import run: state, timing, error.",
        toolset=Toolset.RUNS,
        sandbox="runs.get_file_import_run",
        role=Role.GET_RUN,
    ),
    Operation(
        method="delete_files_runs",
        verb="DELETE",
        path="/imports/files/{id}/runs/{run_id}",
        params=m.RunIdParams,
        response=None,
        title="Cancel a file import run",
        description="Cancel a queued or running file import run.",
        toolset=Toolset.RUNS,
        sandbox="runs.cancel_file_import_run",
        role=Role.CANCEL,
        guard=Guard(
            effects=frozenset({Effect.STOPS}),
            rule="stops the run",
            assess=assess.cancel_file_run,
        ),
    ),
    Operation(
        method="list_files_runs_logs",
        verb="GET",
        path="/imports/files/{id}/runs/{run_id}/logs",
        params=m.RunLogsParams,
        response=m.LogEntry,
        title="Read a file import run's logs",
        description="Read a file import run's log lines; page with last_id.",
        toolset=Toolset.RUNS,
        sandbox="runs.file_import_run_logs",
        role=Role.LOGS,
        returns_list=True,
    ),
    Operation(
        method="get_files_runs_inputs",
        verb="GET",
        path="/imports/files/{id}/runs/{run_id}/inputs",
        params=m.RunIdParams,
        response=m.FileImportRunInputs,
        title="Get a file import run's inputs",
        description="Get the files and settings a file import run was given.",
        toolset=Toolset.RUNS,
        sandbox="runs.file_import_run_inputs",
    ),
    # --- CSV imports ------------------------------------------------------------------------------------------------
    Operation(
        method="post_files_csv",
        verb="POST",
        path="/imports/files/csv",
        params=m.CreateCsvImportParams,
        response=m.CsvImport,
        title="Create a CSV import",
        description="Create a CSV import (Civis files or storage paths -> one table); start it with "
        "imports_post_files_csv_runs.",
        toolset=Toolset.CSV,
        sandbox="csv.create_csv_import",
        verify_with="",  # no tool lists CSV imports
    ),
    Operation(
        method="get_files_csv",
        verb="GET",
        path="/imports/files/csv/{id}",
        params=m.ImportIdParams,
        response=m.CsvImport,
        title="Get a CSV import",
        description="Get a CSV import's settings.",
        toolset=Toolset.CSV,
        sandbox="csv.get_csv_import",
        role=Role.GET,
    ),
    Operation(
        method="put_files_csv",
        verb="PUT",
        path="/imports/files/csv/{id}",
        params=m.ReplaceCsvImportParams,
        response=m.CsvImport,
        title="Replace a CSV import",
        description="Replace all settings of a CSV import; omitted ones reset.",
        toolset=Toolset.CSV,
        sandbox="csv.replace_csv_import",
        guard=_CHANGE_CSV_IMPORT,
    ),
    Operation(
        method="patch_files_csv",
        verb="PATCH",
        path="/imports/files/csv/{id}",
        params=m.UpdateCsvImportParams,
        response=m.CsvImport,
        title="Update a CSV import",
        description="Change some settings of a CSV import; the rest stay.",
        toolset=Toolset.CSV,
        sandbox="csv.update_csv_import",
        role=Role.FIX,
        guard=_CHANGE_CSV_IMPORT,
    ),
    Operation(
        method="put_files_csv_archive",
        verb="PUT",
        path="/imports/files/csv/{id}/archive",
        params=m.ArchiveParams,
        response=m.CsvImport,
        title="Archive or restore a CSV import",
        description="Archive (status=true) or unarchive a CSV import.",
        toolset=Toolset.CSV,
        sandbox="csv.archive_csv_import",
        guard=Guard(
            effects=frozenset({Effect.STOPS}),
            rule="hides the import from everyone it is shared with",
            assess=assess.archive_csv_import,
            needs="manage",
        ),
    ),
    Operation(
        method="post_files_csv_runs",
        verb="POST",
        path="/imports/files/csv/{id}/runs",
        params=m.ImportIdParams,
        response=m.CsvImportRun,
        title="Run a CSV import",
        description="Start a run of a CSV import now.",
        toolset=Toolset.RUNS,
        sandbox="runs.start_csv_run",
        role=Role.START,
        guard=Guard(
            effects=frozenset({Effect.DESTROYS}),
            rule="destroys when the import drops, truncates or upserts into its table",
            assess=assess.run_csv_import,
        ),
    ),
    Operation(
        method="list_files_csv_runs",
        verb="GET",
        path="/imports/files/csv/{id}/runs",
        params=m.ListRunsParams,
        response=m.CsvImportRun,
        title="List a CSV import's runs",
        description="List a CSV import's runs, newest first.",
        toolset=Toolset.RUNS,
        sandbox="runs.list_csv_runs",
        role=Role.LIST_RUNS,
        returns_list=True,
    ),
    Operation(
        method="get_files_csv_runs",
        verb="GET",
        path="/imports/files/csv/{id}/runs/{run_id}",
        params=m.RunIdParams,
        response=m.CsvImportRun,
        title="Get a CSV import run",
        description="Get one CSV import run: state, timing, error.",
        toolset=Toolset.RUNS,
        sandbox="runs.get_csv_run",
        role=Role.GET_RUN,
    ),
    Operation(
        method="delete_files_csv_runs",
        verb="DELETE",
        path="/imports/files/csv/{id}/runs/{run_id}",
        params=m.RunIdParams,
        response=None,
        title="Cancel a CSV import run",
        description="Cancel a queued or running CSV import run.",
        toolset=Toolset.RUNS,
        sandbox="runs.cancel_csv_run",
        role=Role.CANCEL,
        guard=Guard(
            effects=frozenset({Effect.STOPS}),
            rule="stops the run",
            assess=assess.cancel_csv_run,
        ),
    ),
    Operation(
        method="list_files_csv_runs_logs",
        verb="GET",
        path="/imports/files/csv/{id}/runs/{run_id}/logs",
        params=m.RunLogsParams,
        response=m.LogEntry,
        title="Read a CSV import run's logs",
        description="Read a CSV import run's log lines; page with last_id.",
        toolset=Toolset.RUNS,
        sandbox="runs.csv_run_logs",
        role=Role.LOGS,
        returns_list=True,
    ),
    Operation(
        method="get_files_csv_runs_inputs",
        verb="GET",
        path="/imports/files/csv/{id}/runs/{run_id}/inputs",
        params=m.RunIdParams,
        response=m.CsvImportRunInputs,
        title="Get a CSV import run's inputs",
        description="Get the files and settings a CSV import run was given.",
        toolset=Toolset.RUNS,
        sandbox="runs.csv_run_inputs",
    ),
    # --- batch imports ----------------------------------------------------------------------------------------------
    Operation(
        method="list_batches",
        verb="GET",
        path="/imports/batches",
        params=m.ListBatchesParams,
        response=m.BatchImportSummary,
        title="List batch imports",
        description="List batch imports (many Civis files -> one table).",
        toolset=Toolset.FILES,
        sandbox="files.list_batches",
        returns_list=True,
    ),
    Operation(
        method="post_batches",
        verb="POST",
        path="/imports/batches",
        params=m.CreateBatchImportParams,
        response=m.BatchImport,
        title="Create a batch import",
        description="Load many Civis files into one table; starts at once.",
        toolset=Toolset.FILES,
        sandbox="files.create_batch",
    ),
    Operation(
        method="get_batches",
        verb="GET",
        path="/imports/batches/{id}",
        params=m.ImportIdParams,
        response=m.BatchImport,
        title="Get a batch import",
        description="Get a batch import: state, table, error.",
        toolset=Toolset.FILES,
        sandbox="files.get_batch",
        role=Role.GET,
    ),
    # --- sharing and ownership --------------------------------------------------------------------------------------
    Operation(
        method="list_shares",
        verb="GET",
        path="/imports/{id}/shares",
        params=m.ImportIdParams,
        response=m.Share,
        title="List who can access an import",
        description="List the users and groups with access to an import.",
        toolset=Toolset.SHARING,
        sandbox="sharing.list_shares",
        returns_list=True,
    ),
    Operation(
        method="put_shares_users",
        verb="PUT",
        path="/imports/{id}/shares/users",
        params=m.ShareWithUsersParams,
        response=m.Share,
        title="Share an import with users",
        description="Give users read, write or manage access to an import.",
        toolset=Toolset.SHARING,
        sandbox="sharing.share_with_users",
        guard=Guard(
            effects=frozenset({Effect.EXPOSES}),
            rule="always: grants access (and may e-mail them)",
            assess=assess.share_with_users,
            needs="manage",
        ),
    ),
    Operation(
        method="delete_shares_users",
        verb="DELETE",
        path="/imports/{id}/shares/users/{user_id}",
        params=m.RevokeUserShareParams,
        response=None,
        title="Revoke a user's access to an import",
        description="Remove one user's access to an import.",
        toolset=Toolset.SHARING,
        sandbox="sharing.revoke_user",
        guard=Guard(
            effects=frozenset({Effect.DESTROYS}),
            rule="always: removes a person's access",
            assess=assess.revoke_user,
            after=assess.access_now,
            needs="manage",
        ),
    ),
    Operation(
        method="put_shares_groups",
        verb="PUT",
        path="/imports/{id}/shares/groups",
        params=m.ShareWithGroupsParams,
        response=m.Share,
        title="Share an import with groups",
        description="Give groups read, write or manage access to an import.",
        toolset=Toolset.SHARING,
        sandbox="sharing.share_with_groups",
        guard=Guard(
            effects=frozenset({Effect.EXPOSES}),
            rule="always: grants a whole group access (and may e-mail them)",
            assess=assess.share_with_groups,
            needs="manage",
        ),
    ),
    Operation(
        method="delete_shares_groups",
        verb="DELETE",
        path="/imports/{id}/shares/groups/{group_id}",
        params=m.RevokeGroupShareParams,
        response=None,
        title="Revoke a group's access to an import",
        description="Remove one group's access to an import.",
        toolset=Toolset.SHARING,
        sandbox="sharing.revoke_group",
        guard=Guard(
            effects=frozenset({Effect.DESTROYS}),
            rule="always: removes a group's access",
            assess=assess.revoke_group,
            after=assess.access_now,
            needs="manage",
        ),
    ),
    Operation(
        method="list_dependencies",
        verb="GET",
        path="/imports/{id}/dependencies",
        params=m.ListDependenciesParams,
        response=m.Dependency,
        title="List an import's dependencies",
        description="List what an import depends on and whether a user may use it; check before imports_put_transfer.",
        toolset=Toolset.SHARING,
        sandbox="sharing.list_dependencies",
        returns_list=True,
    ),
    Operation(
        method="put_transfer",
        verb="PUT",
        path="/imports/{id}/transfer",
        params=m.TransferParams,
        response=m.Transfer,
        title="Transfer an import's ownership",
        description="Make another user an import's owner.",
        toolset=Toolset.SHARING,
        sandbox="sharing.transfer",
        guard=Guard(
            effects=frozenset({Effect.EXPOSES}),
            rule="always: hands control to another person (and may share dependencies and e-mail them)",
            assess=assess.transfer,
            after=assess.owner_now,
            needs="manage",
        ),
    ),
    # --- projects ---------------------------------------------------------------------------------------------------
    Operation(
        method="list_projects",
        verb="GET",
        path="/imports/{id}/projects",
        params=m.ListProjectsParams,
        response=m.Project,
        title="List an import's projects",
        description="List the projects an import belongs to.",
        toolset=Toolset.PROJECTS,
        sandbox="sharing.list_projects",
        returns_list=True,
    ),
    Operation(
        method="put_projects",
        verb="PUT",
        path="/imports/{id}/projects/{project_id}",
        params=m.ProjectLinkParams,
        response=None,
        title="Add an import to a project",
        description="Add an import to a project.",
        toolset=Toolset.PROJECTS,
        sandbox="sharing.add_to_project",
        guard=Guard(
            effects=frozenset({Effect.EXPOSES}),
            rule="always: the project's members can see the import, and an auto-sharing project gives them access",
            assess=assess.add_to_project,
        ),
    ),
    Operation(
        method="delete_projects",
        verb="DELETE",
        path="/imports/{id}/projects/{project_id}",
        params=m.ProjectLinkParams,
        response=None,
        title="Remove an import from a project",
        description="Remove an import from a project (the import stays).",
        toolset=Toolset.PROJECTS,
        sandbox="sharing.remove_from_project",
        guard=Guard(
            effects=frozenset({Effect.STOPS}),
            rule="always: hides the import from the project's members",
            assess=assess.remove_from_project,
        ),
    ),
)

OPERATIONS_BY_TOOL: dict[str, Operation] = {op.tool_name: op for op in OPERATIONS}


def kind_of_path(path: str) -> Kind | None:
    """The kind of import a path serves, or None when it serves several (shares, projects, ...)."""
    if path.startswith("/imports/files/csv/{id}"):
        return Kind.CSV
    if path.startswith("/imports/files/{id}"):
        return Kind.FILE
    if path.startswith("/imports/batches/{id}"):
        return Kind.BATCH
    shared = ("/shares", "/dependencies", "/transfer", "/projects")
    if path.startswith("/imports/{id}") and not any(part in path for part in shared):
        return Kind.IMPORT
    return None


def kind_tool(kind: Kind, role: Role) -> str | None:
    """The tool that plays ``role`` for imports of ``kind``; None when that kind has none."""
    for op in OPERATIONS:
        if op.role is role and (op.kind is kind or kind in op.also_for):
            return op.tool_name
    return None


def verification_tool(op: Operation) -> str | None:
    """The read tool that shows whether a write whose answer was lost took effect.

    The rule: ``verify_with`` when the entry sets it; else a GET on the same path (a POST that creates or starts
    lists its results there), else a GET on the nearest ancestor path (a change to a sub-resource shows on its
    parent). None when there is none.
    """
    if op.verify_with is not None:
        return op.verify_with or None
    gets = {o.path.rstrip("/"): o.tool_name for o in OPERATIONS if o.verb == "GET"}
    path = op.path.rstrip("/")
    while path:
        if path in gets:
            return gets[path]
        path = path.rsplit("/", 1)[0]
    return None
