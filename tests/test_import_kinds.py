"""Every kind of import really runs, and really fails: Dbsync (in and out), Google Sheets (import and export),
AutoImport and batch imports against the sandbox's real databases (the SQLite warehouse and CRM; PostgreSQL in
``test_import_kinds_postgres.py``).

What the groups prove:

1. **Each demo failure** (``DEMO_FAILURES``, one per kind and failure class) is diagnosed through the MCP tool with the
   documented cause; where a fix is offered it is applied through the tool it names, and the next run succeeds with
   the rows checked in the warehouse, the CRM or the sheet.
2. **Failures made through the tools** (a misspelt schema, a missing identity column, other columns in an existing
   table, a type no option fixes, a row-count check, a tab to update that does not exist) likewise; and those no
   setting fixes (no permission, no such spreadsheet) are named with no fix, and fixed by changing the credential.
3. **What really happened**: Dbsync options change what is copied (incremental reads only new rows, chunks, truncation),
   batches load several files into one table, and a cancel mid-copy leaves the destination as it was.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from mcp import Client

from civis_mcp.sandbox import RunningSandbox, SandboxConfig
from civis_mcp.sandbox import demo as d
from civis_mcp.sandbox.runs import perform
from civis_mcp.sandbox.state import Sandbox
from tests.workflow_support import Recorded, accept_everything, call, client, recorded_sandbox, run_log

CRM = d.DEMO_POSTGRES_HOST_ID
READ_ONLY = d.DEMO_POSTGRES_CREDENTIAL_ID
LOADER = d.DEMO_CRM_LOADER_CREDENTIAL_ID


@pytest.fixture
def rec() -> Iterator[Recorded]:
    with recorded_sandbox(run_step_seconds=0.0) as recorded:
        yield recorded


def sheet_rows(sandbox: RunningSandbox, spreadsheet: str, worksheet: str) -> list[list[str]]:
    content = sandbox.sheet(spreadsheet, worksheet)
    assert content is not None, (spreadsheet, worksheet)
    return list(csv.reader(io.StringIO(content)))


async def ended(mcp: Client, tool: str, import_id: int, run_id: int | None = None) -> dict[str, Any]:
    """The run once it has ended, read through the MCP tool every 20 ms (imports_wait_for_run first re-polls after
    0.25 s, which its own tests cover; here it would only make the suite slower)."""
    deadline = time.monotonic() + 30
    while True:
        if tool == "imports_get_batches":
            run = await call(mcp, tool, id=import_id)
        else:
            runs = (await call(mcp, tool, id=import_id, limit=5))["items"]
            run = next(item for item in runs if item["id"] == run_id)
        if run["state"] in ("succeeded", "failed", "cancelled"):
            return run
        assert time.monotonic() < deadline, run
        await anyio.sleep(0.02)


async def run_to_end(mcp: Client, import_id: int) -> dict[str, Any]:
    started = await call(mcp, "imports_post_runs", id=import_id)
    return await ended(mcp, "imports_list_runs", import_id, started["run_id"])


async def apply_fix_and_rerun(mcp: Client, diagnosis: dict[str, Any]) -> dict[str, Any]:
    """Apply the diagnosis's fix through its tool, start the run its ``then`` names, wait; the new run."""
    fix = diagnosis["fix"]
    assert fix is not None, diagnosis
    await call(mcp, fix["tool"], **fix["arguments"])
    start = re.search(r"with (imports_\w+) \(id=(\d+)\)", fix["then"])
    assert start is not None, fix["then"]
    assert start.group(1) == "imports_post_runs" and int(start.group(2)) == diagnosis["import_id"]
    return await run_to_end(mcp, diagnosis["import_id"])


def check_evidence(rec: Recorded, diagnosis: dict[str, Any]) -> None:
    """The evidence is the run's own error lines (with their ids), and the run's error names the failed sync."""
    logged = {line.id: line for line in run_log(rec.sandbox, diagnosis["run"]["id"])}
    errors = {line_id for line_id, line in logged.items() if line.level in ("error", "fatal")}
    assert errors and errors <= {line["id"] for line in diagnosis["evidence"]}


