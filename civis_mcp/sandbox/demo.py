"""Demo data, seeded once into a new state database (never into one that already has it).

The people: the caller (``DEMO_USER_ID``, whose key the sandbox accepts), a teammate and an outsider, in two groups.
The objects: import jobs of each kind with syncs (one scheduled with notifications, one the caller may only read, one
the caller cannot see, one archived, one file import), CSV imports built on the demo files (one succeeds, four fail
for a reason their settings can fix, one succeeds with gzip), a batch import, shares at every level, projects,
dependencies (credentials, remote hosts) and run histories with succeeded, failed, cancelled and running runs.

CSV, file-import, AutoImport and batch runs in the history were really executed by the CSV engine at seeding time
(with back-dated timestamps), so their logs and errors are exactly what a new run with the same settings produces,
and the warehouse holds the tables the successful ones loaded.

The ``DEMO_*`` constants name these objects for the demo script and the tests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from civis_mcp.sandbox.databases import Column, Hosts, column_type
from civis_mcp.sandbox.demo_files import DEMO_FILES, DEMO_TABLE_COLUMNS
from civis_mcp.sandbox.demo_remote import CREDENTIAL_GRANTS, seed_sheets
from civis_mcp.sandbox.runs import Outcome, perform
from civis_mcp.sandbox.store import Job, Run, Store, format_time, now
from civis_mcp.sandbox.views import DEFAULT_NOTIFICATIONS, DEFAULT_SCHEDULE, import_inputs_view

__all__ = [
    "DEMO_ARCHIVED_IMPORT_ID",
    "DEMO_AUTO_DELIMITER_IMPORT_ID",
    "DEMO_AUTO_IMPORT_ID",
    "DEMO_BAD_ROWS_CSV_IMPORT_ID",
    "DEMO_BATCH_IMPORT_ID",
    "DEMO_CANCELLED_RUN_ID",
    "DEMO_CRM_LOADER_CREDENTIAL_ID",
    "DEMO_CSV_IMPORT_ID",
    "DEMO_DBSYNC_EXPORT_IMPORT_ID",
    "DEMO_DBSYNC_IMPORT_ID",
    "DEMO_DBSYNC_MISSING_COLUMN_IMPORT_ID",
    "DEMO_DBSYNC_MISSING_TABLE_IMPORT_ID",
    "DEMO_DBSYNC_TABLE_EXISTS_IMPORT_ID",
    "DEMO_DBSYNC_TYPE_IMPORT_ID",
    "DEMO_FAILED_BATCH_IMPORT_ID",
    "DEMO_FAILED_CSV_IMPORT_ID",
    "DEMO_FAILED_CSV_RUN_ID",
    "DEMO_FAILED_DBSYNC_RUN_ID",
    "DEMO_FAILURES",
    "DEMO_FILE_IMPORT_ID",
    "DEMO_GDOC_BAD_ROWS_IMPORT_ID",
    "DEMO_GDOC_EXPORT_IMPORT_ID",
    "DEMO_GDOC_IMPORT_ID",
    "DEMO_GDOC_MISSING_TAB_IMPORT_ID",
    "DEMO_GOOGLE_CREDENTIAL_ID",
    "DEMO_GOOGLE_HOST_ID",
    "DEMO_GROUP_ID",
    "DEMO_GZIP_CSV_IMPORT_ID",
    "DEMO_HEADER_MISMATCH_CSV_IMPORT_ID",
    "DEMO_HIDDEN_PROJECT_ID",
    "DEMO_OTHER_GROUP_ID",
    "DEMO_OTHER_PROJECT_ID",
    "DEMO_OUTSIDER_CREDENTIAL_ID",
    "DEMO_OUTSIDER_ID",
    "DEMO_POSTGRES_CREDENTIAL_ID",
    "DEMO_POSTGRES_HOST_ID",
    "DEMO_PRIVATE_IMPORT_ID",
    "DEMO_PROJECT_ID",
    "DEMO_READ_ONLY_CSV_IMPORT_ID",
    "DEMO_READ_ONLY_IMPORT_ID",
    "DEMO_REDSHIFT_CREDENTIAL_ID",
    "DEMO_REDSHIFT_HOST_ID",
    "DEMO_RUNNING_RUN_ID",
    "DEMO_S3_HOST_ID",
    "DEMO_SSL_PRIVATE_KEY_ID",
    "DEMO_SSL_PUBLIC_KEY_ID",
    "DEMO_TEAMMATE_ID",
    "DEMO_TEAMMATE_REDSHIFT_CREDENTIAL_ID",
    "DEMO_UPLOADED_FILE_ID",
    "DEMO_USER_ID",
    "DemoFailure",
    "seed_demo",
    "seed_directory",
]

# --- people and dependencies ------------------------------------------------------------------------------------------
DEMO_USER_ID = 1001  # the caller: owns most demo objects
DEMO_TEAMMATE_ID = 1002  # shares some objects with the caller
DEMO_OUTSIDER_ID = 1003  # owns an import the caller cannot see
DEMO_GROUP_ID = 2001  # "Data Team": caller and teammate
DEMO_OTHER_GROUP_ID = 2002  # "Finance": teammate and outsider
DEMO_REDSHIFT_HOST_ID = 3001
DEMO_POSTGRES_HOST_ID = 3002
DEMO_GOOGLE_HOST_ID = 3003
DEMO_S3_HOST_ID = 3004
DEMO_REDSHIFT_CREDENTIAL_ID = 4001  # the caller's
DEMO_POSTGRES_CREDENTIAL_ID = 4002  # the teammate's, shared read with the caller
DEMO_GOOGLE_CREDENTIAL_ID = 4003
DEMO_SSL_PRIVATE_KEY_ID = 4004
DEMO_SSL_PUBLIC_KEY_ID = 4005
DEMO_TEAMMATE_REDSHIFT_CREDENTIAL_ID = 4006
DEMO_OUTSIDER_CREDENTIAL_ID = 4007
DEMO_CRM_LOADER_CREDENTIAL_ID = 4008  # the caller's: reads the CRM and may write its schema "exports"
DEMO_PROJECT_ID = 5001  # "Voter file refresh", the caller's
DEMO_OTHER_PROJECT_ID = 5002  # "Fundraising Q3", the teammate's
DEMO_HIDDEN_PROJECT_ID = 5003

# --- import jobs (one ID sequence with CSV and batch imports, as in Civis) -------------------------------------------
DEMO_DBSYNC_IMPORT_ID = 101  # scheduled, with notifications; runs: succeeded, failed, succeeded
DEMO_AUTO_IMPORT_ID = 102  # the teammate's, shared write with the caller; loads demo file 9001
DEMO_GDOC_IMPORT_ID = 103  # runs: succeeded, cancelled, running (DEMO_RUNNING_RUN_ID, stays running until cancelled)
DEMO_READ_ONLY_IMPORT_ID = 104  # the teammate's, shared read with the caller: writes answer 403
DEMO_PRIVATE_IMPORT_ID = 105  # the outsider's, not shared: everything answers 403
DEMO_ARCHIVED_IMPORT_ID = 106
DEMO_FILE_IMPORT_ID = 107  # made with POST /imports/files; hidden, like Civis's file imports
DEMO_UPLOADED_FILE_ID = 9101  # the file uploaded to DEMO_FILE_IMPORT_ID

# --- CSV imports ------------------------------------------------------------------------------------------------------
DEMO_CSV_IMPORT_ID = 201  # people.csv (9001): succeeds
DEMO_FAILED_CSV_IMPORT_ID = 202  # orders_pipe.txt (9003) read as comma-delimited: failed; fix column_delimiter="pipe"
DEMO_BAD_ROWS_CSV_IMPORT_ID = 203  # events_bad_rows.csv (9004), max_errors=0: failed; fix max_errors=3
DEMO_HEADER_MISMATCH_CSV_IMPORT_ID = 204  # customers (9005) with table_columns not matching the header: failed
DEMO_GZIP_CSV_IMPORT_ID = 205  # people.csv.gz (9002) with compression="gzip": succeeds
DEMO_READ_ONLY_CSV_IMPORT_ID = 206  # the teammate's, shared read with the caller
DEMO_BATCH_IMPORT_ID = 301
DEMO_FAILED_BATCH_IMPORT_ID = 302  # people.csv (plain) with the batch default compression "gzip": failed

# --- import jobs that really fail, one per failure class and kind (listed by ``civis-mcp demo --list``) -------------
DEMO_DBSYNC_MISSING_TABLE_IMPORT_ID = 111  # reads public.donation: no such table (public.donations is meant)
DEMO_DBSYNC_MISSING_COLUMN_IMPORT_ID = 112  # last_modified_column "modified_at": not a column (updated_at is)
DEMO_DBSYNC_TABLE_EXISTS_IMPORT_ID = 113  # no mode set, and staging.crm_contacts exists
DEMO_DBSYNC_TYPE_IMPORT_ID = 114  # a note longer than the destination's VARCHAR(20)
DEMO_DBSYNC_EXPORT_IMPORT_ID = 115  # outbound, to CRM schema "exports" with the read-only credential 4002
DEMO_GDOC_MISSING_TAB_IMPORT_ID = 116  # worksheet "Shift" (the tab is "Shifts")
DEMO_GDOC_BAD_ROWS_IMPORT_ID = 117  # appends a tab whose guests column has "two"
DEMO_GDOC_EXPORT_IMPORT_ID = 118  # GdocExport, export_action newwksht to a tab that exists
DEMO_AUTO_DELIMITER_IMPORT_ID = 119  # AutoImport of the pipe-delimited 9003 with column_delimiter "comma"

# --- runs -------------------------------------------------------------------------------------------------------------
DEMO_FAILED_DBSYNC_RUN_ID = 6002
DEMO_CANCELLED_RUN_ID = 6006
DEMO_RUNNING_RUN_ID = 6007
DEMO_FAILED_CSV_RUN_ID = 6011

_FIRST_NEW_JOB_ID = 1001
_FIRST_NEW_SYNC_ID = 1001
_FIRST_NEW_RUN_ID = 7001
_FIRST_NEW_FILE_ID = 9201
_LOG_SPACING_SECONDS = 0.35

LogLines = list[tuple[str, str]]


@dataclass(frozen=True)
class DemoFailure:
    """A demo import whose latest run really failed: its kind, the cause the diagnosis names, the tool that fixes it."""

    import_id: int
    kind: str
    cause: str
    fix_tool: str | None
    note: str
    run_id: int | None = None
    """The failed run, when it is not the import's latest failed run."""


