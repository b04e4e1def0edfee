"""One contract case per Civis Imports API operation: a representative call and what must happen.

Each ``ContractCase`` spells out by hand, independently of the code under test:

* ``arguments``: a realistic tool call (required arguments plus a mix of optional ones: nested objects, lists,
  booleans, enums);
* the answer Civis gives: ``response`` (camelCase JSON, field names from the spec's response definitions;
  ``None`` for no body), ``response_status`` (the status the spec documents) and ``response_headers`` (the
  ``X-Pagination-*`` headers of the five paged lists);
* ``expected``: key paths (dot-separated; list indexes and dict keys alike) into the tool's structured result, with
  the values that must be there.

The request the call must produce (``ContractCase.wire``: method, path, query pairs and JSON body) is not written
here: it is derived from ``arguments`` by civis-python's own rules (``tests/civis_python_requests.py``), never by
civis-mcp's code. Three cases also carry ``literal``, the same request written out by hand, so that a mistake in the
derivation cannot hide behind itself; ``test_civis_parity`` checks the derivation against civis-python for all 46.

``LIVE_STATE`` holds the GET answers that the previews of destructive tools read before they act. The cases, the
live state and the two comparison helpers (``snake_case_json``, ``without_added_nulls``) are shared by
``test_contract.py`` (respx, in process) and ``test_civis_parity.py`` (civis-python and civis-mcp against the same
loopback server).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from tests.civis_python_requests import Json, Wire, camel_to_snake, civis_python_request


@dataclass(frozen=True)
class ContractCase:
    """A tool call, the answer it gets and what the tool result must contain; the request it must send is derived."""

    tool: str
    arguments: dict[str, Any]
    response: Json
    response_status: int
    expected: dict[str, Any]
    response_headers: dict[str, str] = field(default_factory=dict)
    literal: Wire | None = None
    """The request, written out by hand: a spot check of the derivation."""

    @property
    def civis_method(self) -> str:
        """The civis-python method on ``client.imports`` that does the same thing."""
        return self.tool.removeprefix("imports_")

    @functools.cached_property
    def wire(self) -> Wire:
        """The request this call must send: civis-python's for the same arguments."""
        return civis_python_request(self.civis_method, self.arguments)

    @property
    def method(self) -> str:
        return self.wire.method

    @property
    def path(self) -> str:
        return self.wire.path

    @property
    def query(self) -> list[tuple[str, str]]:
        return self.wire.query

    @property
    def body(self) -> dict[str, Any] | None:
        return self.wire.body

    def __str__(self) -> str:
        return self.tool


def snake_case_json(value: Json) -> Json:
    """A JSON value with every object key snake_cased by civis-python's own rule (independent of civis-mcp)."""
    if isinstance(value, dict):
        return {camel_to_snake(key): snake_case_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake_case_json(item) for item in value]
    return value


def without_added_nulls(ours: Json, reference: Json) -> Json:
    """``ours`` without the keys that ``reference`` lacks and whose value is null, at every depth.

    Our response models declare every documented field, so a field the answer left out comes back as null; that is
    the one difference from the answer a comparison may ignore.
    """
    if isinstance(ours, dict) and isinstance(reference, dict):
        return {
            key: without_added_nulls(value, reference.get(key))
            for key, value in ours.items()
            if key in reference or value is not None
        }
    if isinstance(ours, list) and isinstance(reference, list) and len(ours) == len(reference):
        return [without_added_nulls(mine, other) for mine, other in zip(ours, reference, strict=True)]
    return ours


def pages(page: int, per_page: int, total_pages: int, total_entries: int) -> dict[str, str]:
    """The X-Pagination-* headers Civis sends with a paged list."""
    return {
        "X-Pagination-Current-Page": str(page),
        "X-Pagination-Per-Page": str(per_page),
        "X-Pagination-Total-Pages": str(total_pages),
        "X-Pagination-Total-Entries": str(total_entries),
    }


# --- building blocks of answers (camelCase, as Civis sends them) -----------------------------------------------------

ADA = {"id": 7, "name": "Ada Lovelace", "username": "alovelace", "initials": "AL", "online": False}
SERVICE_USER = {"id": 8, "name": "Import Service", "username": "svc-imports", "initials": "IS", "online": True}
GRACE = {"id": 9, "name": "Grace Hopper", "username": "ghopper", "initials": "GH", "online": True}

SOURCE_HOST = {"remoteHostId": 33, "credentialId": 44, "additionalCredentials": [], "name": "Donor DB replica"}
REDSHIFT_HOST = {"remoteHostId": 55, "credentialId": 66, "additionalCredentials": [70, 71], "name": "Redshift"}

LAST_RUN = {
    "id": 5,
    "state": "succeeded",
    "createdAt": "2026-01-02T03:00:00.000Z",
    "startedAt": "2026-01-02T03:00:04.000Z",
    "finishedAt": "2026-01-02T03:04:05.000Z",
    "error": None,
}

SCHEDULE = {
    "scheduled": True,
    "scheduledDays": [1, 3, 5],
    "scheduledHours": [6],
    "scheduledMinutes": [30],
    "scheduledRunsPerHour": None,  # deprecated in the spec, still sent by the API
    "scheduledDaysOfMonth": [],
}

NOTIFICATIONS = {
    "urls": ["https://hooks.example.com/civis/imports"],
    "successEmailSubject": "Donor sync finished",
    "successEmailBody": "The nightly **donor** sync finished.",
    "successEmailAddresses": ["data-team@example.org"],
    "successEmailFromName": "Civis Imports",
    "successEmailReplyTo": "data-team@example.org",
    "failureEmailAddresses": ["oncall@example.org"],
    "stallWarningMinutes": 60,
    "successOn": False,
    "failureOn": True,
}

DBSYNC_SYNC = {
    "id": 31,
    "source": {
        "id": 901,
        "databaseTable": {"schema": "public", "table": "donors", "useWithoutSchema": False},
        "file": None,
        "googleWorksheet": None,
        "path": "public.donors",
    },
    "destination": {
        "databaseTable": {"schema": "staging", "table": "donors", "useWithoutSchema": False},
        "googleWorksheet": None,
        "path": "staging.donors",
    },
    "advancedOptions": {
        "maxErrors": None,
        "existingTableRows": "truncate",
        "firstRowIsHeader": None,
        "diststyle": "key",
        "distkey": "donor_id",
        "sortkey1": "updated_at",
        "sortkey2": None,
        "columnDelimiter": None,
        "columnOverrides": {},
        "escaped": None,
        "identityColumn": "donor_id",
        "lastModifiedColumn": "updated_at",
        "rowChunkSize": 100000,
        "wipeDestinationTable": False,
        "truncateLongLines": True,
        "invalidCharReplacement": "?",
        "verifyTableRowCounts": True,
        "chunkingMethod": "sorted_by_identity_columns",  # deprecated in the spec, still sent by the API
        "exportAction": None,
        "sqlQuery": None,
    },
}

