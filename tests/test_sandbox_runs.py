"""Runs really run: queued -> running -> finished on a clock, CSV loads into the warehouse, cancellation at every
stage, logs with a cursor, file-import uploads, and request handling that a long run does not block."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from civis_mcp.api.wire import snake_keys
from civis_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from civis_mcp.sandbox.demo_files import DEMO_CORRECTED_TABLE_COLUMNS
from tests import loopback
from tests.test_sandbox_support import http, run_state, wait_for

BIG_ROWS = 50_000


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(run_step_seconds=0.05), wait_for_stop=False) as running:
        yield running


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with http(sandbox) as api:
        yield api


def data(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return snake_keys(response.json()) if response.content else None


def new_csv_import(client: httpx.Client, file_id: int, table: str, **settings: Any) -> int:
    body = {
        "source": {"file_ids": [file_id]},
        "destination": {"schema": "runs", "table": table, "remote_host_id": 3001, "credential_id": 4001},
        "first_row_is_header": True,
        **settings,
    }
    return int(data(client.post("imports/files/csv", json=body))["id"])


def upload_big_file(client: httpx.Client) -> int:
    """A file import with a large uploaded CSV; returns the Civis file ID of the upload."""
    made = data(
        client.post(
            "imports/files", json={"schema": "runs", "name": "big", "remote_host_id": 3001, "credential_id": 4001}
        )
    )
    rows = "".join(f"{n},name {n},{n % 97}\n" for n in range(BIG_ROWS))
    assert client.put(made["upload_uri"], content=("id,name,score\n" + rows).encode()).status_code == 200
    job = data(client.get(f"imports/{made['id']}"))
    return int(job["syncs"][0]["source"]["file"]["id"])


def test_demo_history_is_as_documented(client: httpx.Client, sandbox: RunningSandbox) -> None:
    expected = {
        d.DEMO_CSV_IMPORT_ID: ("succeeded", None),
        d.DEMO_FAILED_CSV_IMPORT_ID: ("failed", 'column_delimiter="pipe"'),
        d.DEMO_BAD_ROWS_CSV_IMPORT_ID: ("failed", "3 row(s) failed to load"),
        d.DEMO_HEADER_MISMATCH_CSV_IMPORT_ID: ("failed", "Header mismatch"),
        d.DEMO_GZIP_CSV_IMPORT_ID: ("succeeded", None),
    }
    for import_id, (state, error) in expected.items():
        (run,) = data(client.get(f"imports/files/csv/{import_id}/runs"))
        assert run["state"] == state, import_id
        assert (error is None and run["error"] is None) or (error and error in run["error"]), run["error"]
    states = [run["state"] for run in data(client.get(f"imports/{d.DEMO_GDOC_IMPORT_ID}/runs?order_dir=asc"))]
    assert states == ["succeeded", "cancelled", "running"]
    dbsync = [run["state"] for run in data(client.get(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}/runs"))]
    assert dbsync == ["succeeded", "failed", "succeeded"]
    assert sandbox.warehouse_rows("demo", "people") == 50
    assert sandbox.warehouse_rows("demo", "people_gz") == 50
    assert sandbox.warehouse_rows("demo", "orders") is None
    assert data(client.get(f"imports/batches/{d.DEMO_BATCH_IMPORT_ID}"))["state"] == "succeeded"


def test_demo_logs_read_like_civis_logs(client: httpx.Client) -> None:
    logs = data(client.get(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}/runs/{d.DEMO_FAILED_DBSYNC_RUN_ID}/logs"))
    assert logs[0]["level"] == "fatal" and logs[1]["level"] == "error"
    assert "timed out" in logs[1]["message"]
    stamps = [line["created_at"] for line in logs]
    assert stamps == sorted(stamps, reverse=True)
    assert all(stamp.endswith("Z") and "T" in stamp for stamp in stamps)


def test_a_run_moves_from_queued_to_running_to_succeeded() -> None:
    # On a clock the test moves, so each state is seen however busy the machine is.
    with running_sandbox(SandboxConfig(manual_clock=True), wait_for_stop=False) as sandbox, http(sandbox) as client:
        import_id = new_csv_import(client, 9001, "people_clock")
        run = data(client.post(f"imports/files/csv/{import_id}/runs"))
        assert run["state"] == "queued" and run["started_at"] is None
        path = f"imports/files/csv/{import_id}/runs/{run['id']}"
        sandbox.state.clock.advance_from_thread()
        running = data(client.get(path))
        assert running["state"] == "running" and running["started_at"] and running["finished_at"] is None
        assert sandbox.warehouse_rows("runs", "people_clock") is None
        sandbox.state.clock.advance_from_thread()
        done = data(client.get(path))
        assert done["state"] == "succeeded"
        assert done["created_at"] <= done["started_at"] <= done["finished_at"]
        assert sandbox.warehouse_rows("runs", "people_clock") == 50
        inputs = data(client.get(f"{path}/inputs"))
        assert inputs["destination"]["table"] == "people_clock"


def test_a_run_uses_the_settings_it_was_started_with(client: httpx.Client) -> None:
    import_id = new_csv_import(client, 9003, "orders_settings", column_delimiter="pipe")
    run = data(client.post(f"imports/files/csv/{import_id}/runs"))
    data(client.patch(f"imports/files/csv/{import_id}", json={"column_delimiter": "tab"}))
    path = f"imports/files/csv/{import_id}/runs/{run['id']}"
    assert wait_for(run_state(client, path)) == "succeeded"
    assert data(client.get(f"{path}/inputs"))["column_delimiter"] == "pipe"


@pytest.mark.parametrize(
    ("import_id", "fix", "table", "rows"),
    [
        (d.DEMO_FAILED_CSV_IMPORT_ID, {"column_delimiter": "pipe"}, "orders", 30),
        (d.DEMO_BAD_ROWS_CSV_IMPORT_ID, {"max_errors": 3}, "events", 22),
        (
            d.DEMO_HEADER_MISMATCH_CSV_IMPORT_ID,
            {"table_columns": DEMO_CORRECTED_TABLE_COLUMNS["customers_header_mismatch.csv"]},
            "customers",
            15,
        ),
    ],
)
def test_the_documented_fix_makes_each_failed_demo_import_succeed(
    client: httpx.Client, sandbox: RunningSandbox, import_id: int, fix: dict[str, Any], table: str, rows: int
) -> None:
    data(client.patch(f"imports/files/csv/{import_id}", json=fix))
    run = data(client.post(f"imports/files/csv/{import_id}/runs"))
    assert wait_for(run_state(client, f"imports/files/csv/{import_id}/runs/{run['id']}")) == "succeeded"
    assert sandbox.warehouse_rows("demo", table) == rows


def test_cancel_a_queued_run(client: httpx.Client) -> None:
    with running_sandbox(SandboxConfig(run_step_seconds=5)) as slow, http(slow) as api:
        run = data(api.post(f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}/runs"))
        path = f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}/runs/{run['id']}"
        assert api.delete(path).status_code == 202
        after = data(api.get(path))
        assert (after["state"], after["is_cancel_requested"]) == ("cancelled", True)
        assert after["started_at"] is None and after["finished_at"] is not None
        messages = [line["message"] for line in data(api.get(f"{path}/logs"))]
        assert messages == ["Run cancelled by Riley Analyst."]


def test_cancel_while_loading_leaves_no_table(client: httpx.Client, sandbox: RunningSandbox) -> None:
    file_id = upload_big_file(client)
    import_id = new_csv_import(client, file_id, "big_cancelled")
    run = data(client.post(f"imports/files/csv/{import_id}/runs"))
    path = f"imports/files/csv/{import_id}/runs/{run['id']}"

    def loading() -> str:
        messages = [line["message"] for line in data(client.get(f"{path}/logs?last_id=0"))]
        return "loading" if any(message.startswith("Starting CSV import") for message in messages) else "waiting"

    wait_for(loading, until={"loading"})
    assert client.delete(path).status_code == 202
    assert data(client.get(path))["is_cancel_requested"] is True
    assert wait_for(run_state(client, path)) == "cancelled"
    assert sandbox.warehouse_rows("runs", "big_cancelled") is None
    messages = [line["message"] for line in data(client.get(f"{path}/logs?last_id=0"))]
    assert "Cancel requested by Riley Analyst; stopping the load." in messages
    assert messages[-1] == "Run cancelled by user; no rows were loaded."  # the engine rolled the load back


def test_runs_do_not_block_requests(client: httpx.Client, sandbox: RunningSandbox) -> None:
    file_id = upload_big_file(client)
    import_id = new_csv_import(client, file_id, "big_loaded")
    run = data(client.post(f"imports/files/csv/{import_id}/runs"))
    path = f"imports/files/csv/{import_id}/runs/{run['id']}"
    wait_for(run_state(client, path), until={"running", "succeeded"})
    slowest = 0.0
    while data(client.get(path))["state"] == "running":
        started = time.monotonic()
        assert client.get("imports").status_code == 200
        slowest = max(slowest, time.monotonic() - started)
    assert slowest < 1.0
    assert data(client.get(path))["state"] == "succeeded"
    assert sandbox.warehouse_rows("runs", "big_loaded") == BIG_ROWS


def test_cancelling_a_finished_run_changes_nothing(client: httpx.Client) -> None:
    path = f"imports/files/csv/{d.DEMO_FAILED_CSV_IMPORT_ID}/runs/{d.DEMO_FAILED_CSV_RUN_ID}"
    before = data(client.get(path))
    assert client.delete(path).status_code == 202
    assert data(client.get(path)) == before
    finished = data(client.post(f"imports/{d.DEMO_AUTO_IMPORT_ID}/cancel"))
    assert (finished["state"], finished["is_cancel_requested"]) == ("succeeded", False)


def test_cancel_with_no_run_at_all_is_404(client: httpx.Client) -> None:
    job = data(client.post("imports", json={"name": "never run", "sync_type": "Dbsync", "is_outbound": False}))
    response = client.post(f"imports/{job['id']}/cancel")
    assert response.status_code == 404 and "never run" in response.json()["errorDescription"]


def test_logs_cursor_limit_and_headers(client: httpx.Client) -> None:
    path = f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}/runs/6012/logs"
    everything = client.get(path)
    lines = data(everything)
    ids = [line["id"] for line in lines]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 5  # newest first without a cursor
    assert everything.headers["civis-max-id"] == str(ids[0])
    assert everything.headers["civis-cache-control"] != "no-store"  # finished: no more lines will come
    newest_two = data(client.get(path, params={"limit": 2}))
    assert [line["id"] for line in newest_two] == ids[:2]
    oldest_first = data(client.get(path, params={"last_id": ids[-1], "limit": 3}))
    assert [line["id"] for line in oldest_first] == sorted(ids)[1:4]
    assert data(client.get(path, params={"last_id": ids[0]})) == []
    running = client.get(f"imports/{d.DEMO_GDOC_IMPORT_ID}/runs/{d.DEMO_RUNNING_RUN_ID}/logs")
    assert running.headers["civis-cache-control"] == "no-store"


def test_import_job_runs_its_syncs_for_real(client: httpx.Client, sandbox: RunningSandbox) -> None:
    run = data(client.post(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}/runs"))
    job_path = f"imports/{d.DEMO_DBSYNC_IMPORT_ID}"
    assert wait_for(lambda: data(client.get(job_path))["last_run"]["state"]) == "succeeded"
    messages = [line["message"] for line in data(client.get(f"{job_path}/runs/{run['run_id']}/logs?last_id=0"))]
    assert any("incremental sync on updated_at" in message for message in messages)
    assert messages[-1].startswith("Import finished: 2 sync(s)")
    assert sandbox.warehouse_rows("staging", "crm_donations") == sandbox.remote_rows(3002, "public", "donations") == 120


def test_autoimport_of_a_file_loads_it(client: httpx.Client, sandbox: RunningSandbox) -> None:
    # The teammate's AutoImport (write access) reloads demo file 9001 into demo.volunteers with truncate.
    before = sandbox.warehouse_rows("demo", "volunteers")
    run = data(client.post(f"imports/{d.DEMO_AUTO_IMPORT_ID}/runs"))
    path = f"imports/files/{d.DEMO_AUTO_IMPORT_ID}/runs/{run['run_id']}"
    assert wait_for(run_state(client, path)) == "succeeded"
    assert before == sandbox.warehouse_rows("demo", "volunteers") == 50


def test_file_import_upload_then_run(client: httpx.Client, sandbox: RunningSandbox) -> None:
    made = data(
        client.post(
            "imports/files",
            json={"schema": "runs", "name": "upload", "remote_host_id": 3001, "credential_id": 4001, "multipart": True},
        )
    )
    assert made["run_uri"] == f"{sandbox.url}imports/files/{made['id']}/runs"
    assert made["upload_fields"]["key"]
    early = data(client.post(f"imports/files/{made['id']}/runs"))
    assert wait_for(run_state(client, f"imports/files/{made['id']}/runs/{early['id']}")) == "failed"
    assert "not been uploaded" in data(client.get(f"imports/files/{made['id']}/runs/{early['id']}"))["error"]

    forged = made["upload_uri"].rsplit("/", 1)[0] + "/forged-token"
    assert loopback.put(forged, content=b"x").status_code == 403
    fields = made["upload_fields"]
    uploaded = loopback.post(made["upload_uri"], data=fields, files={"file": ("u.csv", b"city|people\nOslo|700000\n")})
    assert uploaded.status_code == 204
    run = data(client.post(made["run_uri"].removeprefix(sandbox.url)))
    assert wait_for(run_state(client, f"imports/files/{made['id']}/runs/{run['id']}")) == "succeeded"
    assert sandbox.query_warehouse("SELECT city, people FROM runs__upload") == [("Oslo", 700000)]
    inputs = data(client.get(f"imports/files/{made['id']}/runs/{run['id']}/inputs"))
    assert inputs["sync_type"] == "AutoImport" and inputs["destination"]["remote_host_id"] == 3001


def test_batch_of_a_missing_table_format_fails_with_an_error(client: httpx.Client) -> None:
    batch = data(
        client.post(
            "imports/batches",
            json={"file_ids": [9001], "schema": "runs", "table": "b", "remote_host_id": 3001, "credential_id": 4001},
        )
    )
    # Batch compression defaults to gzip, and people.csv is not gzipped: the run fails and says so.
    assert wait_for(lambda: data(client.get(f"imports/batches/{batch['id']}"))["state"]) == "failed"
    assert "gzip" in data(client.get(f"imports/batches/{batch['id']}"))["error"]