DEMO_FAILURES: tuple[DemoFailure, ...] = (
    DemoFailure(202, "CSV", "delimiter_or_column_count", "imports_patch_files_csv", "pipe file read as comma"),
    DemoFailure(203, "CSV", "type_conversion", "imports_patch_files_csv", "3 bad rows, max_errors=0"),
    DemoFailure(204, "CSV", "header_mismatch", "imports_patch_files_csv", "table_columns do not match the header"),
    DemoFailure(111, "Dbsync", "not_found", "imports_patch_syncs", "source table misspelt"),
    DemoFailure(112, "Dbsync", "missing_column", "imports_patch_syncs", "last_modified_column is not a column"),
    DemoFailure(113, "Dbsync", "table_exists", "imports_patch_syncs", "destination exists, no mode set"),
    DemoFailure(114, "Dbsync", "type_conversion", "imports_patch_syncs", "value too long for the destination"),
    DemoFailure(115, "Dbsync (outbound)", "permission_or_credential", None, "read-only credential cannot write"),
    DemoFailure(116, "GdocImport", "not_found", "imports_patch_syncs", "worksheet name misspelt"),
    DemoFailure(117, "GdocImport", "type_conversion", "imports_patch_syncs", "a cell that is not a number"),
    DemoFailure(118, "GdocExport", "table_exists", "imports_patch_syncs", "new tab asked for, tab exists"),
    DemoFailure(119, "AutoImport", "delimiter_or_column_count", "imports_patch_syncs", "pipe file read as comma"),
    DemoFailure(302, "Batch", "compression", None, "plain file, batch default gzip"),
    DemoFailure(101, "Dbsync", "upstream_timeout", None, "source host timed out (a scripted run)", run_id=6002),
)
"""One failing demo import per kind and failure class."""


