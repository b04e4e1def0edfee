"""The official civis-python client (2.10.1) against a running sandbox: every read method, and the main write flows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from civis.base import CivisAPIError

from civis_mcp.operations import OPERATIONS
from civis_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from tests.test_sandbox_support import civis_client, wait_for


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(run_step_seconds=0.05), wait_for_stop=False) as running:
        yield running


@pytest.fixture(scope="module")
def client(sandbox: RunningSandbox) -> Iterator[Any]:
    with civis_client(sandbox) as api:
        yield api


# One demo object (and one of its runs) per path family, so every GET method has something real to read.
def _read_args(path: str) -> dict[str, Any]:
    if path.startswith("/imports/files/csv/"):
        return {"id": d.DEMO_FAILED_CSV_IMPORT_ID, "run_id": d.DEMO_FAILED_CSV_RUN_ID}
    if path.startswith("/imports/files/"):
        return {"id": d.DEMO_FILE_IMPORT_ID, "run_id": 6010}
    if path.startswith("/imports/batches/"):
        return {"id": d.DEMO_BATCH_IMPORT_ID}
    return {"id": d.DEMO_DBSYNC_IMPORT_ID, "run_id": d.DEMO_FAILED_DBSYNC_RUN_ID}


READS = [op for op in OPERATIONS if op.verb == "GET"]


@pytest.mark.parametrize("op", READS, ids=[op.method for op in READS])
def test_every_read_method_answers(client: Any, op: Any) -> None:
    args = {name: value for name, value in _read_args(op.path).items() if name in op.path_params}
    result = getattr(client.imports, op.method)(**args)
    if op.returns_list:
        assert isinstance(result, list) and result, f"{op.method} returned no items"
        first = result[0].json()
    else:
        first = result.json()
    # civis-python turned the camelCase answer into snake_case; the fields our models know are there.
    assert set(op.response.model_fields) <= set(first), sorted(set(op.response.model_fields) - set(first))


def test_list_pages_through_with_the_iterator(client: Any) -> None:
    ids = [item.id for item in client.imports.list(iterator=True, limit=2)]
    assert sorted(ids) == [
        d.DEMO_DBSYNC_IMPORT_ID,
        d.DEMO_AUTO_IMPORT_ID,
        d.DEMO_GDOC_IMPORT_ID,
        d.DEMO_READ_ONLY_IMPORT_ID,
    ]
    assert client.last_response is not None


def test_failed_csv_run_error_and_logs_name_the_fix(client: Any) -> None:
    run = client.imports.get_files_csv_runs(d.DEMO_FAILED_CSV_IMPORT_ID, d.DEMO_FAILED_CSV_RUN_ID)
    assert run.state == "failed"
    assert 'column_delimiter="pipe"' in run.error
    logs = client.imports.list_files_csv_runs_logs(d.DEMO_FAILED_CSV_IMPORT_ID, d.DEMO_FAILED_CSV_RUN_ID)
    assert [log.level for log in logs][:2] == ["fatal", "error"]  # newest first without last_id


def test_csv_import_create_update_run_logs(client: Any, sandbox: RunningSandbox) -> None:
    imports = client.imports
    created = imports.post_files_csv(
        {"file_ids": [9003]},
        {"schema": "scratch", "table": "orders_cli", "remote_host_id": 3001, "credential_id": 4001},
        True,
        name="Orders via civis-python",
    )
    assert created.my_permission_level == "manage"
    assert created.column_delimiter == "comma"
    updated = imports.patch_files_csv(created.id, column_delimiter="pipe")
    assert updated.column_delimiter == "pipe"
    assert imports.get_files_csv(created.id).column_delimiter == "pipe"

    run = imports.post_files_csv_runs(created.id)
    assert run.state == "queued" and run.csv_import_id == created.id
    state = wait_for(lambda: imports.get_files_csv_runs(created.id, run.id).state)
    assert state == "succeeded"
    assert sandbox.warehouse_rows("scratch", "orders_cli") == 30
    logs = imports.list_files_csv_runs_logs(created.id, run.id, last_id=0)
    ids = [log.id for log in logs]
    assert ids == sorted(ids)  # with last_id: oldest first
    assert any("Loaded 30 rows" in log.message for log in logs)
    later = imports.list_files_csv_runs_logs(created.id, run.id, last_id=ids[2])
    assert [log.id for log in later] == ids[3:]
    inputs = imports.get_files_csv_runs_inputs(created.id, run.id)
    assert inputs.column_delimiter == "pipe"


def test_replace_csv_import_resets_omitted_settings(client: Any) -> None:
    imports = client.imports
    created = imports.post_files_csv(
        {"file_ids": [9001]},
        {"schema": "scratch", "table": "people_put", "remote_host_id": 3001, "credential_id": 4001},
        True,
        max_errors=5,
        compression="none",
    )
    replaced = imports.put_files_csv(
        created.id,
        {"file_ids": [9002]},
        {"schema": "scratch", "table": "people_put", "remote_host_id": 3001, "credential_id": 4001},
        True,
        compression="gzip",
    )
    assert replaced.source.file_ids == [9002]
    assert replaced.compression == "gzip"
    assert replaced.max_errors is None


def test_cancel_a_run_of_an_import_job(client: Any) -> None:
    imports = client.imports
    running = imports.list_runs(d.DEMO_GDOC_IMPORT_ID, limit=1)[0]
    assert running.id == d.DEMO_RUNNING_RUN_ID and running.state == "running"
    cancelled = imports.post_cancel(d.DEMO_GDOC_IMPORT_ID)
    assert cancelled.id == d.DEMO_RUNNING_RUN_ID
    assert cancelled.state == "cancelled" and cancelled.is_cancel_requested
    assert imports.get(d.DEMO_GDOC_IMPORT_ID).last_run.state == "cancelled"


def test_cancel_a_csv_run_with_delete(client: Any) -> None:
    imports = client.imports
    run = imports.post_files_csv_runs(d.DEMO_CSV_IMPORT_ID)
    imports.delete_files_csv_runs(d.DEMO_CSV_IMPORT_ID, run.id)
    after = imports.get_files_csv_runs(d.DEMO_CSV_IMPORT_ID, run.id)
    assert after.is_cancel_requested
    assert wait_for(lambda: imports.get_files_csv_runs(d.DEMO_CSV_IMPORT_ID, run.id).state) == "cancelled"


def test_share_with_a_user_and_revoke(client: Any) -> None:
    imports = client.imports
    shares = imports.put_shares_users(d.DEMO_CSV_IMPORT_ID, [d.DEMO_OUTSIDER_ID], "read")
    assert d.DEMO_OUTSIDER_ID in [user.id for user in shares.readers.users]
    imports.delete_shares_users(d.DEMO_CSV_IMPORT_ID, d.DEMO_OUTSIDER_ID)
    (index,) = imports.list_shares(d.DEMO_CSV_IMPORT_ID)
    assert d.DEMO_OUTSIDER_ID not in [user.id for user in index.readers.users]
    groups = imports.put_shares_groups(d.DEMO_CSV_IMPORT_ID, [d.DEMO_OTHER_GROUP_ID], "write")
    assert d.DEMO_OTHER_GROUP_ID in [group.id for group in groups.writers.groups]
    imports.delete_shares_groups(d.DEMO_CSV_IMPORT_ID, d.DEMO_OTHER_GROUP_ID)
    (index,) = imports.list_shares(d.DEMO_CSV_IMPORT_ID)
    assert index.writers.groups == [{"id": d.DEMO_GROUP_ID, "name": "Data Team"}]


def test_transfer_ownership(client: Any) -> None:
    imports = client.imports
    created = imports.post(
        "Transfer me",
        "Dbsync",
        False,
        source={"remote_host_id": 3002, "credential_id": 4002},
        destination={"remote_host_id": 3001, "credential_id": 4001},
    )
    assert created.user.id == d.DEMO_USER_ID
    result = imports.put_transfer(created.id, d.DEMO_TEAMMATE_ID, True)
    shared = {(dep.object_type, dep.id): dep.shared for dep in result.dependencies}
    assert shared[("Credential", d.DEMO_REDSHIFT_CREDENTIAL_ID)] is True  # the caller's own credential
    assert shared[("Credential", d.DEMO_POSTGRES_CREDENTIAL_ID)] is False  # only shared read with the caller
    after = imports.get(created.id)
    assert after.user.id == d.DEMO_TEAMMATE_ID
    assert after.my_permission_level == "manage"  # the previous owner keeps manage


def test_add_and_remove_a_project(client: Any) -> None:
    imports = client.imports
    assert [p.id for p in imports.list_projects(d.DEMO_GZIP_CSV_IMPORT_ID)] == []
    imports.put_projects(d.DEMO_GZIP_CSV_IMPORT_ID, d.DEMO_PROJECT_ID)
    assert [p.id for p in imports.list_projects(d.DEMO_GZIP_CSV_IMPORT_ID)] == [d.DEMO_PROJECT_ID]
    imports.delete_projects(d.DEMO_GZIP_CSV_IMPORT_ID, d.DEMO_PROJECT_ID)
    assert imports.list_projects(d.DEMO_GZIP_CSV_IMPORT_ID) == []


def test_import_job_with_syncs_runs(client: Any) -> None:
    imports = client.imports
    job = imports.post(
        "CRM copy",
        "Dbsync",
        False,
        source={"remote_host_id": 3002, "credential_id": 4002},
        destination={"remote_host_id": 3001, "credential_id": 4001},
    )
    sync = imports.post_syncs(job.id, {"path": "public.contacts"}, {"database_table": {"schema": "s", "table": "t"}})
    assert sync.source.database_table == {"schema": "public", "table": "contacts"}
    assert sync.source.path == "public.contacts" and sync.destination.path == "s.t"
    patched = imports.patch_syncs(job.id, sync.id, advanced_options={"row_chunk_size": 5000})
    assert patched.advanced_options.row_chunk_size == 5000
    run = imports.post_runs(job.id)
    assert wait_for(lambda: imports.get(job.id).last_run.state) == "succeeded"
    assert imports.list_runs(job.id)[0].id == run.run_id
    messages = [log.message for log in imports.list_runs_logs(job.id, run.run_id)]
    assert any(message.startswith("[1/1] Reading public.contacts") for message in messages)  # the CRM, for real
    imports.put_syncs_archive(job.id, sync.id, status=True)
    assert imports.get(job.id).syncs == []
    archived = imports.put_archive(job.id, True)
    assert archived.archived is True
    assert job.id not in [item.id for item in imports.list()]
    assert job.id in [item.id for item in imports.list(archived="true")]


def test_batch_import_runs_to_the_end(client: Any, sandbox: RunningSandbox) -> None:
    batch = client.imports.post_batches(
        [9001], "scratch", "people_batch2", 3001, 4001, first_row_is_header=True, compression="none"
    )
    assert batch.state == "queued"
    assert wait_for(lambda: client.imports.get_batches(batch.id).state) == "succeeded"
    assert sandbox.warehouse_rows("scratch", "people_batch2") == 50


def test_errors_reach_civis_python_with_their_description(client: Any) -> None:
    with pytest.raises(CivisAPIError) as missing:
        client.imports.get_files_csv(999_999)
    assert missing.value.status_code == 404
    assert "999999" in missing.value.error_message
    with pytest.raises(CivisAPIError) as forbidden:
        client.imports.patch(d.DEMO_READ_ONLY_IMPORT_ID, name="mine now")
    assert forbidden.value.status_code == 403
    assert "write permission" in forbidden.value.error_message


def test_rate_limit_headers_reach_civis_python(client: Any) -> None:
    started = time.monotonic()
    response = client.imports.get(d.DEMO_DBSYNC_IMPORT_ID)
    assert response.calls_remaining is not None and response.rate_limit == 10_000
    assert time.monotonic() - started < 5