# --- 1. the demo failures ---------------------------------------------------------------------------------------------

Check = Callable[[RunningSandbox], None]


def rows_in_warehouse(schema: str, table: str, expected: int) -> Check:
    def check(sandbox: RunningSandbox) -> None:
        assert sandbox.warehouse_rows(schema, table) == expected

    return check


def long_note_cut(sandbox: RunningSandbox) -> None:
    assert sandbox.warehouse_rows("staging", "contact_notes") == 40
    ((note,),) = sandbox.query_warehouse("SELECT notes FROM staging__contact_notes WHERE id = 8")
    assert len(note.encode()) == 20 and "Prefers phone calls".startswith(note[:19])


def totals_replaced(sandbox: RunningSandbox) -> None:
    rows = sheet_rows(sandbox, "Weekly totals", "Totals")
    assert len(rows) == 51 and rows[0][:2] == ["id", "name"], rows[:2]


def people_tab(sandbox: RunningSandbox) -> None:
    rows = sheet_rows(sandbox, "Weekly totals", "People")
    assert len(rows) == 51 and rows[0][0] == "id"
    assert sheet_rows(sandbox, "Weekly totals", "Totals") == [["week", "people"], ["2024-W01", "12"]]  # untouched


AFTER_FIX: dict[int, Check] = {
    d.DEMO_DBSYNC_MISSING_TABLE_IMPORT_ID: rows_in_warehouse("staging", "donations_copy", 120),
    d.DEMO_DBSYNC_MISSING_COLUMN_IMPORT_ID: rows_in_warehouse("staging", "contacts_incremental", 40),
    d.DEMO_DBSYNC_TABLE_EXISTS_IMPORT_ID: rows_in_warehouse("staging", "crm_contacts", 40),
    d.DEMO_DBSYNC_TYPE_IMPORT_ID: long_note_cut,
    d.DEMO_GDOC_MISSING_TAB_IMPORT_ID: rows_in_warehouse("staging", "volunteer_shifts", 8),
    d.DEMO_GDOC_BAD_ROWS_IMPORT_ID: rows_in_warehouse("staging", "event_signups", 12),  # 10 + the 2 good late rows
    d.DEMO_GDOC_EXPORT_IMPORT_ID: totals_replaced,
    d.DEMO_AUTO_DELIMITER_IMPORT_ID: rows_in_warehouse("staging", "orders_upload", 30),
}
SYNC_FIXES = [failure for failure in d.DEMO_FAILURES if failure.fix_tool == "imports_patch_syncs"]


def test_every_sync_fix_in_the_demo_list_has_a_check() -> None:
    assert {failure.import_id for failure in SYNC_FIXES} == set(AFTER_FIX)
    kinds = {failure.kind.split()[0] for failure in d.DEMO_FAILURES}
    assert kinds == {"CSV", "Dbsync", "GdocImport", "GdocExport", "AutoImport", "Batch"}


@pytest.mark.parametrize("failure", SYNC_FIXES, ids=lambda failure: f"{failure.import_id}-{failure.cause}")
async def test_demo_failure_is_diagnosed_and_its_fix_makes_the_next_run_succeed(
    rec: Recorded, failure: d.DemoFailure
) -> None:
    async with client(rec.sandbox, elicitation=accept_everything) as mcp:
        mark = rec.requests.mark()
        diagnosis = await call(mcp, "imports_diagnose_run", import_id=failure.import_id)
        assert not rec.requests.writes(mark)  # diagnosing only reads
        assert diagnosis["kind"] == "import" and diagnosis["run"]["state"] == "failed"
        assert diagnosis["cause"] == failure.cause, diagnosis
        check_evidence(rec, diagnosis)
        sync_id = diagnosis["configuration"]["sync"]["id"]
        assert diagnosis["run"]["error"].startswith(f"Sync {sync_id} (")
        assert diagnosis["fix"]["tool"] == "imports_patch_syncs"
        assert diagnosis["fix"]["arguments"]["sync_id"] == sync_id
        before = await call(mcp, "imports_get", id=failure.import_id)

        run = await apply_fix_and_rerun(mcp, diagnosis)
        assert run["state"] == "succeeded", (run, [line.message for line in run_log(rec.sandbox, run["id"])])
        AFTER_FIX[failure.import_id](rec.sandbox)
        after = await call(mcp, "imports_get", id=failure.import_id)
        assert after["syncs"] != before["syncs"]  # the fix changed the sync, and only through the tool


