"""Every one of the 46 operations answered by the sandbox: the spec's status code, camelCase keys, exactly the spec's
(non-deprecated) properties at every depth with the spec's types and enums, and a body our response model accepts.

The calls run once, in a fixed order, against one sandbox (``answers``); each operation's checks are their own test,
so ``pytest -k post_files_csv`` shows one. Routes and handlers are checked to come from OPERATIONS, one each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from civis_mcp.api.wire import build_path, encode_query, snake_keys
from civis_mcp.jobs import BEYOND_IMPORTS
from civis_mcp.operations import OPERATIONS, Operation
from civis_mcp.sandbox import RunningSandbox, SandboxConfig, create_app, running_sandbox
from civis_mcp.sandbox import demo as d
from civis_mcp.sandbox.app import route_path
from civis_mcp.sandbox.handlers import resolve as resolve_handler
from tests.test_sandbox_support import http, run_state, wait_for

SPEC = json.loads((Path(__file__).parent / "reference" / "civis_imports_swagger.json").read_text(encoding="utf-8"))
DEPRECATED = re.compile(r"deprecated|no longer available", re.IGNORECASE)
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
OPAQUE = {"columnOverrides", "uploadFields"}  # their keys are data (column names, form fields)
BY_METHOD = {op.method: op for op in OPERATIONS}

DB = {"remote_host_id": d.DEMO_REDSHIFT_HOST_ID, "credential_id": d.DEMO_REDSHIFT_CREDENTIAL_ID}
CRM = {"remote_host_id": d.DEMO_POSTGRES_HOST_ID, "credential_id": d.DEMO_POSTGRES_CREDENTIAL_ID}


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["definitions"][schema["$ref"].removeprefix("#/definitions/")]
    return schema


def check_against_spec(schema: dict[str, Any], value: Any, where: str) -> None:
    """``value`` has exactly the non-deprecated properties of ``schema`` at every depth, with the spec's types."""
    schema = resolve(schema)
    if value is None:
        return  # Civis sends null for anything unknown
    kind = schema.get("type")
    if kind == "array":
        assert isinstance(value, list), f"{where}: expected an array, got {value!r}"
        for index, item in enumerate(value):
            check_against_spec(schema["items"], item, f"{where}[{index}]")
        return
    if "properties" in schema:
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        expected = {
            name for name, prop in schema["properties"].items() if not DEPRECATED.search(prop.get("description") or "")
        }
        assert set(value) == expected, f"{where}: extra {set(value) - expected}, missing {expected - set(value)}"
        for name, item in value.items():
            assert CAMEL.match(name), f"{where}.{name} is not camelCase"
            if name not in OPAQUE:
                check_against_spec(schema["properties"][name], item, f"{where}.{name}")
        return
    if kind == "object":
        assert isinstance(value, dict), f"{where}: expected an object"
        return
    python: dict[str, type | tuple[type, ...]] = {
        "integer": int,
        "string": str,
        "boolean": bool,
        "number": (int, float),
    }
    python_type = python.get(str(kind))
    if python_type is not None:
        assert isinstance(value, python_type) and not (kind != "boolean" and isinstance(value, bool)), (
            f"{where}: expected {kind}, got {value!r}"
        )
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} is not one of {schema['enum']}"


Call = tuple[dict[str, Any], dict[str, Any] | None]  # (path values, query or body)


def call(
    client: httpx.Client, op: Operation, path: dict[str, Any], arguments: dict[str, Any] | None = None
) -> httpx.Response:
    """Send ``op`` the way civis-python and civis-mcp do (snake_case body, True/False, key[] lists)."""
    url = build_path(op.path, path)
    if op.sends_body:
        return client.request(op.verb, url, json=arguments or {})
    return client.request(op.verb, url, params=encode_query(arguments or {}))


@pytest.fixture(scope="module")
def answers() -> Iterator[dict[str, httpx.Response]]:
    with running_sandbox(SandboxConfig(run_step_seconds=0.05)) as sandbox, http(sandbox) as client:
        yield _all_answers(sandbox, client)


