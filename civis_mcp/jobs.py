"""``GET /jobs``: the one Civis operation outside the Imports API that civis-mcp reads.

It is not a tool of its own (so it is not in ``OPERATIONS``): ``imports_find`` lists imports of every kind through it,
and a kind-specific tool given the ID of another kind of import looks the ID up there once to say which tool fits.
Its method is ``find`` so that an upstream error names the tool the caller used, ``imports_find``. The sandbox serves
it too.
"""

from __future__ import annotations

from civis_mcp.models.jobs import JobSummary, ListJobsParams
from civis_mcp.operations import Operation
from civis_mcp.vocabulary import Kind, Toolset

__all__ = ["BEYOND_IMPORTS", "CSV_IMPORT_TYPE", "IMPORT_JOB_TYPES", "IMPORT_TYPE", "LIST_JOBS"]

LIST_JOBS = Operation(
    method="find",
    verb="GET",
    path="/jobs/",
    params=ListJobsParams,
    response=JobSummary,
    title="List jobs of every kind",
    description="GET /jobs, read by imports_find.",
    toolset=Toolset.RUNS,
    sandbox="jobs.list_jobs",
    returns_list=True,
)
BEYOND_IMPORTS: tuple[Operation, ...] = (LIST_JOBS,)
"""Operations civis-mcp reads beyond the Imports API (the sandbox serves them beside ``OPERATIONS``)."""

# The job types Civis reports for imports: import jobs (Dbsync, AutoImport and GdocImport syncs, and file imports,
# which are AutoImport jobs) are JobTypes::Import; CSV imports are JobTypes::CsvImport. The sync types are listed as
# job types of their own in Civis's documentation of the type filter, so they are asked for too. Batch imports are not
# jobs; ``imports_find`` reads them from imports_list_batches.
IMPORT_TYPE = "JobTypes::Import"
CSV_IMPORT_TYPE = "JobTypes::CsvImport"
IMPORT_JOB_TYPES: dict[str, Kind] = {
    IMPORT_TYPE: Kind.IMPORT,
    "JobTypes::AutoImport": Kind.IMPORT,
    "JobTypes::Dbsync": Kind.IMPORT,
    "JobTypes::GdocImport": Kind.IMPORT,
    CSV_IMPORT_TYPE: Kind.CSV,
}
"""Job type -> kind of import."""