async def test_every_listed_demo_failure_is_diagnosed_as_listed(rec: Recorded) -> None:
    """What ``civis-mcp demo --list`` shows is what the diagnosis says, for every entry, fix or no fix."""
    async with client(rec.sandbox) as mcp:
        for failure in d.DEMO_FAILURES:
            arguments: dict[str, Any] = {"import_id": failure.import_id}
            if failure.run_id is not None:
                arguments["run_id"] = failure.run_id
            diagnosis = await call(mcp, "imports_diagnose_run", **arguments)
            assert diagnosis["run"]["state"] == "failed", failure
            assert diagnosis["cause"] == failure.cause, (failure, diagnosis)
            assert (diagnosis["fix"] or {}).get("tool") == failure.fix_tool, (failure, diagnosis)
            if failure.fix_tool is None:
                assert any("No automatic fix" in note for note in diagnosis["not_examined"])


async def test_permission_denied_on_export_is_fixed_by_a_credential_that_may_write(rec: Recorded) -> None:
    sandbox = rec.sandbox
    import_id = d.DEMO_DBSYNC_EXPORT_IMPORT_ID
    async with client(sandbox, elicitation=accept_everything) as mcp:
        diagnosis = await call(mcp, "imports_diagnose_run", import_id=import_id)
        assert diagnosis["cause"] == "permission_or_credential" and diagnosis["fix"] is None
        assert "permission denied for schema exports" in diagnosis["run"]["error"]
        assert f"Credential {READ_ONLY}" in diagnosis["run"]["error"]
        assert diagnosis["configuration"]["destination"]["credential_id"] == READ_ONLY
        assert "imports_patch" in diagnosis["summary"]
        assert sandbox.remote_rows(CRM, "exports", "people") is None

        await call(mcp, "imports_patch", id=import_id, destination={"credential_id": LOADER})
        run = await run_to_end(mcp, import_id)
        assert run["state"] == "succeeded", run
    assert sandbox.remote_rows(CRM, "exports", "people") == sandbox.warehouse_rows("demo", "people") == 50


# --- 2. failures made through the tools -------------------------------------------------------------------------------


async def new_dbsync(
    mcp: Client,
    source: tuple[str, str],
    destination: tuple[str, str],
    *,
    outbound: bool = False,
    credential_id: int = READ_ONLY,
    **options: Any,
) -> int:
    crm = {"remote_host_id": CRM, "credential_id": credential_id}
    warehouse = {"remote_host_id": d.DEMO_REDSHIFT_HOST_ID, "credential_id": d.DEMO_REDSHIFT_CREDENTIAL_ID}
    made = await call(
        mcp,
        "imports_post",
        name=f"{source[0]}.{source[1]} -> {destination[0]}.{destination[1]}",
        sync_type="Dbsync",
        is_outbound=outbound,
        source=warehouse if outbound else crm,
        destination=crm if outbound else warehouse,
    )
    await call(
        mcp,
        "imports_post_syncs",
        id=made["id"],
        source={"database_table": {"schema": source[0], "table": source[1]}},
        destination={"database_table": {"schema": destination[0], "table": destination[1]}},
        advanced_options=options,
    )
    return int(made["id"])