def _all_answers(sandbox: RunningSandbox, client: httpx.Client) -> dict[str, httpx.Response]:
    got: dict[str, httpx.Response] = {}

    def send(method: str, path: dict[str, Any], arguments: dict[str, Any] | None = None) -> Any:
        response = call(client, BY_METHOD[method], path, arguments)
        got[method] = response
        return snake_keys(response.json()) if response.content else None

    csv_body = {
        "source": {"file_ids": [9001]},
        "destination": {"schema": "contract", "table": "people", **DB},
        "first_row_is_header": True,
        "table_columns": [
            {"name": "id", "sql_type": "INTEGER"},
            {"name": "name"},
            {"name": "email"},
            {"name": "signup_date", "sql_type": "DATE"},
            {"name": "age"},
        ],
    }
    job_body = {"name": "Contract job", "sync_type": "Dbsync", "is_outbound": False, "source": CRM, "destination": DB}
    sync_body = {
        "source": {"database_table": {"schema": "public", "table": "t"}},
        "destination": {"path": "staging.t"},
        "advanced_options": {"max_errors": 2},
    }

    # Import jobs and syncs.
    send("list", {}, {"limit": 2, "order": "name", "order_dir": "asc"})
    send("get", {"id": d.DEMO_DBSYNC_IMPORT_ID})
    job = send("post", {}, job_body)
    send(
        "put",
        {"id": job["id"]},
        {
            **job_body,
            "name": "Contract job v2",
            "schedule": {"scheduled": True, "scheduled_days": [1], "scheduled_hours": [3], "scheduled_minutes": [15]},
        },
    )
    send("patch", {"id": job["id"]}, {"notifications": {"failure_email_addresses": ["x@example.org"]}})
    sync = send("post_syncs", {"id": job["id"]}, sync_body)
    send("put_syncs", {"id": job["id"], "sync_id": sync["id"]}, sync_body)
    send("patch_syncs", {"id": job["id"], "sync_id": sync["id"]}, {"destination": {"database_table": {"table": "u"}}})
    run = send("post_runs", {"id": job["id"]})
    wait_for(lambda: str(snake_keys(client.get(f"imports/{job['id']}").json())["state"]))
    send("list_runs", {"id": job["id"]}, {"limit": 5})
    send("list_runs_logs", {"id": job["id"], "run_id": run["run_id"]}, {"limit": 3})
    send("post_cancel", {"id": d.DEMO_GDOC_IMPORT_ID})
    send("post_clone", {"id": job["id"]}, {"clone_schedule": True, "clone_notifications": False})
    send("put_syncs_archive", {"id": job["id"], "sync_id": sync["id"]}, {"status": True})
    send("put_archive", {"id": job["id"]}, {"status": True})

    # File imports.
    upload = send("post_files", {}, {"schema": "contract", "name": "uploaded", **DB, "multipart": True})
    client.put(upload["upload_uri"], content=b"a,b\n1,2\n3,4\n")
    file_run = send("post_files_runs", {"id": upload["id"]})
    wait_for(run_state(client, f"imports/files/{upload['id']}/runs/{file_run['id']}"))
    send("list_files_runs", {"id": upload["id"]})
    send("get_files_runs", {"id": upload["id"], "run_id": file_run["id"]})
    send("list_files_runs_logs", {"id": upload["id"], "run_id": file_run["id"]}, {"last_id": 0})
    send("get_files_runs_inputs", {"id": upload["id"], "run_id": file_run["id"]})
    send("delete_files_runs", {"id": upload["id"], "run_id": file_run["id"]})

    # CSV imports.
    csv = send("post_files_csv", {}, csv_body)
    send("get_files_csv", {"id": csv["id"]})
    send("put_files_csv", {"id": csv["id"]}, {**csv_body, "existing_table_rows": "drop"})
    send("patch_files_csv", {"id": csv["id"]}, {"max_errors": 1, "destination": {"primary_keys": ["id"]}})
    csv_run = send("post_files_csv_runs", {"id": csv["id"]})
    wait_for(run_state(client, f"imports/files/csv/{csv['id']}/runs/{csv_run['id']}"))
    send("list_files_csv_runs", {"id": csv["id"]}, {"order": "id", "order_dir": "asc"})
    send("get_files_csv_runs", {"id": csv["id"], "run_id": csv_run["id"]})
    send("list_files_csv_runs_logs", {"id": csv["id"], "run_id": csv_run["id"]})
    send("get_files_csv_runs_inputs", {"id": csv["id"], "run_id": csv_run["id"]})
    send("delete_files_csv_runs", {"id": csv["id"], "run_id": csv_run["id"]})
    send("put_files_csv_archive", {"id": csv["id"]}, {"status": False})

    # Batch imports.
    send(
        "post_batches",
        {},
        {"file_ids": [9002], "schema": "contract", "table": "batch", **DB, "first_row_is_header": True},
    )
    send("list_batches", {}, {"order": "created_at"})
    send("get_batches", {"id": d.DEMO_BATCH_IMPORT_ID})

    # Sharing, dependencies, transfer, projects.
    send("list_shares", {"id": d.DEMO_DBSYNC_IMPORT_ID})
    send("put_shares_users", {"id": csv["id"]}, {"user_ids": [d.DEMO_TEAMMATE_ID], "permission_level": "write"})
    send("delete_shares_users", {"id": csv["id"], "user_id": d.DEMO_TEAMMATE_ID})
    send("put_shares_groups", {"id": csv["id"]}, {"group_ids": [d.DEMO_GROUP_ID], "permission_level": "read"})
    send("delete_shares_groups", {"id": csv["id"], "group_id": d.DEMO_GROUP_ID})
    send("list_dependencies", {"id": d.DEMO_DBSYNC_IMPORT_ID}, {"user_id": d.DEMO_TEAMMATE_ID})
    send("put_projects", {"id": csv["id"], "project_id": d.DEMO_PROJECT_ID})
    send("list_projects", {"id": csv["id"]}, {"hidden": False})
    send("delete_projects", {"id": csv["id"], "project_id": d.DEMO_PROJECT_ID})
    send("put_transfer", {"id": csv["id"]}, {"user_id": d.DEMO_TEAMMATE_ID, "include_dependencies": True})
    return got


