"""The CRM host as a real PostgreSQL server: Dbsync imports copy into and out of it, its own roles refuse what a
credential may not do, and a cancel mid-copy leaves it untouched.

The server is started by the test (``tests/postgres_support.py``: Debian's PostgreSQL, installed by
``tests/services/ensure_postgres.sh`` when missing, never skipped), one per module, on 127.0.0.1; each test gets a
fresh database in it, which the sandbox seeds (schemas, rows, one role per credential) when it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from typing import Any

import psycopg
import pytest

from civis_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from civis_mcp.sandbox.runs import perform
from civis_mcp.sandbox.state import Sandbox
from tests.postgres_support import PostgresServer, postgres_server
from tests.test_import_kinds import apply_fix_and_rerun, run_to_end
from tests.workflow_support import accept_everything, call, client, run_log

_databases = count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with postgres_server() as running:
        yield running


@pytest.fixture
def crm_url(server: PostgresServer) -> str:
    name = f"crm_{next(_databases)}"
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server.url(name)


@pytest.fixture
def sandbox(crm_url: str) -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(postgres_url=crm_url, run_step_seconds=0.0)) as running:
        yield running


def crm_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())


def test_the_sandbox_seeds_the_crm_and_its_roles_in_postgres(sandbox: RunningSandbox, crm_url: str) -> None:
    assert crm_rows(crm_url, "SELECT COUNT(*) FROM public.contacts") == [(40,)]
    roles = crm_rows(crm_url, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'civis_credential_%' ORDER BY 1")
    assert roles == [("civis_credential_4002",), ("civis_credential_4008",)]
    # The seeded Dbsync runs really read PostgreSQL: the warehouse has what the CRM has.
    assert sandbox.warehouse_rows("staging", "crm_contacts") == 40
    assert sandbox.warehouse_rows("staging", "crm_donations") == 120
    logs = [line.message for line in run_log(sandbox, 6001)]
    assert '[1/2] Reading public.contacts on "CRM Postgres" (PostgreSQL): 40 rows in the table' in logs
    amounts = sandbox.query_warehouse("SELECT SUM(amount) FROM staging__crm_donations")
    assert amounts == [(pytest.approx(float(crm_rows(crm_url, "SELECT SUM(amount) FROM public.donations")[0][0])),)]


async def test_postgres_refuses_a_read_only_credential_and_a_writer_fixes_it(
    sandbox: RunningSandbox, crm_url: str
) -> None:
    import_id = d.DEMO_DBSYNC_EXPORT_IMPORT_ID
    async with client(sandbox, elicitation=accept_everything) as mcp:
        failed = await run_to_end(mcp, import_id)
        assert failed["state"] == "failed"
        assert "permission denied for schema exports" in failed["error"]  # PostgreSQL's own words, via SET ROLE
        diagnosis = await call(mcp, "imports_diagnose_run", import_id=import_id)
        assert diagnosis["cause"] == "permission_or_credential" and diagnosis["fix"] is None
        assert crm_rows(crm_url, "SELECT to_regclass('exports.people')") == [(None,)]

        await call(mcp, "imports_patch", id=import_id, destination={"credential_id": d.DEMO_CRM_LOADER_CREDENTIAL_ID})
        run = await run_to_end(mcp, import_id)
        assert run["state"] == "succeeded", run
    assert crm_rows(crm_url, "SELECT COUNT(*) FROM exports.people") == [(50,)]
    owner = crm_rows(crm_url, "SELECT tableowner FROM pg_tables WHERE schemaname = 'exports' AND tablename = 'people'")
    assert owner == [("civis_credential_4008",)]  # written as the credential's role, not as the sandbox's superuser
    assert sandbox.remote_rows(d.DEMO_POSTGRES_HOST_ID, "exports", "people") == 50


@pytest.mark.parametrize(
    ("import_id", "cause", "schema", "table", "rows"),
    [
        (d.DEMO_DBSYNC_MISSING_TABLE_IMPORT_ID, "not_found", "staging", "donations_copy", 120),
        (d.DEMO_DBSYNC_TYPE_IMPORT_ID, "type_conversion", "staging", "contact_notes", 40),
    ],
)
async def test_postgres_sources_fail_for_real_and_the_fix_makes_the_next_run_succeed(
    sandbox: RunningSandbox, import_id: int, cause: str, schema: str, table: str, rows: int
) -> None:
    async with client(sandbox, elicitation=accept_everything) as mcp:
        diagnosis = await call(mcp, "imports_diagnose_run", import_id=import_id)
        assert diagnosis["cause"] == cause and diagnosis["fix"] is not None, diagnosis
        run = await apply_fix_and_rerun(mcp, diagnosis)
        assert run["state"] == "succeeded", run
    assert sandbox.warehouse_rows(schema, table) == rows


def test_a_cancel_mid_copy_leaves_postgres_untouched(crm_url: str) -> None:
    sandbox = Sandbox(SandboxConfig(postgres_url=crm_url))
    try:
        store = sandbox.store
        job = store.create_job("import", d.DEMO_USER_ID, dict(store.get_job(d.DEMO_DBSYNC_EXPORT_IMPORT_ID).doc))  # type: ignore[union-attr]
        job.doc["destination"]["credential_id"] = d.DEMO_CRM_LOADER_CREDENTIAL_ID
        store.save_job(job)
        store.create_sync(
            job.id,
            {
                "source": {"database_table": {"schema": "staging", "table": "crm_donations"}},
                "destination": {"database_table": {"schema": "exports", "table": "donations"}},
                "advanced_options": {"row_chunk_size": 25},
            },
        )
        calls = [0]

        def should_cancel() -> bool:
            calls[0] += 1
            return calls[0] > 3

        lines: list[str] = []
        outcome = perform(
            store, sandbox.hosts, job, store.create_run(job.id), lambda _, text: lines.append(text), should_cancel
        )
        assert outcome.state == "cancelled"
        assert "[1/1] Chunk 2: wrote rows 26-50" in lines  # rows had been written inside the transaction
        assert crm_rows(crm_url, "SELECT to_regclass('exports.donations')") == [(None,)]
    finally:
        sandbox.close()