async def new_sheets_job(
    mcp: Client, sync_type: str, sheet: dict[str, Any], table: tuple[str, str], **options: Any
) -> int:
    google = {"remote_host_id": d.DEMO_GOOGLE_HOST_ID, "credential_id": d.DEMO_GOOGLE_CREDENTIAL_ID}
    warehouse = {"remote_host_id": d.DEMO_REDSHIFT_HOST_ID, "credential_id": d.DEMO_REDSHIFT_CREDENTIAL_ID}
    exporting = sync_type == "GdocExport"
    made = await call(
        mcp,
        "imports_post",
        name=f"{sync_type} {sheet['spreadsheet']}",
        sync_type=sync_type,
        is_outbound=exporting,
        source=warehouse if exporting else google,
        destination=google if exporting else warehouse,
    )
    table_side = {"database_table": {"schema": table[0], "table": table[1]}}
    sheet_side = {"google_worksheet": sheet}
    await call(
        mcp,
        "imports_post_syncs",
        id=made["id"],
        source=table_side if exporting else sheet_side,
        destination=sheet_side if exporting else table_side,
        advanced_options=options,
    )
    return int(made["id"])


@dataclass(frozen=True)
class Made:
    name: str
    make: Callable[[Client, RunningSandbox], Any]
    cause: str
    change: dict[str, Any] | None
    """The fix's arguments besides id and sync_id; None when no setting fixes it."""
    words: str
    after: Check | None = None


def _extra_contact(sandbox: RunningSandbox) -> None:
    with sandbox.state.warehouse.connection() as conn:
        conn.execute("INSERT INTO staging__crm_contacts (id, full_name) VALUES (999, 'Deleted upstream')")


async def _verify_counts(mcp: Client, sandbox: RunningSandbox) -> int:
    _extra_contact(sandbox)  # a row the CRM no longer has
    return await new_dbsync(
        mcp, ("public", "contacts"), ("staging", "crm_contacts"), identity_column="id", verify_table_row_counts=True
    )


async def _narrow_existing(mcp: Client, sandbox: RunningSandbox) -> int:
    with sandbox.state.warehouse.connection() as conn:
        conn.execute(
            'CREATE TABLE "scratch__donation_ids" (id INTEGER, contact_id INTEGER, amount INTEGER, donated_on DATE)'
        )
    return await new_dbsync(mcp, ("public", "donations"), ("scratch", "donation_ids"), identity_column="id")


MADE = [
    Made(
        "misspelt-schema",
        lambda mcp, sandbox: new_dbsync(
            mcp, ("pubic", "contacts"), ("scratch", "contacts"), wipe_destination_table=True
        ),
        "not_found",
        {"source": {"database_table": {"schema": "public", "table": "contacts"}}},
        'schema "pubic" does not exist',
        rows_in_warehouse("scratch", "contacts", 40),
    ),
    Made(
        "missing-identity-column",
        lambda mcp, sandbox: new_dbsync(
            mcp, ("public", "contacts"), ("scratch", "contacts_inc"), identity_column="contact_id"
        ),
        "missing_column",
        {"advanced_options": {"identity_column": "id"}},
        'identity_column "contact_id" is not a column',
        rows_in_warehouse("scratch", "contacts_inc", 40),
    ),
    Made(
        "other-columns-in-the-existing-table",
        lambda mcp, sandbox: new_dbsync(
            mcp, ("public", "contacts"), ("staging", "crm_donations"), identity_column="id"
        ),
        "existing_table_differs",
        {"advanced_options": {"wipe_destination_table": True}},
        "do not match the existing table staging.crm_donations",
        rows_in_warehouse("staging", "crm_donations", 40),
    ),
    Made(
        "a-type-no-option-fits",
        _narrow_existing,
        "type_conversion",
        {"advanced_options": {"wipe_destination_table": True}},
        "is not a valid INTEGER",
        rows_in_warehouse("scratch", "donation_ids", 120),
    ),
    Made(
        "row-counts-differ",
        _verify_counts,
        "row_count_mismatch",
        {"advanced_options": {"wipe_destination_table": True}},
        "Row count mismatch",
        rows_in_warehouse("staging", "crm_contacts", 40),
    ),
    Made(
        "update-a-tab-that-does-not-exist",
        lambda mcp, sandbox: new_sheets_job(
            mcp,
            "GdocExport",
            {"spreadsheet": "Weekly totals", "worksheet": "People"},
            ("demo", "people"),
            export_action="updatewksht",
        ),
        "not_found",
        {"advanced_options": {"export_action": "newwksht"}},
        'Worksheet "People" not found',
        lambda sandbox: people_tab(sandbox),
    ),
    Made(
        "a-spreadsheet-not-shared",
        lambda mcp, sandbox: new_sheets_job(
            mcp, "GdocImport", {"spreadsheet": "Board contacts", "worksheet": "Sheet1"}, ("scratch", "board")
        ),
        "permission_or_credential",
        None,
        "does not have permission to open spreadsheet",
    ),
    Made(
        "no-such-spreadsheet",
        lambda mcp, sandbox: new_sheets_job(
            mcp, "GdocImport", {"spreadsheet": "Budget 2031", "worksheet": "Sheet1"}, ("scratch", "budget")
        ),
        "not_found",
        None,
        'Spreadsheet "Budget 2031" not found',
    ),
    Made(
        "a-credential-that-cannot-log-in",
        lambda mcp, sandbox: new_dbsync(
            mcp, ("public", "contacts"), ("scratch", "c"), credential_id=d.DEMO_GOOGLE_CREDENTIAL_ID
        ),
        "permission_or_credential",
        None,
        "password authentication failed for credential 4003",
    ),
    Made(
        "a-schema-nobody-may-read",
        lambda mcp, sandbox: new_dbsync(mcp, ("private", "payroll"), ("scratch", "payroll"), credential_id=LOADER),
        "permission_or_credential",
        None,
        "permission denied for schema private",
    ),
]