def seed_directory(store: Store) -> None:
    """Users, groups, remote hosts, credentials and projects: what every sandbox needs, demo jobs or not."""
    base = now() - timedelta(days=90)
    users = [
        (DEMO_USER_ID, "Riley Analyst", "ranalyst", "RA", True),
        (DEMO_TEAMMATE_ID, "Sam Engineer", "sengineer", "SE", False),
        (DEMO_OUTSIDER_ID, "Pat Outsider", "poutsider", "PO", False),
    ]
    for user_id, name, username, initials, online in users:
        store.put_entry(
            "user",
            user_id,
            {"id": user_id, "name": name, "username": username, "initials": initials, "online": online},
        )
    store.put_entry("group", DEMO_GROUP_ID, {"id": DEMO_GROUP_ID, "name": "Data Team", "member_ids": [1001, 1002]})
    store.put_entry(
        "group", DEMO_OTHER_GROUP_ID, {"id": DEMO_OTHER_GROUP_ID, "name": "Finance", "member_ids": [1002, 1003]}
    )
    hosts = [
        (DEMO_REDSHIFT_HOST_ID, "Civis Redshift", "RemoteHostTypes::Redshift", "jdbc:redshift://redshift.example.org"),
        (DEMO_POSTGRES_HOST_ID, "CRM Postgres", "RemoteHostTypes::Postgres", "jdbc:postgresql://crm-db.example.org"),
        (DEMO_GOOGLE_HOST_ID, "Google Sheets", "RemoteHostTypes::GoogleDoc", "https://docs.google.com"),
        (DEMO_S3_HOST_ID, "S3 civis-demo-bucket", "RemoteHostTypes::S3", "s3://civis-demo-bucket"),
    ]
    for host_id, name, host_type, url in hosts:
        store.put_entry(
            "remote_host",
            host_id,
            {"id": host_id, "name": name, "type": host_type, "url": url, "owner_id": None, "public": True},
        )
    credentials = [
        (DEMO_REDSHIFT_CREDENTIAL_ID, "Redshift - ranalyst", DEMO_USER_ID, {}),
        (DEMO_POSTGRES_CREDENTIAL_ID, "CRM read-only", DEMO_TEAMMATE_ID, {str(DEMO_USER_ID): "read"}),
        (DEMO_GOOGLE_CREDENTIAL_ID, "Google - ranalyst", DEMO_USER_ID, {}),
        (DEMO_SSL_PRIVATE_KEY_ID, "CRM SSL private key", DEMO_TEAMMATE_ID, {str(DEMO_USER_ID): "read"}),
        (DEMO_SSL_PUBLIC_KEY_ID, "CRM SSL public key", DEMO_TEAMMATE_ID, {str(DEMO_USER_ID): "read"}),
        (DEMO_TEAMMATE_REDSHIFT_CREDENTIAL_ID, "Redshift - sengineer", DEMO_TEAMMATE_ID, {}),
        (DEMO_OUTSIDER_CREDENTIAL_ID, "Redshift - poutsider", DEMO_OUTSIDER_ID, {}),
        (DEMO_CRM_LOADER_CREDENTIAL_ID, "CRM loader - ranalyst", DEMO_USER_ID, {}),
    ]
    for credential_id, name, owner_id, shares in credentials:
        # grants: what the credential may read and write on each remote database (see demo_remote).
        grants = {str(host_id): dict(schemas) for host_id, schemas in CREDENTIAL_GRANTS.get(credential_id, {}).items()}
        store.put_entry(
            "credential",
            credential_id,
            {
                "id": credential_id,
                "name": name,
                "owner_id": owner_id,
                "shares": shares,
                "type": "Custom",
                "grants": grants,
            },
        )
    seed_sheets(store)
    projects = [
        (DEMO_PROJECT_ID, "Voter file refresh", "Monthly refresh of the voter file", DEMO_USER_ID, [1001, 1002], False),
        (DEMO_OTHER_PROJECT_ID, "Fundraising Q3", "Donor analysis for Q3", DEMO_TEAMMATE_ID, [1002, 1001], False),
        (DEMO_HIDDEN_PROJECT_ID, "Scratch", "Hidden scratch project", DEMO_USER_ID, [1001], True),
    ]
    for file_id, demo_file in DEMO_FILES.items():
        store.create_file(demo_file.name, DEMO_USER_ID, None, file_id=file_id)
    for project_id, name, description, author_id, user_ids, hidden in projects:
        stamp = format_time(base + timedelta(days=project_id - 5000))
        store.put_entry(
            "project",
            project_id,
            {
                "id": project_id,
                "name": name,
                "description": description,
                "author_id": author_id,
                "user_ids": user_ids,
                "auto_share": False,
                "created_at": stamp,
                "updated_at": stamp,
                "archived": False,
                "hidden": hidden,
            },
        )