GDOC_SYNC = {
    "id": 32,
    "source": {
        "id": 902,
        "databaseTable": None,
        "file": None,
        "googleWorksheet": {
            "spreadsheet": "Volunteer roster",
            "spreadsheetId": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "worksheet": "Signups",
            "worksheetId": 1234567,
        },
        "path": "Volunteer roster.Signups",
    },
    "destination": {
        "databaseTable": {"schema": "staging", "table": "volunteers", "useWithoutSchema": False},
        "googleWorksheet": None,
        "path": "staging.volunteers",
    },
    "advancedOptions": {
        "maxErrors": 0,
        "existingTableRows": "drop",
        "firstRowIsHeader": True,
        "diststyle": None,
        "distkey": None,
        "sortkey1": None,
        "sortkey2": None,
        "columnDelimiter": None,
        "columnOverrides": None,
        "escaped": None,
        "identityColumn": None,
        "lastModifiedColumn": None,
        "rowChunkSize": None,
        "wipeDestinationTable": None,
        "truncateLongLines": None,
        "invalidCharReplacement": None,
        "verifyTableRowCounts": None,
        "exportAction": None,
        "sqlQuery": None,
    },
}


def import_job(**changes: Any) -> dict[str, Any]:
    """A full import job (the spec's Import) as Civis returns it, with some fields changed."""
    job = {
        "id": 12,
        "name": "Nightly donor sync",
        "source": SOURCE_HOST,
        "destination": REDSHIFT_HOST,
        "syncType": "Dbsync",
        "parentId": None,
        "isOutbound": False,
        "jobType": "Import",
        "syncs": [DBSYNC_SYNC],
        "state": "succeeded",
        "createdAt": "2025-06-01T12:00:00.000Z",
        "updatedAt": "2026-01-02T03:04:05.000Z",
        "lastRun": LAST_RUN,
        "user": ADA,
        "runningAs": SERVICE_USER,
        "schedule": SCHEDULE,
        "nextRunAt": "2026-01-05T06:30:00.000Z",
        "notifications": NOTIFICATIONS,
        "timeZone": "America/Chicago",
        "hidden": False,
        "archived": False,
        "myPermissionLevel": "manage",
    }
    job.update(changes)
    return job


CSV_STORAGE_SOURCE = {
    "fileIds": [],
    "storagePath": {
        "storageHostId": 21,
        "credentialId": 22,
        "filePaths": ["exports/2026/gifts_01.csv.gz", "exports/2026/gifts_02.csv.gz"],
    },
}
CSV_DESTINATION = {
    "schema": "staging",
    "table": "gifts",
    "remoteHostId": 55,
    "credentialId": 66,
    "primaryKeys": ["gift_id"],
    "lastModifiedKeys": ["updated_at"],
}
CSV_COLUMNS = [
    {"name": "gift_id", "sqlType": "BIGINT"},
    {"name": "amount", "sqlType": "NUMERIC(12,2)"},
    {"name": "updated_at", "sqlType": "TIMESTAMP"},
]


def csv_import(**changes: Any) -> dict[str, Any]:
    """A CSV import (the spec's CsvImport) as Civis returns it, with some fields changed."""
    found = {
        "id": 88,
        "name": "Gifts from S3",
        "source": CSV_STORAGE_SOURCE,
        "destination": CSV_DESTINATION,
        "firstRowIsHeader": True,
        "columnDelimiter": "pipe",
        "escaped": True,
        "compression": "gzip",
        "existingTableRows": "upsert",
        "maxErrors": 0,
        "tableColumns": CSV_COLUMNS,
        "loosenTypes": False,
        "execution": "immediate",
        "redshiftDestinationOptions": {"diststyle": "key", "distkey": "gift_id", "sortkeys": ["updated_at", "gift_id"]},
        "hidden": False,
        "myPermissionLevel": "manage",
    }
    found.update(changes)
    return found


def run(**fields: Any) -> dict[str, Any]:
    """A run as Civis returns it: every run field, null unless given."""
    base = {
        "id": None,
        "state": None,
        "isCancelRequested": False,
        "createdAt": None,
        "startedAt": None,
        "finishedAt": None,
        "error": None,
    }
    base.update(fields)
    return base


SHARES = {
    "readers": {"users": [{"id": 9, "name": "Grace Hopper"}], "groups": [{"id": 4, "name": "Analysts"}]},
    "writers": {"users": [], "groups": []},
    "owners": {"users": [{"id": 7, "name": "Ada Lovelace"}], "groups": []},
    "totalUserShares": 2,
    "totalGroupShares": 1,
}


# --- the cases ------------------------------------------------------------------------------------------------------