@pytest.mark.parametrize("case", MADE, ids=lambda case: case.name)
async def test_a_failure_made_through_the_tools_is_diagnosed_and_fixed_where_a_setting_can(
    rec: Recorded, case: Made
) -> None:
    async with client(rec.sandbox, elicitation=accept_everything) as mcp:
        import_id = await case.make(mcp, rec.sandbox)
        failed = await run_to_end(mcp, import_id)
        assert failed["state"] == "failed" and case.words in failed["error"], failed
        diagnosis = await call(mcp, "imports_diagnose_run", import_id=import_id)
        assert diagnosis["cause"] == case.cause, diagnosis
        check_evidence(rec, diagnosis)
        if case.change is None:
            assert diagnosis["fix"] is None
            return
        sync_id = diagnosis["configuration"]["sync"]["id"]
        assert diagnosis["fix"]["arguments"] == {"id": import_id, "sync_id": sync_id, **case.change}
        run = await apply_fix_and_rerun(mcp, diagnosis)
        assert run["state"] == "succeeded", run
        assert case.after is not None
        case.after(rec.sandbox)


# --- 3. what really happened ------------------------------------------------------------------------------------------


async def test_incremental_syncs_read_only_new_rows_and_options_shape_the_copy(rec: Recorded) -> None:
    sandbox = rec.sandbox
    async with client(sandbox, elicitation=accept_everything) as mcp:
        import_id = await new_dbsync(
            mcp, ("public", "donations"), ("scratch", "donations"), identity_column="id", row_chunk_size=50
        )
        first = await run_to_end(mcp, import_id)
        assert first["state"] == "succeeded" and sandbox.warehouse_rows("scratch", "donations") == 120
        chunks = [line.message for line in run_log(sandbox, first["id"]) if "Chunk" in line.message]
        assert chunks == [
            "[1/1] Chunk 1: wrote rows 1-50",
            "[1/1] Chunk 2: wrote rows 51-100",
            "[1/1] Chunk 3: wrote rows 101-120",
        ]

        with sandbox.state.hosts.remotes[CRM].session(None, None) as crm:  # new rows arrive in the CRM
            columns = crm.columns("public", "donations")
            assert columns is not None
            crm.insert("public", "donations", columns, [(121, 1, 5.0, "2024-06-01"), (122, 2, 7.5, "2024-06-02")])
        second = await run_to_end(mcp, import_id)
        assert second["state"] == "succeeded"
        messages = [line.message for line in run_log(sandbox, second["id"])]
        assert "[1/1] Reading rows of public.donations with id > 120" in messages
        assert any(message.startswith("[1/1] Wrote 2 rows to scratch.donations") for message in messages)
        assert sandbox.warehouse_rows("scratch", "donations") == 122