def _source(host_id: int, credential_id: int, additional: list[int] | None = None) -> dict[str, Any]:
    return {"remote_host_id": host_id, "credential_id": credential_id, "additional_credentials": additional or []}


def _import_doc(
    name: str, sync_type: str, source: dict[str, Any] | None, destination: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": name,
        "sync_type": sync_type,
        "is_outbound": False,
        "source": source,
        "destination": destination,
        "parent_id": None,
        "schedule": dict(DEFAULT_SCHEDULE),
        "next_run_at": None,
        "notifications": dict(DEFAULT_NOTIFICATIONS),
        "time_zone": "America/Chicago",
        "running_as_id": None,
    }


def _table(schema: str, table: str) -> dict[str, Any]:
    return {"database_table": {"schema": schema, "table": table}}


def csv_settings(name: str, file_id: int, schema: str, table: str, **settings: Any) -> dict[str, Any]:
    """A CSV import document with every setting filled (the defaults Civis applies), then ``settings``."""
    doc: dict[str, Any] = {
        "name": name,
        "source": {"file_ids": [file_id], "storage_path": None},
        "destination": {
            "schema": schema,
            "table": table,
            "remote_host_id": DEMO_REDSHIFT_HOST_ID,
            "credential_id": DEMO_REDSHIFT_CREDENTIAL_ID,
            "primary_keys": [],
            "last_modified_keys": [],
        },
        "first_row_is_header": True,
        "column_delimiter": "comma",
        "escaped": False,
        "compression": "none",
        "existing_table_rows": "fail",
        "max_errors": None,
        "table_columns": copy.deepcopy(DEMO_TABLE_COLUMNS.get(DEMO_FILES[file_id].name, [])),
        "loosen_types": False,
        "execution": "delayed",
        "redshift_destination_options": {"diststyle": None, "distkey": None, "sortkeys": []},
    }
    doc.update(settings)
    return doc


class _Seeder:
    def __init__(self, store: Store, hosts: Hosts) -> None:
        self.store = store
        self.hosts = hosts
        self.base = now()

    def at(self, days: float, hours: float = 0.0) -> str:
        return format_time(self.base - timedelta(days=days, hours=hours))

    def job(
        self,
        job_id: int,
        kind: Any,
        owner_id: int,
        doc: dict[str, Any],
        *,
        created_days_ago: float,
        hidden: bool = False,
        archived: bool = False,
    ) -> Job:
        return self.store.create_job(
            kind,
            owner_id,
            doc,
            hidden=hidden,
            archived=archived,
            created_at=self.at(created_days_ago),
            job_id=job_id,
        )

    def sync(self, job: Job, sync_id: int, source: dict[str, Any], destination: dict[str, Any], **options: Any) -> None:
        self.store.create_sync(
            job.id,
            {"source": source, "destination": destination, "advanced_options": options},
            sync_id=sync_id,
        )

    def _stamped_logger(self, run_id: int, start: datetime) -> tuple[Callable[[str, str], None], Callable[[], str]]:
        count = [0]

        def log(level: str, message: str) -> None:
            stamp = format_time(start + timedelta(seconds=_LOG_SPACING_SECONDS * count[0]))
            self.store.add_log(run_id, level, message, created_at=stamp)
            count[0] += 1

        def last() -> str:
            return format_time(start + timedelta(seconds=_LOG_SPACING_SECONDS * count[0] + 0.5))

        return log, last

    def executed_run(self, job: Job, run_id: int, days_ago: float, *, expect: str) -> Run:
        """A run in the history that the engine (or the synthetic import worker) really performed."""
        created = self.base - timedelta(days=days_ago)
        started = created + timedelta(seconds=4)
        inputs = job.doc if job.kind == "csv_import" else None
        if job.kind == "import":
            inputs = import_inputs_view(self.store, job)
        run = self.store.create_run(
            job.id,
            state="running",
            inputs=copy.deepcopy(inputs),
            driven=False,
            created_at=format_time(created),
            started_at=format_time(started),
            run_id=run_id,
        )
        log, last = self._stamped_logger(run.id, started)
        log("info", f"Run {run.id} started on sandbox worker 1.")
        outcome: Outcome = perform(self.store, self.hosts, job, run, log, lambda: False)
        if outcome.state != expect:
            raise RuntimeError(f"demo run {run_id} of {job.id} ended {outcome.state}, not {expect}: {outcome.error}")
        run.state = outcome.state
        run.error = outcome.error
        run.finished_at = last()
        run.extra.update(outcome.extra)
        return self.store.save_run(run)

    def scripted_run(
        self,
        job: Job,
        run_id: int,
        days_ago: float,
        state: str,
        lines: LogLines,
        *,
        error: str | None = None,
        cancel_requested: bool = False,
    ) -> Run:
        """A run in the history with hand-written logs (failures and cancellations of jobs with synthetic work)."""
        created = self.base - timedelta(days=days_ago)
        started = created + timedelta(seconds=3)
        run = self.store.create_run(
            job.id,
            state=state,
            driven=False,
            created_at=format_time(created),
            started_at=format_time(started),
            run_id=run_id,
        )
        log, last = self._stamped_logger(run.id, started)
        log("info", f"Run {run.id} started on sandbox worker 1.")
        for level, message in lines:
            log(level, message)
        run.error = error
        run.is_cancel_requested = cancel_requested
        if state != "running":
            run.finished_at = last()
        return self.store.save_run(run)