CASES: list[ContractCase] = [
    # --- import jobs ---------------------------------------------------------------------------------------------
    ContractCase(
        tool="imports_list",
        arguments={
            "type": "Dbsync,AutoImport",
            "source": "33",
            "destination": "55",
            "status": "failed,succeeded",
            "author": "7",
            "hidden": False,
            "archived": "all",
            "limit": 2,
            "page_num": 2,
            "order": "last_run.updated_at",
            "order_dir": "asc",
        },
        literal=Wire(
            method="GET",
            path="/imports",
            query=[
                ("type", "Dbsync,AutoImport"),
                ("source", "33"),
                ("destination", "55"),
                ("status", "failed,succeeded"),
                ("author", "7"),
                ("hidden", "False"),
                ("archived", "all"),
                ("limit", "2"),
                ("page_num", "2"),
                ("order", "last_run.updated_at"),
                ("order_dir", "asc"),
            ],
            body=None,
        ),
        response=[
            {
                "id": 12,
                "name": "Nightly donor sync",
                "source": SOURCE_HOST,
                "destination": REDSHIFT_HOST,
                "syncType": "Dbsync",
                "isOutbound": False,
                "jobType": "Import",
                "state": "succeeded",
                "createdAt": "2025-06-01T12:00:00.000Z",
                "updatedAt": "2026-01-02T03:04:05.000Z",
                "lastRun": LAST_RUN,
                "user": ADA,
                "schedule": SCHEDULE,
                "timeZone": "America/Chicago",
                "archived": False,
            },
            {
                "id": 14,
                "name": "Event signups upload",
                "source": None,
                "destination": {"remoteHostId": 55, "credentialId": 67, "additionalCredentials": [], "name": None},
                "syncType": "AutoImport",
                "isOutbound": False,
                "jobType": "Import",
                "state": "failed",
                "createdAt": "2025-11-20T09:15:00.000Z",
                "updatedAt": "2026-01-03T10:00:00.000Z",
                "lastRun": {
                    "id": 77,
                    "state": "failed",
                    "createdAt": "2026-01-03T09:59:00.000Z",
                    "startedAt": "2026-01-03T09:59:02.000Z",
                    "finishedAt": "2026-01-03T10:00:00.000Z",
                    "error": "Column count mismatch on line 18",
                },
                "user": GRACE,
                "schedule": {
                    "scheduled": False,
                    "scheduledDays": [],
                    "scheduledHours": [],
                    "scheduledMinutes": [],
                    "scheduledRunsPerHour": None,
                    "scheduledDaysOfMonth": [],
                },
                "timeZone": "UTC",
                "archived": True,
            },
        ],
        response_status=200,
        response_headers=pages(2, 2, 5, 9),
        expected={
            "items.0.sync_type": "Dbsync",
            "items.0.last_run.finished_at": "2026-01-02T03:04:05.000Z",
            "items.0.source.remote_host_id": 33,
            "items.0.schedule.scheduled_days": [1, 3, 5],
            "items.1.sync_type": "AutoImport",
            "items.1.source": None,
            "items.1.last_run.error": "Column count mismatch on line 18",
            "items.1.user.username": "ghopper",
            "items.1.archived": True,
            "pagination.page": 2,
            "pagination.per_page": 2,
            "pagination.total_pages": 5,
            "pagination.total_entries": 9,
        },
    ),
    ContractCase(
        tool="imports_get",
        arguments={"id": 12},
        response=import_job(),
        response_status=200,
        expected={
            "id": 12,
            "sync_type": "Dbsync",
            "last_run.finished_at": "2026-01-02T03:04:05.000Z",
            "last_run.error": None,
            "syncs.0.id": 31,
            "syncs.0.source.database_table.table": "donors",
            "syncs.0.destination.path": "staging.donors",
            "syncs.0.advanced_options.identity_column": "donor_id",
            "syncs.0.advanced_options.row_chunk_size": 100000,
            "syncs.0.advanced_options.chunking_method": "sorted_by_identity_columns",
            "user.initials": "AL",
            "running_as.username": "svc-imports",
            "schedule.scheduled_hours": [6],
            "schedule.scheduled_runs_per_hour": None,
            "notifications.failure_email_addresses": ["oncall@example.org"],
            "notifications.stall_warning_minutes": 60,
            "destination.additional_credentials": [70, 71],
            "my_permission_level": "manage",
        },
    ),
    ContractCase(
        tool="imports_post",
        arguments={
            "name": "Nightly donor sync",
            "sync_type": "Dbsync",
            "is_outbound": False,
            "source": {"remote_host_id": 33, "credential_id": 44},
            "destination": {"remote_host_id": 55, "credential_id": 66, "additional_credentials": [70, 71]},
            "schedule": {
                "scheduled": True,
                "scheduled_days": [1, 3, 5],
                "scheduled_hours": [6],
                "scheduled_minutes": [30],
            },
            "notifications": {
                "failure_email_addresses": ["oncall@example.org"],
                "failure_on": True,
                "success_on": False,
            },
            "time_zone": "America/Chicago",
            "hidden": False,
        },
        response=import_job(syncs=[], state="idle", lastRun=None, nextRunAt="2026-01-05T06:30:00.000Z"),
        response_status=201,
        expected={
            "id": 12,
            "syncs": [],
            "state": "idle",
            "last_run": None,
            "destination.additional_credentials": [70, 71],
            "schedule.scheduled_minutes": [30],
            "next_run_at": "2026-01-05T06:30:00.000Z",
        },
    ),
    ContractCase(
        tool="imports_put",
        arguments={
            "id": 12,
            "name": "Volunteer roster import",
            "sync_type": "GdocImport",
            "is_outbound": False,
            "destination": {"remote_host_id": 55, "credential_id": 66},
            "parent_id": 40,
            "schedule": {"scheduled": False},
            "next_run_at": "2026-02-01T06:30:00Z",
            "time_zone": "UTC",
        },
        response=import_job(
            name="Volunteer roster import",
            syncType="GdocImport",
            source=None,
            parentId=40,
            syncs=[GDOC_SYNC],
            schedule={
                "scheduled": False,
                "scheduledDays": [],
                "scheduledHours": [],
                "scheduledMinutes": [],
                "scheduledRunsPerHour": None,
                "scheduledDaysOfMonth": [],
            },
            nextRunAt="2026-02-01T06:30:00.000Z",
            timeZone="UTC",
        ),
        response_status=200,
        expected={
            "name": "Volunteer roster import",
            "sync_type": "GdocImport",
            "parent_id": 40,
            "source": None,
            "syncs.0.source.google_worksheet.worksheet_id": 1234567,
            "syncs.0.source.google_worksheet.spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "syncs.0.advanced_options.existing_table_rows": "drop",
            "schedule.scheduled": False,
            "time_zone": "UTC",
        },
    ),
    ContractCase(
        tool="imports_patch",
        arguments={
            "id": 12,
            "name": "Nightly donor sync (v2)",
            "destination": {"credential_id": 67},
            "running_as_id": 8,
            "schedule": {
                "scheduled": True,
                "scheduled_days_of_month": [1, 15],
                "scheduled_hours": [2],
                "scheduled_minutes": [0],
            },
            "notifications": {"urls": ["https://hooks.example.com/civis/imports"], "stall_warning_minutes": 90},
        },
        response=import_job(
            name="Nightly donor sync (v2)",
            destination={"remoteHostId": 55, "credentialId": 67, "additionalCredentials": [70, 71], "name": "Redshift"},
            schedule={
                "scheduled": True,
                "scheduledDays": [],
                "scheduledHours": [2],
                "scheduledMinutes": [0],
                "scheduledRunsPerHour": None,
                "scheduledDaysOfMonth": [1, 15],
            },
            notifications={**NOTIFICATIONS, "stallWarningMinutes": 90},
        ),
        response_status=200,
        expected={
            "name": "Nightly donor sync (v2)",
            "destination.credential_id": 67,
            "schedule.scheduled_days_of_month": [1, 15],
            "schedule.scheduled_days": [],
            "notifications.stall_warning_minutes": 90,
            "running_as.id": 8,
        },
    ),
    ContractCase(
        tool="imports_post_clone",
        arguments={"id": 12, "clone_schedule": True, "clone_notifications": False},
        response=import_job(
            id=13,
            name="Clone of Nightly donor sync",
            syncs=[{**DBSYNC_SYNC, "id": 41}],
            lastRun=None,
            state="idle",
            notifications={**NOTIFICATIONS, "urls": [], "failureEmailAddresses": [], "failureOn": False},
        ),
        response_status=201,
        expected={
            "id": 13,
            "name": "Clone of Nightly donor sync",
            "syncs.0.id": 41,
            "last_run": None,
            "schedule.scheduled": True,
            "notifications.urls": [],
            "user.username": "alovelace",
        },
    ),
    ContractCase(
        tool="imports_put_archive",
        arguments={"id": 12, "status": True},
        response=import_job(archived=True),
        response_status=200,
        expected={"id": 12, "archived": True, "syncs.0.id": 31},
    ),
    ContractCase(
        tool="imports_post_syncs",
        arguments={
            "id": 12,
            "source": {"database_table": {"schema": "public", "table": "donors"}},
            "destination": {"database_table": {"schema": "staging", "table": "donors"}},
            "advanced_options": {
                "existing_table_rows": "truncate",
                "diststyle": "key",
                "distkey": "donor_id",
                "sortkey1": "updated_at",
                "identity_column": "donor_id",
                "last_modified_column": "updated_at",
                "row_chunk_size": 100000,
                "wipe_destination_table": False,
                "truncate_long_lines": True,
                "invalid_char_replacement": "?",
                "verify_table_row_counts": True,
            },
        },
        response=DBSYNC_SYNC,
        response_status=201,
        expected={
            "id": 31,
            "source.id": 901,
            "source.path": "public.donors",
            "source.database_table.schema": "public",
            "destination.database_table.table": "donors",
            "advanced_options.existing_table_rows": "truncate",
            "advanced_options.verify_table_row_counts": True,
        },
    ),
    ContractCase(
        tool="imports_put_syncs",
        arguments={
            "id": 12,
            "sync_id": 33,
            "source": {"file": {"id": 5010}},
            "destination": {"database_table": {"schema": "staging", "table": "event_signups"}},
            "advanced_options": {
                "existing_table_rows": "append",
                "first_row_is_header": True,
                "column_delimiter": "tab",
                "escaped": False,
                "max_errors": 10,
                "column_overrides": {
                    "0": {"name": "signup_id", "type": "INTEGER"},
                    "3": {"name": "amount", "type": "NUMERIC(12,2)"},
                },
            },
        },
        literal=Wire(
            method="PUT",
            path="/imports/12/syncs/33",
            query=[],
            body={
                "source": {"file": {"id": 5010}},
                "destination": {"database_table": {"schema": "staging", "table": "event_signups"}},
                "advanced_options": {
                    "existing_table_rows": "append",
                    "first_row_is_header": True,
                    "column_delimiter": "tab",
                    "escaped": False,
                    "max_errors": 10,
                    "column_overrides": {
                        "0": {"name": "signup_id", "type": "INTEGER"},
                        "3": {"name": "amount", "type": "NUMERIC(12,2)"},
                    },
                },
            },
        ),
        response={
            "id": 33,
            "source": {
                "id": 903,
                "databaseTable": None,
                "file": {"id": 5010, "name": "event_signups.tsv"},
                "googleWorksheet": None,
                "path": None,
            },
            "destination": {
                "databaseTable": {"schema": "staging", "table": "event_signups", "useWithoutSchema": False},
                "googleWorksheet": None,
                "path": "staging.event_signups",
            },
            "advancedOptions": {
                "maxErrors": 10,
                "existingTableRows": "append",
                "firstRowIsHeader": True,
                "diststyle": None,
                "distkey": None,
                "sortkey1": None,
                "sortkey2": None,
                "columnDelimiter": "tab",
                "columnOverrides": {
                    "0": {"name": "signup_id", "type": "INTEGER"},
                    "3": {"name": "amount", "type": "NUMERIC(12,2)"},
                },
                "escaped": False,
                "identityColumn": None,
                "lastModifiedColumn": None,
                "rowChunkSize": None,
                "wipeDestinationTable": None,
                "truncateLongLines": None,
                "invalidCharReplacement": None,
                "verifyTableRowCounts": None,
                "exportAction": None,
                "sqlQuery": None,
            },
        },
        response_status=200,
        expected={
            "id": 33,
            "source.file.name": "event_signups.tsv",
            "source.file.id": 5010,
            "source.path": None,
            "destination.database_table.table": "event_signups",
            "advanced_options.column_delimiter": "tab",
            "advanced_options.column_overrides.3.type": "NUMERIC(12,2)",
            "advanced_options.column_overrides.0.name": "signup_id",
        },
    ),
    ContractCase(
        tool="imports_patch_syncs",
        arguments={
            "id": 12,
            "sync_id": 34,
            "destination": {"google_worksheet": {"spreadsheet": "Donor report", "worksheet": "Q1 2026"}},
            "advanced_options": {"export_action": "updatewksht", "sql_query": "SELECT * FROM staging.donors"},
        },
        response={
            "id": 34,
            "source": {"id": 904, "databaseTable": None, "file": None, "googleWorksheet": None},
            "destination": {
                "databaseTable": None,
                "googleWorksheet": {
                    "spreadsheet": "Donor report",
                    "spreadsheetId": "1ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210",
                    "worksheet": "Q1 2026",
                    "worksheetId": 0,
                },
            },
            "advancedOptions": {
                "maxErrors": None,
                "existingTableRows": None,
                "firstRowIsHeader": None,
                "exportAction": "updatewksht",
                "sqlQuery": "SELECT * FROM staging.donors",
            },
        },
        response_status=200,
        expected={
            "id": 34,
            "destination.google_worksheet.worksheet": "Q1 2026",
            "destination.google_worksheet.worksheet_id": 0,
            "advanced_options.export_action": "updatewksht",
            "advanced_options.sql_query": "SELECT * FROM staging.donors",
        },
    ),
    ContractCase(
        tool="imports_put_syncs_archive",
        arguments={"id": 12, "sync_id": 31, "status": True},
        response=DBSYNC_SYNC,
        response_status=200,
        expected={"id": 31, "destination.path": "staging.donors", "advanced_options.sortkey1": "updated_at"},
    ),
    # --- runs of import jobs -------------------------------------------------------------------------------------
    ContractCase(
        tool="imports_post_runs",
        arguments={"id": 12},
        response={"runId": 6},
        response_status=202,
        expected={"run_id": 6},
    ),
    ContractCase(
        tool="imports_list_runs",
        arguments={"id": 12, "limit": 2, "page_num": 1, "order": "id", "order_dir": "desc"},
        response=[
            {
                "id": 6,
                "importId": 12,
                "state": "running",
                "isCancelRequested": False,
                "createdAt": "2026-01-03T03:00:00.000Z",
                "startedAt": "2026-01-03T03:00:03.000Z",
                "finishedAt": None,
                "error": None,
            },
            {
                "id": 5,
                "importId": 12,
                "state": "succeeded",
                "isCancelRequested": False,
                "createdAt": "2026-01-02T03:00:00.000Z",
                "startedAt": "2026-01-02T03:00:04.000Z",
                "finishedAt": "2026-01-02T03:04:05.000Z",
                "error": None,
            },
        ],
        response_status=200,
        response_headers=pages(1, 2, 7, 14),
        expected={
            "items.0.id": 6,
            "items.0.state": "running",
            "items.0.finished_at": None,
            "items.1.import_id": 12,
            "items.1.finished_at": "2026-01-02T03:04:05.000Z",
            "pagination.total_pages": 7,
            "pagination.total_entries": 14,
        },
    ),
    ContractCase(
        tool="imports_post_cancel",
        arguments={"id": 12},
        response={"id": 6, "state": "running", "isCancelRequested": True},
        response_status=202,
        expected={"id": 6, "state": "running", "is_cancel_requested": True},
    ),
    ContractCase(
        tool="imports_list_runs_logs",
        arguments={"id": 12, "run_id": 5, "last_id": 4410, "limit": 2},
        response=[
            {
                "id": 4411,
                "createdAt": "2026-01-02T03:00:05.000Z",
                "message": "Copying public.donors to staging.donors",
                "level": "info",
            },
            {
                "id": 4412,
                "createdAt": "2026-01-02T03:04:05.000Z",
                "message": "Copied 120345 rows",
                "level": "info",
            },
        ],
        response_status=200,
        expected={
            "items.0.id": 4411,
            "items.0.message": "Copying public.donors to staging.donors",
            "items.1.message": "Copied 120345 rows",
            "items.1.created_at": "2026-01-02T03:04:05.000Z",
            "pagination": None,
        },
    ),
    # --- file imports ----------------------------------------------------------------------------------------------
    ContractCase(
        tool="imports_post_files",
        arguments={
            "schema": "staging",
            "name": "gift_upload",
            "remote_host_id": 55,
            "credential_id": 66,
            "max_errors": 5,
            "existing_table_rows": "append",
            "diststyle": "key",
            "distkey": "gift_id",
            "sortkey1": "gift_date",
            "sortkey2": "gift_id",
            "column_delimiter": "comma",
            "first_row_is_header": True,
            "multipart": True,
            "escaped": False,
            "hidden": True,
        },
        response={
            "id": 701,
            "uploadUri": "https://civis-uploads.s3.amazonaws.com/",
            "runUri": "https://api.civisanalytics.com/imports/files/701/runs",
            "uploadFields": {
                "key": "uploads/701/gift_upload.csv",
                "policy": "eyJleHBpcmF0aW9uIjoiMjAyNi0wMS0wMlQwNDowMDowMFoifQ",
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "x-amz-credential": "ASIAEXAMPLE/20260102/us-east-1/s3/aws4_request",
                "x-amz-date": "20260102T030405Z",
                "x-amz-signature": "0f3c9d2e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e",
            },
        },
        response_status=201,
        expected={
            "id": 701,
            "upload_uri": "https://civis-uploads.s3.amazonaws.com/",
            "run_uri": "https://api.civisanalytics.com/imports/files/701/runs",
            "upload_fields.key": "uploads/701/gift_upload.csv",
            "upload_fields.x-amz-algorithm": "AWS4-HMAC-SHA256",
        },
    ),
    ContractCase(
        tool="imports_post_files_runs",
        arguments={"id": 701},
        response=run(id=9001, importId=701, state="queued", createdAt="2026-01-02T03:05:00.000Z"),
        response_status=202,
        expected={"id": 9001, "import_id": 701, "state": "queued", "started_at": None, "is_cancel_requested": False},
    ),
    ContractCase(
        tool="imports_list_files_runs",
        arguments={"id": 701, "limit": 2, "page_num": 3, "order": "id", "order_dir": "asc"},
        response=[
            run(
                id=8995,
                importId=701,
                state="failed",
                createdAt="2025-12-30T03:05:00.000Z",
                startedAt="2025-12-30T03:05:02.000Z",
                finishedAt="2025-12-30T03:05:40.000Z",
                error="Invalid byte sequence for encoding UTF8",
            ),
            run(
                id=8996,
                importId=701,
                state="cancelled",
                isCancelRequested=True,
                createdAt="2025-12-31T03:05:00.000Z",
                startedAt="2025-12-31T03:05:02.000Z",
                finishedAt="2025-12-31T03:05:09.000Z",
            ),
        ],
        response_status=200,
        response_headers=pages(3, 2, 3, 6),
        expected={
            "items.0.error": "Invalid byte sequence for encoding UTF8",
            "items.1.state": "cancelled",
            "items.1.is_cancel_requested": True,
            "pagination.page": 3,
            "pagination.total_entries": 6,
        },
    ),
    ContractCase(
        tool="imports_get_files_runs",
        arguments={"id": 701, "run_id": 9001},
        response=run(
            id=9001,
            importId=701,
            state="succeeded",
            createdAt="2026-01-02T03:05:00.000Z",
            startedAt="2026-01-02T03:05:03.000Z",
            finishedAt="2026-01-02T03:06:10.000Z",
        ),
        response_status=200,
        expected={"id": 9001, "state": "succeeded", "finished_at": "2026-01-02T03:06:10.000Z", "error": None},
    ),
    ContractCase(
        tool="imports_delete_files_runs",
        arguments={"id": 701, "run_id": 9001},
        response=None,
        response_status=202,
        expected={"status_code": 202, "message": "Done: cancel a file import run."},
    ),
    ContractCase(
        tool="imports_list_files_runs_logs",
        arguments={"id": 701, "run_id": 9001, "last_id": 120, "limit": 50},
        response=[
            {"id": 121, "createdAt": "2026-01-02T03:05:04.000Z", "message": "Detected 14 columns", "level": "debug"},
            {
                "id": 122,
                "createdAt": "2026-01-02T03:05:40.000Z",
                "message": "Line 18: expected 14 columns, found 13",
                "level": "warn",
            },
            {"id": 123, "createdAt": "2026-01-02T03:06:10.000Z", "message": "Loaded 9988 rows", "level": "info"},
        ],
        response_status=200,
        expected={
            "items.1.level": "warn",
            "items.1.message": "Line 18: expected 14 columns, found 13",
            "items.2.id": 123,
            "pagination": None,
        },
    ),
    ContractCase(
        tool="imports_get_files_runs_inputs",
        arguments={"id": 701, "run_id": 9001},
        response={
            "name": "gift_upload",
            "source": {"remoteHostId": None, "credentialId": None, "additionalCredentials": [], "name": None},
            "destination": {"remoteHostId": 55, "credentialId": 66, "additionalCredentials": [], "name": "Redshift"},
            "syncType": "AutoImport",
            "parentId": None,
            "isOutbound": False,
            "schedule": {
                "scheduled": False,
                "scheduledDays": [],
                "scheduledHours": [],
                "scheduledMinutes": [],
                "scheduledRunsPerHour": None,
                "scheduledDaysOfMonth": [],
            },
            "nextRunAt": None,
            "notifications": NOTIFICATIONS,
            "timeZone": "America/Chicago",
            "hidden": True,
        },
        response_status=200,
        expected={
            "name": "gift_upload",
            "sync_type": "AutoImport",
            "destination.remote_host_id": 55,
            "schedule.scheduled": False,
            "notifications.success_email_reply_to": "data-team@example.org",
            "hidden": True,
        },
    ),
    # --- CSV imports -----------------------------------------------------------------------------------------------
    ContractCase(
        tool="imports_post_files_csv",
        arguments={
            "name": "Gifts from S3",
            "source": {
                "storage_path": {
                    "storage_host_id": 21,
                    "credential_id": 22,
                    "file_paths": ["exports/2026/gifts_01.csv.gz", "exports/2026/gifts_02.csv.gz"],
                }
            },
            "destination": {
                "schema": "staging",
                "table": "gifts",
                "remote_host_id": 55,
                "credential_id": 66,
                "primary_keys": ["gift_id"],
                "last_modified_keys": ["updated_at"],
            },
            "first_row_is_header": True,
            "column_delimiter": "pipe",
            "escaped": True,
            "compression": "gzip",
            "existing_table_rows": "upsert",
            "max_errors": 0,
            "table_columns": [
                {"name": "gift_id", "sql_type": "BIGINT"},
                {"name": "amount", "sql_type": "NUMERIC(12,2)"},
                {"name": "updated_at", "sql_type": "TIMESTAMP"},
            ],
            "loosen_types": False,
            "execution": "immediate",
            "redshift_destination_options": {
                "diststyle": "key",
                "distkey": "gift_id",
                "sortkeys": ["updated_at", "gift_id"],
            },
            "hidden": False,
        },
        response=csv_import(),
        response_status=201,
        expected={
            "id": 88,
            "source.file_ids": [],
            "source.storage_path.storage_host_id": 21,
            "source.storage_path.file_paths.1": "exports/2026/gifts_02.csv.gz",
            "destination.primary_keys": ["gift_id"],
            "table_columns.1.sql_type": "NUMERIC(12,2)",
            "existing_table_rows": "upsert",
            "execution": "immediate",
            "redshift_destination_options.sortkeys": ["updated_at", "gift_id"],
            "my_permission_level": "manage",
        },
    ),
    ContractCase(
        tool="imports_get_files_csv",
        arguments={"id": 88},
        response=csv_import(),
        response_status=200,
        expected={
            "name": "Gifts from S3",
            "column_delimiter": "pipe",
            "destination.last_modified_keys": ["updated_at"],
            "table_columns.2.name": "updated_at",
            "redshift_destination_options.distkey": "gift_id",
        },
    ),
    ContractCase(
        tool="imports_put_files_csv",
        arguments={
            "id": 88,
            "source": {"file_ids": [5001, 5002]},
            "destination": {"schema": "staging", "table": "gifts", "remote_host_id": 55, "credential_id": 66},
            "first_row_is_header": False,
            "column_delimiter": "tab",
            "compression": "none",
            "existing_table_rows": "truncate",
            "table_columns": [{"name": "gift_id", "sql_type": "BIGINT"}, {"name": "note"}],
        },
        response=csv_import(
            name=None,
            source={"fileIds": [5001, 5002], "storagePath": None},
            destination={
                "schema": "staging",
                "table": "gifts",
                "remoteHostId": 55,
                "credentialId": 66,
                "primaryKeys": [],
                "lastModifiedKeys": [],
            },
            firstRowIsHeader=False,
            columnDelimiter="tab",
            escaped=False,
            compression="none",
            existingTableRows="truncate",
            maxErrors=None,
            tableColumns=[{"name": "gift_id", "sqlType": "BIGINT"}, {"name": "note", "sqlType": None}],
            loosenTypes=False,
            execution="delayed",
            redshiftDestinationOptions={"diststyle": None, "distkey": None, "sortkeys": []},
        ),
        response_status=200,
        expected={
            "name": None,
            "source.file_ids": [5001, 5002],
            "source.storage_path": None,
            "first_row_is_header": False,
            "table_columns.1.sql_type": None,
            "execution": "delayed",
            "redshift_destination_options.sortkeys": [],
        },
    ),
    ContractCase(
        tool="imports_patch_files_csv",
        arguments={
            "id": 88,
            "destination": {"table": "gifts_2026"},
            "existing_table_rows": "append",
            "max_errors": 25,
            "loosen_types": True,
            "redshift_destination_options": {"diststyle": "even"},
        },
        response=csv_import(
            destination={**CSV_DESTINATION, "table": "gifts_2026"},
            existingTableRows="append",
            maxErrors=25,
            loosenTypes=True,
            redshiftDestinationOptions={"diststyle": "even", "distkey": None, "sortkeys": []},
        ),
        response_status=200,
        expected={
            "destination.table": "gifts_2026",
            "destination.schema": "staging",
            "existing_table_rows": "append",
            "max_errors": 25,
            "loosen_types": True,
            "redshift_destination_options.diststyle": "even",
        },
    ),
    ContractCase(
        tool="imports_put_files_csv_archive",
        arguments={"id": 88, "status": False},
        response=csv_import(),
        response_status=200,
        expected={"id": 88, "hidden": False, "source.storage_path.credential_id": 22},
    ),
    ContractCase(
        tool="imports_post_files_csv_runs",
        arguments={"id": 88},
        response=run(id=9100, csvImportId=88, state="queued", createdAt="2026-01-02T04:00:00.000Z"),
        response_status=202,
        expected={"id": 9100, "csv_import_id": 88, "state": "queued", "finished_at": None},
    ),
    ContractCase(
        tool="imports_list_files_csv_runs",
        arguments={"id": 88, "limit": 3, "page_num": 1},
        response=[
            run(id=9100, csvImportId=88, state="running", createdAt="2026-01-02T04:00:00.000Z"),
            run(
                id=9050,
                csvImportId=88,
                state="failed",
                createdAt="2026-01-01T04:00:00.000Z",
                startedAt="2026-01-01T04:00:02.000Z",
                finishedAt="2026-01-01T04:01:00.000Z",
                error="Upsert requires primary keys",
            ),
        ],
        response_status=200,
        response_headers=pages(1, 3, 1, 2),
        expected={
            "items.0.state": "running",
            "items.0.csv_import_id": 88,
            "items.1.error": "Upsert requires primary keys",
            "pagination.per_page": 3,
            "pagination.total_entries": 2,
        },
    ),
    ContractCase(
        tool="imports_get_files_csv_runs",
        arguments={"id": 88, "run_id": 9050},
        response=run(
            id=9050,
            csvImportId=88,
            state="failed",
            createdAt="2026-01-01T04:00:00.000Z",
            startedAt="2026-01-01T04:00:02.000Z",
            finishedAt="2026-01-01T04:01:00.000Z",
            error="Upsert requires primary keys",
        ),
        response_status=200,
        expected={"state": "failed", "error": "Upsert requires primary keys", "started_at": "2026-01-01T04:00:02.000Z"},
    ),
    ContractCase(
        tool="imports_delete_files_csv_runs",
        arguments={"id": 88, "run_id": 9100},
        response=None,
        response_status=202,
        expected={"status_code": 202, "message": "Done: cancel a CSV import run."},
    ),
    ContractCase(
        tool="imports_list_files_csv_runs_logs",
        arguments={"id": 88, "run_id": 9050, "last_id": 3, "limit": 2},
        response=[
            {
                "id": 4,
                "createdAt": "2026-01-01T04:00:59.000Z",
                "message": "Upsert requires primary keys",
                "level": "error",
            },
            {"id": 5, "createdAt": "2026-01-01T04:01:00.000Z", "message": "Import failed", "level": "fatal"},
        ],
        response_status=200,
        expected={"items.0.level": "error", "items.1.level": "fatal", "items.1.id": 5, "pagination": None},
    ),
    ContractCase(
        tool="imports_get_files_csv_runs_inputs",
        arguments={"id": 88, "run_id": 9050},
        response={
            "name": "Gifts from S3",
            "source": CSV_STORAGE_SOURCE,
            "destination": {**CSV_DESTINATION, "primaryKeys": []},
            "firstRowIsHeader": True,
            "columnDelimiter": "pipe",
            "escaped": True,
            "compression": "gzip",
            "existingTableRows": "upsert",
            "maxErrors": 0,
            "tableColumns": CSV_COLUMNS,
            "loosenTypes": False,
            "execution": "immediate",
            "redshiftDestinationOptions": {"diststyle": "key", "distkey": "gift_id", "sortkeys": ["updated_at"]},
            "hidden": False,
        },
        response_status=200,
        expected={
            "destination.primary_keys": [],
            "existing_table_rows": "upsert",
            "source.storage_path.file_paths.0": "exports/2026/gifts_01.csv.gz",
            "table_columns.0.sql_type": "BIGINT",
        },
    ),
    # --- batch imports ---------------------------------------------------------------------------------------------
    ContractCase(
        tool="imports_list_batches",
        arguments={"hidden": True, "limit": 2, "page_num": 1, "order": "created_at", "order_dir": "desc"},
        response=[
            {
                "id": 311,
                "schema": "staging",
                "table": "gifts",
                "remoteHostId": 55,
                "state": "running",
                "startedAt": "2026-01-02T05:00:00.000Z",
                "finishedAt": None,
                "error": None,
            },
            {
                "id": 310,
                "schema": "staging",
                "table": "gifts",
                "remoteHostId": 55,
                "state": "failed",
                "startedAt": "2026-01-01T05:00:00.000Z",
                "finishedAt": "2026-01-01T05:02:00.000Z",
                "error": "File 5003 is not gzip-compressed",
            },
        ],
        response_status=200,
        response_headers=pages(1, 2, 4, 8),
        expected={
            "items.0.schema": "staging",
            "items.0.state": "running",
            "items.1.remote_host_id": 55,
            "items.1.error": "File 5003 is not gzip-compressed",
            "pagination.total_pages": 4,
            "pagination.total_entries": 8,
        },
    ),
    ContractCase(
        tool="imports_post_batches",
        arguments={
            "file_ids": [5001, 5002, 5003],
            "schema": "staging",
            "table": "gifts",
            "remote_host_id": 55,
            "credential_id": 66,
            "column_delimiter": "comma",
            "first_row_is_header": True,
            "compression": "zip",
            "hidden": False,
        },
        response={
            "id": 312,
            "schema": "staging",
            "table": "gifts",
            "remoteHostId": 55,
            "state": "queued",
            "startedAt": None,
            "finishedAt": None,
            "error": None,
            "hidden": False,
        },
        response_status=201,
        expected={"id": 312, "state": "queued", "table": "gifts", "started_at": None, "hidden": False},
    ),
    ContractCase(
        tool="imports_get_batches",
        arguments={"id": 310},
        response={
            "id": 310,
            "schema": "staging",
            "table": "gifts",
            "remoteHostId": 55,
            "state": "failed",
            "startedAt": "2026-01-01T05:00:00.000Z",
            "finishedAt": "2026-01-01T05:02:00.000Z",
            "error": "File 5003 is not gzip-compressed",
            "hidden": True,
        },
        response_status=200,
        expected={"id": 310, "schema": "staging", "state": "failed", "hidden": True},
    ),
    # --- sharing and ownership -------------------------------------------------------------------------------------
    ContractCase(
        tool="imports_list_shares",
        arguments={"id": 12},
        # Civis usually answers with a single ShareIndex; two exercise the per-item handling.
        response=[
            SHARES,
            {
                "readers": {"users": [], "groups": []},
                "writers": {"users": [{"id": 8, "name": "Import Service"}], "groups": []},
                "owners": {"users": [], "groups": [{"id": 2, "name": "Data Engineering"}]},
                "totalUserShares": 1,
                "totalGroupShares": 1,
            },
        ],
        response_status=200,
        expected={
            "items.0.readers.users.0.name": "Grace Hopper",
            "items.0.readers.groups.0.id": 4,
            "items.0.owners.users.0.id": 7,
            "items.0.total_user_shares": 2,
            "items.1.owners.groups.0.name": "Data Engineering",
            "items.1.writers.users.0.id": 8,
            "pagination": None,
        },
    ),
    ContractCase(
        tool="imports_put_shares_users",
        arguments={
            "id": 12,
            "user_ids": [9, 10],
            "permission_level": "write",
            "share_email_body": "Sharing the nightly donor sync with you.",
            "send_shared_email": True,
        },
        response={
            "readers": {"users": [], "groups": [{"id": 4, "name": "Analysts"}]},
            "writers": {
                "users": [{"id": 9, "name": "Grace Hopper"}, {"id": 10, "name": "Katherine Johnson"}],
                "groups": [],
            },
            "owners": {"users": [{"id": 7, "name": "Ada Lovelace"}], "groups": []},
            "totalUserShares": 3,
            "totalGroupShares": 1,
        },
        response_status=200,
        expected={
            "writers.users.1.name": "Katherine Johnson",
            "writers.users.0.id": 9,
            "total_user_shares": 3,
            "readers.users": [],
        },
    ),
    ContractCase(
        tool="imports_delete_shares_users",
        arguments={"id": 12, "user_id": 9},
        response=None,
        response_status=204,
        expected={"status_code": 204, "message": "Done: revoke a user's access to an import."},
    ),
    ContractCase(
        tool="imports_put_shares_groups",
        arguments={"id": 12, "group_ids": [4, 5], "permission_level": "read", "send_shared_email": False},
        response={
            "readers": {"users": [], "groups": [{"id": 4, "name": "Analysts"}, {"id": 5, "name": "Field Team"}]},
            "writers": {"users": [], "groups": []},
            "owners": {"users": [{"id": 7, "name": "Ada Lovelace"}], "groups": []},
            "totalUserShares": 1,
            "totalGroupShares": 2,
        },
        response_status=200,
        expected={
            "readers.groups.1.name": "Field Team",
            "total_group_shares": 2,
            "owners.users.0.name": "Ada Lovelace",
        },
    ),
    ContractCase(
        tool="imports_delete_shares_groups",
        arguments={"id": 12, "group_id": 5},
        response=None,
        response_status=204,
        expected={"status_code": 204, "message": "Done: revoke a group's access to an import."},
    ),
    ContractCase(
        tool="imports_list_dependencies",
        arguments={"id": 12, "user_id": 9},
        response=[
            {
                "objectType": "Credential",
                "fcoType": "credentials",
                "id": 44,
                "name": "Donor DB read-only",
                "permissionLevel": "manage",
                "description": None,
                "shareable": True,
            },
            {
                "objectType": "Credential",
                "fcoType": "credentials",
                "id": 66,
                "name": None,
                "permissionLevel": None,
                "description": "You do not have access to this credential.",
                "shareable": False,
            },
        ],
        response_status=200,
        expected={
            "items.0.object_type": "Credential",
            "items.0.permission_level": "manage",
            "items.0.shareable": True,
            "items.1.name": None,
            "items.1.shareable": False,
            "pagination": None,
        },
    ),
    ContractCase(
        tool="imports_put_transfer",
        arguments={
            "id": 12,
            "user_id": 9,
            "include_dependencies": True,
            "email_body": "You own the nightly donor sync now.",
            "send_email": False,
        },
        response={
            "dependencies": [
                {
                    "objectType": "Credential",
                    "fcoType": "credentials",
                    "id": 44,
                    "name": "Donor DB read-only",
                    "permissionLevel": "manage",
                    "description": None,
                    "shared": True,
                },
                {
                    "objectType": "Credential",
                    "fcoType": "credentials",
                    "id": 66,
                    "name": None,
                    "permissionLevel": None,
                    "description": "You do not have access to this credential.",
                    "shared": False,
                },
            ]
        },
        response_status=200,
        expected={"dependencies.0.shared": True, "dependencies.0.id": 44, "dependencies.1.shared": False},
    ),
    # --- projects --------------------------------------------------------------------------------------------------
    ContractCase(
        tool="imports_list_projects",
        arguments={"id": 12, "hidden": False},
        response=[
            {
                "id": 3,
                "author": ADA,
                "name": "Donor analytics",
                "description": "Everything feeding the donor dashboards.",
                "users": [ADA, GRACE],
                "autoShare": True,
                "createdAt": "2025-03-01T10:00:00.000Z",
                "updatedAt": "2025-12-15T16:30:00.000Z",
                "archived": False,
            },
            {
                "id": 4,
                "author": GRACE,
                "name": "Data quality",
                "description": None,
                "users": [],
                "autoShare": False,
                "createdAt": "2025-08-09T08:00:00.000Z",
                "updatedAt": "2025-08-09T08:00:00.000Z",
                "archived": False,
            },
        ],
        response_status=200,
        expected={
            "items.0.author.username": "alovelace",
            "items.0.users.1.name": "Grace Hopper",
            "items.0.auto_share": True,
            "items.1.description": None,
            "items.1.users": [],
            "pagination": None,
        },
    ),
    ContractCase(
        tool="imports_put_projects",
        arguments={"id": 12, "project_id": 3},
        literal=Wire(
            method="PUT",
            path="/imports/12/projects/3",
            query=[],
            body={},
        ),
        response=None,
        response_status=204,
        expected={"status_code": 204, "message": "Done: add an import to a project."},
    ),
    ContractCase(
        tool="imports_delete_projects",
        arguments={"id": 12, "project_id": 3},
        response=None,
        response_status=204,
        expected={"status_code": 204, "message": "Done: remove an import from a project."},
    ),
]

