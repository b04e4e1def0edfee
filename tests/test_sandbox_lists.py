"""Lists: filters, ordering, paging (limit, page_num, X-Pagination-*), and requests in snake_case or camelCase."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from civis_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from tests.test_sandbox_support import http

VISIBLE = {d.DEMO_DBSYNC_IMPORT_ID, d.DEMO_AUTO_IMPORT_ID, d.DEMO_GDOC_IMPORT_ID, d.DEMO_READ_ONLY_IMPORT_ID}
# The demo's failing import jobs are hidden (listed by `civis-mcp demo --list` instead).
FAILING_JOBS = {f.import_id for f in d.DEMO_FAILURES if f.kind.split()[0] not in ("CSV", "Batch")} - VISIBLE


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(), wait_for_stop=False) as running:
        yield running


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with http(sandbox) as api:
        yield api


def ids(client: httpx.Client, path: str, **params: Any) -> list[int]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, VISIBLE),
        ({"type": "GdocImport"}, {d.DEMO_GDOC_IMPORT_ID}),
        ({"type": "Dbsync,AutoImport"}, {d.DEMO_DBSYNC_IMPORT_ID, d.DEMO_AUTO_IMPORT_ID, d.DEMO_READ_ONLY_IMPORT_ID}),
        ({"type": "Dbsync", "source": "3002"}, {d.DEMO_DBSYNC_IMPORT_ID, d.DEMO_READ_ONLY_IMPORT_ID}),
        ({"destination": "3001"}, VISIBLE),
        ({"destination": "3003"}, set()),
        ({"status": "running"}, {d.DEMO_GDOC_IMPORT_ID}),
        ({"status": "scheduled"}, {d.DEMO_DBSYNC_IMPORT_ID}),
        ({"author": str(d.DEMO_TEAMMATE_ID)}, {d.DEMO_AUTO_IMPORT_ID, d.DEMO_READ_ONLY_IMPORT_ID}),
        ({"archived": "true"}, {d.DEMO_ARCHIVED_IMPORT_ID}),
        ({"archived": "all"}, VISIBLE | {d.DEMO_ARCHIVED_IMPORT_ID}),
        ({"archived": ""}, VISIBLE),
        ({"hidden": "True"}, {d.DEMO_FILE_IMPORT_ID, *FAILING_JOBS}),
        ({"hidden": "False"}, VISIBLE),
    ],
)
def test_list_filters(client: httpx.Client, params: dict[str, str], expected: set[int]) -> None:
    assert set(ids(client, "imports", **params)) == expected


def test_source_filter_needs_type_dbsync(client: httpx.Client) -> None:
    response = client.get("imports", params={"source": "3002"})
    assert response.status_code == 400 and "Dbsync" in response.json()["errorDescription"]


@pytest.mark.parametrize(
    ("order", "order_dir", "expected"),
    [
        ("created_at", "asc", [104, 101, 102, 103]),
        ("created_at", None, [103, 102, 101, 104]),
        ("name", "asc", [103, 104, 101, 102]),
        ("last_run.updated_at", "desc", [103, 101, 102, 104]),
    ],
)
def test_list_order(client: httpx.Client, order: str, order_dir: str | None, expected: list[int]) -> None:
    params = {"order": order} | ({"order_dir": order_dir} if order_dir else {})
    assert ids(client, "imports", **params) == expected


def test_paging_headers_and_pages(client: httpx.Client) -> None:
    first = client.get("imports", params={"limit": 3, "order": "name", "order_dir": "asc"})
    assert [item["id"] for item in first.json()] == [103, 104, 101]
    assert first.headers["X-Pagination-Per-Page"] == "3"
    assert first.headers["X-Pagination-Current-Page"] == "1"
    assert first.headers["X-Pagination-Total-Pages"] == "2"
    assert first.headers["X-Pagination-Total-Entries"] == "4"
    second = client.get("imports", params={"limit": 3, "page_num": 2, "order": "name", "order_dir": "asc"})
    assert [item["id"] for item in second.json()] == [102]
    beyond = client.get("imports", params={"limit": 3, "page_num": 5})
    assert beyond.json() == [] and beyond.headers["X-Pagination-Current-Page"] == "5"
    default = client.get("imports")
    assert default.headers["X-Pagination-Per-Page"] == "20"


def test_run_lists_page_up_to_100(client: httpx.Client) -> None:
    path = f"imports/{d.DEMO_DBSYNC_IMPORT_ID}/runs"
    assert ids(client, path) == [6003, d.DEMO_FAILED_DBSYNC_RUN_ID, 6001]
    assert ids(client, path, order_dir="asc", limit=2) == [6001, d.DEMO_FAILED_DBSYNC_RUN_ID]
    assert ids(client, path, order_dir="asc", limit=2, page_num=2) == [6003]
    assert client.get(path, params={"limit": 100}).status_code == 200
    assert client.get(path, params={"limit": 101}).status_code == 400


def test_batches_list(client: httpx.Client) -> None:
    assert ids(client, "imports/batches") == [d.DEMO_BATCH_IMPORT_ID]
    assert ids(client, "imports/batches", hidden="True") == [d.DEMO_FAILED_BATCH_IMPORT_ID]
    assert client.get("imports/batches", params={"limit": 51}).status_code == 400


def test_camel_case_and_snake_case_bodies_mean_the_same(client: httpx.Client) -> None:
    path = f"imports/files/csv/{d.DEMO_GZIP_CSV_IMPORT_ID}"
    camel = client.patch(path, json={"maxErrors": 4, "destination": {"primaryKeys": ["id"]}})
    assert camel.status_code == 200, camel.text
    assert camel.json()["maxErrors"] == 4 and camel.json()["destination"]["primaryKeys"] == ["id"]
    snake = client.patch(path, json={"max_errors": 5, "destination": {"last_modified_keys": ["signup_date"]}})
    assert snake.json()["maxErrors"] == 5
    assert snake.json()["destination"]["primaryKeys"] == ["id"]  # a PATCH keeps what it does not name
    assert snake.json()["destination"]["lastModifiedKeys"] == ["signup_date"]


def test_column_override_keys_are_kept_as_sent(client: httpx.Client) -> None:
    options = {"columnOverrides": {"FirstName": {"name": "first_name", "type": "VARCHAR(64)"}}}
    created = client.post(
        f"imports/{d.DEMO_DBSYNC_IMPORT_ID}/syncs",
        json={
            "source": {"databaseTable": {"schema": "public", "table": "people"}},
            "destination": {"databaseTable": {"schema": "staging", "table": "people"}},
            "advancedOptions": options,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["advancedOptions"]["columnOverrides"] == options["columnOverrides"]


def test_next_run_at_follows_the_schedule_in_its_time_zone(client: httpx.Client) -> None:
    job = client.get(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}").json()
    assert job["schedule"]["scheduledDays"] == [1, 2, 3, 4, 5] and job["timeZone"] == "America/New_York"
    moment = datetime.strptime(job["nextRunAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (2, 30) and local.isoweekday() <= 5
    assert moment > datetime.now(UTC)
    assert client.get(f"imports/{d.DEMO_GDOC_IMPORT_ID}").json()["nextRunAt"] is None  # not scheduled