def seed_demo(store: Store, hosts: Hosts) -> None:
    """Seed the directory and every demo object; run once, on an empty state database."""
    with store.transaction():
        seed_directory(store)
        _seed_jobs(_Seeder(store, hosts))
        store.set_next_id("jobs", _FIRST_NEW_JOB_ID)
        store.set_next_id("syncs", _FIRST_NEW_SYNC_ID)
        store.set_next_id("runs", _FIRST_NEW_RUN_ID)
        store.set_next_id("files", _FIRST_NEW_FILE_ID)


def _donors_csv() -> bytes:
    names = ["Ana Souza", "Ben Carter", "Chloe Park", "Dev Mehta", "Eli Brooks", "Fay Osei", "Gus Lind", "Hana Sato"]
    lines = ["donor_id,name,amount,donated_on"]
    for index, name in enumerate(names):
        lines.append(f"{301 + index},{name},{25 * (index + 1)}.00,2024-03-{index + 1:02d}")
    return ("\n".join(lines) + "\n").encode()


def _seed_jobs(s: _Seeder) -> None:
    store = s.store
    redshift = _source(DEMO_REDSHIFT_HOST_ID, DEMO_REDSHIFT_CREDENTIAL_ID)
    teammate_redshift = _source(DEMO_REDSHIFT_HOST_ID, DEMO_TEAMMATE_REDSHIFT_CREDENTIAL_ID)
    crm = _source(DEMO_POSTGRES_HOST_ID, DEMO_POSTGRES_CREDENTIAL_ID, [DEMO_SSL_PRIVATE_KEY_ID, DEMO_SSL_PUBLIC_KEY_ID])

    # Dbsync: scheduled weekday nights, notifications on failure; a failed run between two good ones.
    doc = _import_doc("Nightly CRM sync", "Dbsync", crm, redshift)
    doc["schedule"] = {
        **DEFAULT_SCHEDULE,
        "scheduled": True,
        "scheduled_days": [1, 2, 3, 4, 5],
        "scheduled_hours": [2],
        "scheduled_minutes": [30],
    }
    doc["notifications"] = {
        **DEFAULT_NOTIFICATIONS,
        "urls": ["https://hooks.example.org/civis/crm-sync"],
        "failure_email_addresses": ["data-team@example.org"],
        "success_on": False,
        "failure_on": True,
        "stall_warning_minutes": 90,
    }
    doc["time_zone"] = "America/New_York"
    dbsync = s.job(DEMO_DBSYNC_IMPORT_ID, "import", DEMO_USER_ID, doc, created_days_ago=60)
    s.sync(
        dbsync,
        401,
        _table("public", "contacts"),
        _table("staging", "crm_contacts"),
        identity_column="id",
        last_modified_column="updated_at",
        verify_table_row_counts=True,
    )
    s.sync(
        dbsync,
        402,
        _table("public", "donations"),
        _table("staging", "crm_donations"),
        wipe_destination_table=True,
        row_chunk_size=100_000,
    )
    s.executed_run(dbsync, 6001, 3, expect="succeeded")
    s.scripted_run(
        dbsync,
        DEMO_FAILED_DBSYNC_RUN_ID,
        2,
        "failed",
        [
            ("info", 'Starting Dbsync import "Nightly CRM sync" (run 6002, 2 sync(s))'),
            ("info", 'Connecting to source host "CRM Postgres" with credential 4002'),
            ("warn", "Connection attempt 1 of 3 to crm-db.example.org:5432 timed out after 10 s; retrying"),
            ("warn", "Connection attempt 2 of 3 to crm-db.example.org:5432 timed out after 10 s; retrying"),
            (
                "error",
                'Could not connect to source host "CRM Postgres" (crm-db.example.org:5432): timed out after 30 s',
            ),
            ("fatal", "Import failed: 0 of 2 syncs completed"),
        ],
        error='Could not connect to source host "CRM Postgres": connection timed out after 30 s',
    )
    s.executed_run(dbsync, 6003, 1, expect="succeeded")
    store.set_share(dbsync.id, "group", DEMO_GROUP_ID, "write")
    store.link_project(dbsync.id, DEMO_PROJECT_ID)

    # AutoImport of a demo file, owned by the teammate and shared write with the caller.
    auto = s.job(
        DEMO_AUTO_IMPORT_ID,
        "import",
        DEMO_TEAMMATE_ID,
        _import_doc("Volunteer roster upload", "AutoImport", None, teammate_redshift),
        created_days_ago=45,
    )
    s.sync(
        auto,
        403,
        {"file": {"id": 9001}},
        _table("demo", "volunteers"),
        first_row_is_header=True,
        existing_table_rows="truncate",
        column_delimiter="comma",
    )
    s.executed_run(auto, 6004, 6, expect="succeeded")
    store.set_share(auto.id, "user", DEMO_USER_ID, "write")
    store.link_project(auto.id, DEMO_OTHER_PROJECT_ID)

    # Google Sheets import: succeeded, then cancelled, and one running now (not driven: it waits to be cancelled).
    gdoc = s.job(
        DEMO_GDOC_IMPORT_ID,
        "import",
        DEMO_USER_ID,
        _import_doc(
            "Event sign-ups sheet", "GdocImport", _source(DEMO_GOOGLE_HOST_ID, DEMO_GOOGLE_CREDENTIAL_ID), redshift
        ),
        created_days_ago=30,
    )
    sheet = {
        "spreadsheet": "Event Sign-ups 2024",
        "spreadsheet_id": "1vQdemoSheetId0123456789abcdef",
        "worksheet": "Responses",
        "worksheet_id": 0,
    }
    s.sync(
        gdoc,
        404,
        {"google_worksheet": sheet},
        _table("staging", "event_signups"),
        first_row_is_header=True,
        existing_table_rows="drop",
        max_errors=10,
    )
    s.executed_run(gdoc, 6005, 5, expect="succeeded")
    opening: LogLines = [
        ("info", 'Starting GdocImport import "Event sign-ups sheet" (run {run}, 1 sync(s))'),
        ("info", 'Connecting to source host "Google Sheets" with credential 4003'),
        ("info", '[1/1] Google Sheet "Event Sign-ups 2024" tab "Responses" -> staging.event_signups: full refresh'),
    ]
    s.scripted_run(
        gdoc,
        DEMO_CANCELLED_RUN_ID,
        4,
        "cancelled",
        [(level, text.format(run=DEMO_CANCELLED_RUN_ID)) for level, text in opening]
        + [("info", "[1/1] Read 2,000 of ~9,800 rows"), ("warn", "Run cancelled by Riley Analyst.")],
        cancel_requested=True,
    )
    s.scripted_run(
        gdoc,
        DEMO_RUNNING_RUN_ID,
        0,
        "running",
        [(level, text.format(run=DEMO_RUNNING_RUN_ID)) for level, text in opening]
        + [("info", "[1/1] Read 4,000 of ~9,800 rows"), ("warn", "Google Sheets API quota reached; waiting 60 s")],
    )

    # The teammate's import, shared read with the caller: every change answers 403.
    ledger = s.job(
        DEMO_READ_ONLY_IMPORT_ID,
        "import",
        DEMO_TEAMMATE_ID,
        _import_doc("Finance ledger sync", "Dbsync", crm, teammate_redshift),
        created_days_ago=80,
    )
    s.sync(ledger, 405, _table("finance", "ledger"), _table("finance", "ledger"), wipe_destination_table=True)
    s.executed_run(ledger, 6008, 7, expect="succeeded")
    store.set_share(ledger.id, "user", DEMO_USER_ID, "read")
    store.set_share(ledger.id, "group", DEMO_OTHER_GROUP_ID, "manage")

    # The outsider's import: not shared with the caller at all.
    private = s.job(
        DEMO_PRIVATE_IMPORT_ID,
        "import",
        DEMO_OUTSIDER_ID,
        _import_doc(
            "Outsider's private import", "Dbsync", None, _source(DEMO_REDSHIFT_HOST_ID, DEMO_OUTSIDER_CREDENTIAL_ID)
        ),
        created_days_ago=20,
    )
    s.sync(private, 406, _table("private", "payroll"), _table("private", "payroll"))

    archived = s.job(
        DEMO_ARCHIVED_IMPORT_ID,
        "import",
        DEMO_USER_ID,
        _import_doc("2020 voter file (retired)", "Dbsync", crm, redshift),
        created_days_ago=700,
        archived=True,
    )
    s.sync(archived, 407, _table("public", "voters_2020"), _table("archive", "voters_2020"))
    s.executed_run(archived, 6009, 400, expect="succeeded")

    # A file import (POST /imports/files): an AutoImport of an uploaded file, hidden as Civis makes them.
    store.create_file("donors_2024.csv", DEMO_USER_ID, _donors_csv(), file_id=DEMO_UPLOADED_FILE_ID)
    file_doc = _import_doc("donors_2024.csv upload", "AutoImport", None, redshift)
    file_doc["file_import"] = {"file_id": DEMO_UPLOADED_FILE_ID, "multipart": False}
    file_import = s.job(DEMO_FILE_IMPORT_ID, "import", DEMO_USER_ID, file_doc, created_days_ago=10, hidden=True)
    s.sync(
        file_import,
        408,
        {"file": {"id": DEMO_UPLOADED_FILE_ID}},
        _table("demo", "donors_2024"),
        first_row_is_header=True,
        existing_table_rows="fail",
    )
    s.executed_run(file_import, 6010, 10, expect="succeeded")

    _seed_csv_imports(s)

    batch = s.job(
        DEMO_BATCH_IMPORT_ID,
        "batch",
        DEMO_USER_ID,
        {
            "file_ids": [9002],
            "schema": "demo",
            "table": "people_batch",
            "remote_host_id": DEMO_REDSHIFT_HOST_ID,
            "credential_id": DEMO_REDSHIFT_CREDENTIAL_ID,
            "column_delimiter": "comma",
            "first_row_is_header": True,
            "compression": "gzip",
        },
        created_days_ago=12,
    )
    s.executed_run(batch, 6020, 12, expect="succeeded")
    _seed_failures(s, redshift, crm)