CASES_BY_TOOL: dict[str, ContractCase] = {case.tool: case for case in CASES}

# What Civis holds before the destructive calls above run, by path (GET answers, 200). Destructive tools read the
# live state to show the human a preview before they act; these answers make each of those calls actionable (the run
# to cancel is still running, the share to revoke and the project link to remove exist, the sync to archive is there).
LIVE_STATE: dict[str, Json] = {
    "/imports/12": import_job(
        lastRun={**LAST_RUN, "id": 6, "state": "running", "finishedAt": None},
        syncs=[DBSYNC_SYNC, GDOC_SYNC],
    ),
    "/imports/12/shares": [
        {
            "readers": {
                "users": [{"id": 9, "name": "Grace Hopper"}],
                "groups": [{"id": 4, "name": "Analysts"}, {"id": 5, "name": "Field Team"}],
            },
            "writers": {"users": [], "groups": []},
            "owners": {"users": [{"id": 7, "name": "Ada Lovelace"}], "groups": []},
            "totalUserShares": 2,
            "totalGroupShares": 2,
        }
    ],
    "/imports/12/dependencies": CASES_BY_TOOL["imports_list_dependencies"].response,
    "/imports/12/projects": CASES_BY_TOOL["imports_list_projects"].response,
    "/imports/701": import_job(id=701, name="gift_upload.csv", syncType="AutoImport", syncs=[GDOC_SYNC]),
    "/imports/files/701/runs/9001": run(
        id=9001,
        importId=701,
        state="running",
        createdAt="2026-01-02T03:05:00.000Z",
        startedAt="2026-01-02T03:05:03.000Z",
    ),
    "/imports/files/csv/88": csv_import(),
    "/imports/files/csv/88/runs/9100": run(
        id=9100,
        csvImportId=88,
        state="running",
        createdAt="2026-01-02T04:00:00.000Z",
        startedAt="2026-01-02T04:00:02.000Z",
    ),
}