def test_every_operation_has_exactly_one_handler_and_route() -> None:
    served = (*OPERATIONS, *BEYOND_IMPORTS)
    handlers = {resolve_handler(op.sandbox) for op in served}  # each entry names a function that exists...
    assert len(handlers) == len(served)  # ...and no two entries share one
    app = create_app(SandboxConfig())
    app.state.sandbox.close()  # only the routing table is needed
    routes = {
        (method, getattr(route, "path", ""))
        for route in app.routes
        for method in (getattr(route, "methods", None) or [])
    }
    for op in served:
        assert (op.verb, route_path(op)) in routes, op.method
    assert len({(op.verb, route_path(op)) for op in served}) == len(served)


by_operation = pytest.mark.parametrize("op", OPERATIONS, ids=[op.method for op in OPERATIONS])


@by_operation
def test_status_code_is_the_specs(answers: dict[str, httpx.Response], op: Operation) -> None:
    response = answers[op.method]
    spec = SPEC["paths"][op.path][op.verb.lower()]
    (expected,) = [code for code in spec["responses"] if code.startswith("2")]
    assert response.status_code == int(expected), response.text


@by_operation
def test_body_matches_the_spec_and_our_model(answers: dict[str, httpx.Response], op: Operation) -> None:
    response = answers[op.method]
    spec_response = next(
        r for code, r in SPEC["paths"][op.path][op.verb.lower()]["responses"].items() if code.startswith("2")
    )
    if op.response is None:
        assert response.content == b""
        assert "schema" not in spec_response
        return
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    check_against_spec(spec_response["schema"], body, op.method)
    items = body if op.returns_list else [body]
    assert isinstance(items, list) and items, f"{op.method}: nothing to check"
    for item in items:
        op.response.model_validate(snake_keys(item))


@by_operation
def test_rate_limit_headers_on_every_answer(answers: dict[str, httpx.Response], op: Operation) -> None:
    headers = answers[op.method].headers
    assert int(headers["X-RateLimit-Limit"]) == 10_000
    assert 0 <= int(headers["X-RateLimit-Remaining"]) < 10_000


@by_operation
def test_pagination_headers_exactly_on_paged_lists(answers: dict[str, httpx.Response], op: Operation) -> None:
    headers = answers[op.method].headers
    names = (
        "X-Pagination-Per-Page",
        "X-Pagination-Current-Page",
        "X-Pagination-Total-Pages",
        "X-Pagination-Total-Entries",
    )
    if op.paginated:
        values = [int(headers[name]) for name in names]
        assert values[0] >= 1 and values[1] == 1 and values[3] >= len(answers[op.method].json())
    else:
        assert not any(name in headers for name in names)


def test_list_answers_are_the_requested_page(answers: dict[str, httpx.Response]) -> None:
    listed = answers["list"]
    assert [item["name"] for item in listed.json()] == ["Event sign-ups sheet", "Finance ledger sync"]  # order=name asc
    assert listed.headers["X-Pagination-Per-Page"] == "2"