def _seed_failures(s: _Seeder, redshift: dict[str, Any], crm: dict[str, Any]) -> None:
    """Import jobs of each kind whose last run really failed, for a reason the diagnosis names (``DEMO_FAILURES``).
    Hidden, so the lists the rest of the demo is known by stay as they were; ``civis-mcp demo --list`` shows them."""

    def dbsync(job_id: int, name: str, source: dict[str, Any], destination: dict[str, Any]) -> Job:
        doc = _import_doc(name, "Dbsync", source, destination)
        return s.job(job_id, "import", DEMO_USER_ID, doc, created_days_ago=2, hidden=True)

    job = dbsync(DEMO_DBSYNC_MISSING_TABLE_IMPORT_ID, "CRM donations copy", crm, redshift)
    s.sync(job, 411, _table("public", "donation"), _table("staging", "donations_copy"), wipe_destination_table=True)
    s.executed_run(job, 6031, 1, expect="failed")

    job = dbsync(DEMO_DBSYNC_MISSING_COLUMN_IMPORT_ID, "CRM contacts (incremental)", crm, redshift)
    s.sync(
        job,
        412,
        _table("public", "contacts"),
        _table("staging", "contacts_incremental"),
        identity_column="id",
        last_modified_column="modified_at",
    )
    s.executed_run(job, 6032, 1, expect="failed")

    job = dbsync(DEMO_DBSYNC_TABLE_EXISTS_IMPORT_ID, "CRM contacts snapshot", crm, redshift)
    s.sync(job, 413, _table("public", "contacts"), _table("staging", "crm_contacts"))
    s.executed_run(job, 6033, 1, expect="failed")

    # An analyst made staging.contact_notes with a narrow notes column; one CRM note does not fit it.
    with s.hosts.warehouse.session(None, None) as warehouse:
        narrow = [("id", "INTEGER"), ("full_name", "VARCHAR(100)"), ("email", "VARCHAR(200)"), ("notes", "VARCHAR(20)")]
        columns = [Column(name, column_type(declared)) for name, declared in [*narrow, ("updated_at", "TIMESTAMP")]]
        warehouse.create_table("staging", "contact_notes", columns)
    job = dbsync(DEMO_DBSYNC_TYPE_IMPORT_ID, "CRM contact notes", crm, redshift)
    s.sync(job, 414, _table("public", "contacts"), _table("staging", "contact_notes"), identity_column="id")
    s.executed_run(job, 6034, 1, expect="failed")

    outbound = _import_doc("People to the CRM", "Dbsync", redshift, _source(DEMO_POSTGRES_HOST_ID, 4002))
    outbound["is_outbound"] = True
    job = s.job(DEMO_DBSYNC_EXPORT_IMPORT_ID, "import", DEMO_USER_ID, outbound, created_days_ago=2, hidden=True)
    s.sync(job, 415, _table("demo", "people"), _table("exports", "people"), wipe_destination_table=True)
    s.executed_run(job, 6035, 1, expect="failed")

    google = _source(DEMO_GOOGLE_HOST_ID, DEMO_GOOGLE_CREDENTIAL_ID)
    job = s.job(
        DEMO_GDOC_MISSING_TAB_IMPORT_ID,
        "import",
        DEMO_USER_ID,
        _import_doc("Volunteer shifts sheet", "GdocImport", google, redshift),
        created_days_ago=2,
        hidden=True,
    )
    shifts = {"spreadsheet": "Volunteer Shifts", "spreadsheet_id": None, "worksheet": "Shift", "worksheet_id": None}
    s.sync(job, 416, {"google_worksheet": shifts}, _table("staging", "volunteer_shifts"), first_row_is_header=True)
    s.executed_run(job, 6036, 1, expect="failed")

    job = s.job(
        DEMO_GDOC_BAD_ROWS_IMPORT_ID,
        "import",
        DEMO_USER_ID,
        _import_doc("Late sign-ups", "GdocImport", google, redshift),
        created_days_ago=2,
        hidden=True,
    )
    late = {"spreadsheet": "Event Sign-ups 2024", "spreadsheet_id": None, "worksheet": "Late responses"}
    s.sync(
        job,
        417,
        {"google_worksheet": {**late, "worksheet_id": None}},
        _table("staging", "event_signups"),
        first_row_is_header=True,
        existing_table_rows="append",
        max_errors=0,
    )
    s.executed_run(job, 6037, 1, expect="failed")

    export = _import_doc("People to Weekly totals", "GdocExport", redshift, google)
    export["is_outbound"] = True
    job = s.job(DEMO_GDOC_EXPORT_IMPORT_ID, "import", DEMO_USER_ID, export, created_days_ago=2, hidden=True)
    totals = {"spreadsheet": "Weekly totals", "spreadsheet_id": None, "worksheet": "Totals", "worksheet_id": None}
    s.sync(job, 418, _table("demo", "people"), {"google_worksheet": totals}, export_action="newwksht")
    s.executed_run(job, 6038, 1, expect="failed")

    job = s.job(
        DEMO_AUTO_DELIMITER_IMPORT_ID,
        "import",
        DEMO_USER_ID,
        _import_doc("Orders upload", "AutoImport", None, redshift),
        created_days_ago=2,
        hidden=True,
    )
    s.sync(job, 419, {"file": {"id": 9003}}, _table("staging", "orders_upload"), column_delimiter="comma")
    s.executed_run(job, 6039, 1, expect="failed")

    batch = s.job(
        DEMO_FAILED_BATCH_IMPORT_ID,
        "batch",
        DEMO_USER_ID,
        {
            "file_ids": [9001],
            "schema": "demo",
            "table": "people_batch_plain",
            "remote_host_id": DEMO_REDSHIFT_HOST_ID,
            "credential_id": DEMO_REDSHIFT_CREDENTIAL_ID,
            "column_delimiter": "comma",
            "first_row_is_header": True,
            "compression": "gzip",
        },
        created_days_ago=1,
        hidden=True,
    )
    s.executed_run(batch, 6040, 1, expect="failed")


