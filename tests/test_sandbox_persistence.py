"""State in a file survives a restart: objects, runs, logs, shares and the warehouse; demo data is seeded only once;
runs a stopped server left unfinished are resumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from civis_mcp.api.wire import snake_keys
from civis_mcp.sandbox import SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from tests.test_sandbox_support import http, run_state, wait_for


def data(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return snake_keys(response.json()) if response.content else None


def test_state_survives_a_restart(tmp_path: Path) -> None:
    config = SandboxConfig(db_path=tmp_path / "state.sqlite", run_step_seconds=0.05)
    with running_sandbox(config) as first, http(first) as client:
        created = data(
            client.post(
                "imports/files/csv",
                json={
                    "name": "Kept across restarts",
                    "source": {"file_ids": [9001]},
                    "destination": {"schema": "kept", "table": "people", "remote_host_id": 3001, "credential_id": 4001},
                    "first_row_is_header": True,
                },
            )
        )
        run = data(client.post(f"imports/files/csv/{created['id']}/runs"))
        assert wait_for(run_state(client, f"imports/files/csv/{created['id']}/runs/{run['id']}")) == "succeeded"
        data(client.patch(f"imports/files/csv/{d.DEMO_FAILED_CSV_IMPORT_ID}", json={"column_delimiter": "pipe"}))
        data(client.put(f"imports/{created['id']}/shares/users", json={"user_ids": [1003], "permission_level": "read"}))
        logs_before = data(client.get(f"imports/files/csv/{created['id']}/runs/{run['id']}/logs"))
    assert (tmp_path / "state.sqlite").exists()
    assert (tmp_path / "state-warehouse.sqlite").exists()

    with running_sandbox(config) as second, http(second) as client:
        assert not second.state.seeded  # the existing database is reused, not re-seeded
        kept = data(client.get(f"imports/files/csv/{created['id']}"))
        assert kept["name"] == "Kept across restarts"
        assert data(client.get(f"imports/files/csv/{d.DEMO_FAILED_CSV_IMPORT_ID}"))["column_delimiter"] == "pipe"
        (runs,) = [data(client.get(f"imports/files/csv/{created['id']}/runs"))]
        assert [(r["id"], r["state"]) for r in runs] == [(run["id"], "succeeded")]
        assert data(client.get(f"imports/files/csv/{created['id']}/runs/{run['id']}/logs")) == logs_before
        (shares,) = data(client.get(f"imports/{created['id']}/shares"))
        assert [user["id"] for user in shares["readers"]["users"]] == [1003]
        assert second.warehouse_rows("kept", "people") == 50
        # One copy of every demo object, and new IDs continue after the old ones.
        assert len(second.state.store.list_jobs("csv_import")) == 7
        again = data(client.post("imports", json={"name": "next", "sync_type": "Dbsync", "is_outbound": False}))
        assert again["id"] > created["id"]


def test_unfinished_runs_resume_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with running_sandbox(SandboxConfig(db_path=path, run_step_seconds=30)) as slow, http(slow) as client:
        run = data(client.post(f"imports/files/csv/{d.DEMO_GZIP_CSV_IMPORT_ID}/runs"))
        assert data(client.get(f"imports/files/csv/{d.DEMO_GZIP_CSV_IMPORT_ID}/runs/{run['id']}"))["state"] == "queued"
    with running_sandbox(SandboxConfig(db_path=path, run_step_seconds=0.05)) as fast, http(fast) as client:
        state = wait_for(run_state(client, f"imports/files/csv/{d.DEMO_GZIP_CSV_IMPORT_ID}/runs/{run['id']}"))
        assert state == "succeeded"
        # The seeded demo run stays running: it is not driven by the clock.
        running = data(client.get(f"imports/{d.DEMO_GDOC_IMPORT_ID}/runs?limit=1"))[0]
        assert (running["id"], running["state"]) == (d.DEMO_RUNNING_RUN_ID, "running")


def test_memory_state_is_fresh_every_start() -> None:
    with running_sandbox() as first, http(first) as client:
        data(client.patch(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}", json={"name": "Renamed"}))
    with running_sandbox() as second, http(second) as client:
        assert data(client.get(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}"))["name"] == "Nightly CRM sync"
        assert second.state.seeded


def test_in_memory_sandboxes_running_together_share_nothing() -> None:
    """Each starts as a copy of the same seeded demo state: what one changes (its objects, its warehouse, its CRM)
    the other never sees, nor does a sandbox started after them."""
    with running_sandbox() as first, running_sandbox() as second, http(first) as one:
        data(one.patch(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}", json={"name": "Renamed"}))
        first.state.warehouse.query("CREATE TABLE scratch__only_first (x INTEGER)")
        crm = first.state.hosts.database(d.DEMO_POSTGRES_HOST_ID)
        assert crm is not None
        crm.query("DELETE FROM public__contacts")
        with http(second) as two:
            assert data(two.get(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}"))["name"] == "Nightly CRM sync"
        assert second.warehouse_rows("scratch", "only_first") is None
        assert (second.remote_rows(d.DEMO_POSTGRES_HOST_ID, "public", "contacts") or 0) > 0
        assert first.remote_rows(d.DEMO_POSTGRES_HOST_ID, "public", "contacts") == 0
    with running_sandbox() as third:
        assert third.warehouse_rows("scratch", "only_first") is None
        assert (third.remote_rows(d.DEMO_POSTGRES_HOST_ID, "public", "contacts") or 0) > 0


def test_an_empty_sandbox_has_people_but_no_jobs() -> None:
    with running_sandbox(SandboxConfig(seed_demo_data=False)) as empty, http(empty) as client:
        assert data(client.get("imports")) == []
        made = data(
            client.post(
                "imports/files/csv",
                json={
                    "source": {"file_ids": [9001]},
                    "destination": {"schema": "s", "table": "t", "remote_host_id": 3001, "credential_id": 4001},
                    "first_row_is_header": True,
                },
            )
        )
        assert made["my_permission_level"] == "manage"