async def test_a_batch_loads_all_its_files_into_one_table_and_different_headers_fail(rec: Recorded) -> None:
    sandbox = rec.sandbox
    warehouse = {"remote_host_id": d.DEMO_REDSHIFT_HOST_ID, "credential_id": d.DEMO_REDSHIFT_CREDENTIAL_ID}
    async with client(sandbox) as mcp:
        both = await call(
            mcp,
            "imports_post_batches",
            file_ids=[9001, 9002],
            schema="scratch",
            table="people_twice",
            first_row_is_header=True,
            compression="none",
            **warehouse,
        )
        assert (await ended(mcp, "imports_get_batches", both["id"]))["state"] == "failed"  # 9002 is gzipped
        plain = await call(
            mcp,
            "imports_post_batches",
            file_ids=[9001, 9001],
            schema="scratch",
            table="people_twice",
            first_row_is_header=True,
            compression="none",
            **warehouse,
        )
        assert (await ended(mcp, "imports_get_batches", plain["id"]))["state"] == "succeeded"
        assert sandbox.warehouse_rows("scratch", "people_twice") == 100
        mixed = await call(
            mcp,
            "imports_post_batches",
            file_ids=[9001, 9005],
            schema="scratch",
            table="mixed",
            first_row_is_header=True,
            compression="none",
            **warehouse,
        )
        await ended(mcp, "imports_get_batches", mixed["id"])
        diagnosis = await call(mcp, "imports_diagnose_run", import_id=mixed["id"])
        assert diagnosis["kind"] == "batch" and diagnosis["cause"] == "header_mismatch" and diagnosis["fix"] is None
        assert sandbox.warehouse_rows("scratch", "mixed") is None


def _cancel_after(calls: int) -> Callable[[], bool]:
    seen = [0]

    def should_cancel() -> bool:
        seen[0] += 1
        return seen[0] > calls

    return should_cancel


@pytest.mark.parametrize("existing", [True, False], ids=["replacing-a-table", "into-a-new-table"])
def test_a_cancel_mid_copy_leaves_nothing_half_written(existing: bool) -> None:
    sandbox = Sandbox(SandboxConfig())
    try:
        store = sandbox.store
        table = "crm_donations" if existing else "donations_new"
        before = sandbox.warehouse.query(f"SELECT * FROM staging__{table} ORDER BY id") if existing else None
        job = store.create_job("import", d.DEMO_USER_ID, dict(store.get_job(d.DEMO_DBSYNC_IMPORT_ID).doc))  # type: ignore[union-attr]
        store.create_sync(
            job.id,
            {
                "source": {"database_table": {"schema": "public", "table": "donations"}},
                "destination": {"database_table": {"schema": "staging", "table": table}},
                "advanced_options": {"wipe_destination_table": True, "row_chunk_size": 10},
            },
        )
        run = store.create_run(job.id)
        lines: list[tuple[str, str]] = []
        outcome = perform(
            store, sandbox.hosts, job, run, lambda level, text: lines.append((level, text)), _cancel_after(4)
        )
        assert outcome.state == "cancelled"
        assert any(text.startswith("[1/1] Chunk 3: wrote rows 21-30") for _, text in lines)  # it was mid-copy
        assert lines[-1][1].startswith("Run cancelled by user; sync")
        if existing:
            assert sandbox.warehouse.query(f"SELECT * FROM staging__{table} ORDER BY id") == before
            assert before is not None and len(before) == 120
        else:
            assert sandbox.warehouse.table_rows("staging", table) is None
    finally:
        sandbox.close()