def _seed_csv_imports(s: _Seeder) -> None:
    store = s.store
    people = s.job(
        DEMO_CSV_IMPORT_ID,
        "csv_import",
        DEMO_USER_ID,
        csv_settings("People list", 9001, "demo", "people", existing_table_rows="truncate"),
        created_days_ago=14,
    )
    s.executed_run(people, 6012, 14, expect="succeeded")
    store.set_share(people.id, "group", DEMO_GROUP_ID, "write")
    store.link_project(people.id, DEMO_PROJECT_ID)

    orders = s.job(
        DEMO_FAILED_CSV_IMPORT_ID,
        "csv_import",
        DEMO_USER_ID,
        csv_settings("Orders (pipe-delimited)", 9003, "demo", "orders"),  # column_delimiter left at "comma": the bug
        created_days_ago=2,
    )
    s.executed_run(orders, DEMO_FAILED_CSV_RUN_ID, 1, expect="failed")
    store.set_share(orders.id, "user", DEMO_TEAMMATE_ID, "read")

    events = s.job(
        DEMO_BAD_ROWS_CSV_IMPORT_ID,
        "csv_import",
        DEMO_USER_ID,
        csv_settings("Web events", 9004, "demo", "events", max_errors=0),
        created_days_ago=3,
    )
    s.executed_run(events, 6013, 3, expect="failed")

    customers = s.job(
        DEMO_HEADER_MISMATCH_CSV_IMPORT_ID,
        "csv_import",
        DEMO_USER_ID,
        csv_settings("Customers", 9005, "demo", "customers"),
        created_days_ago=4,
    )
    s.executed_run(customers, 6014, 4, expect="failed")

    gzipped = s.job(
        DEMO_GZIP_CSV_IMPORT_ID,
        "csv_import",
        DEMO_USER_ID,
        csv_settings("People list (gzip)", 9002, "demo", "people_gz", compression="gzip", existing_table_rows="drop"),
        created_days_ago=5,
    )
    s.executed_run(gzipped, 6015, 5, expect="succeeded")

    shared = s.job(
        DEMO_READ_ONLY_CSV_IMPORT_ID,
        "csv_import",
        DEMO_TEAMMATE_ID,
        csv_settings(
            "Orders snapshot (finance)",
            9003,
            "finance",
            "orders_snapshot",
            column_delimiter="pipe",
            existing_table_rows="truncate",
            destination={
                "schema": "finance",
                "table": "orders_snapshot",
                "remote_host_id": DEMO_REDSHIFT_HOST_ID,
                "credential_id": DEMO_TEAMMATE_REDSHIFT_CREDENTIAL_ID,
                "primary_keys": [],
                "last_modified_keys": [],
            },
        ),
        created_days_ago=8,
    )
    s.executed_run(shared, 6016, 8, expect="succeeded")
    store.set_share(shared.id, "user", DEMO_USER_ID, "read")
