"""Errors as Civis answers them: 401 (WWW-Authenticate), 404, 400 naming the field, 403, 422, 429 (Retry-After)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from civis_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from tests import loopback
from tests.test_sandbox_support import http


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(), wait_for_stop=False) as running:
        yield running


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with http(sandbox) as api:
        yield api


def assert_civis_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status and isinstance(body["error"], str)
    description = body["errorDescription"]
    assert isinstance(description, str) and description
    return str(description)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"wrong-key:").decode()},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": "Basic not-base64!!"},
    ],
    ids=["missing", "wrong-basic", "wrong-bearer", "garbled"],
)
def test_401_with_www_authenticate(sandbox: RunningSandbox, headers: dict[str, str]) -> None:
    response = loopback.get(f"{sandbox.url}imports/{d.DEMO_DBSYNC_IMPORT_ID}", headers=headers)
    assert_civis_error(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Civis API"'
    assert "X-RateLimit-Limit" in response.headers


def test_bearer_with_the_right_key_is_accepted(sandbox: RunningSandbox) -> None:
    response = loopback.get(f"{sandbox.url}imports/101", headers={"Authorization": f"Bearer {sandbox.api_key}"})
    assert response.status_code == 200


def test_health_needs_no_key(sandbox: RunningSandbox) -> None:
    response = loopback.get(f"{sandbox.url}health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("imports/999999", "Import job 999999"),
        ("imports/files/csv/999999", "CSV import 999999"),
        ("imports/batches/999999", "Batch import 999999"),
        (f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}/runs/1", "Run 1 of CSV import"),
        (f"imports/files/csv/{d.DEMO_DBSYNC_IMPORT_ID}", f"CSV import {d.DEMO_DBSYNC_IMPORT_ID}"),  # wrong kind
        ("no/such/route", "No API route"),
    ],
)
def test_404_names_what_is_missing(client: httpx.Client, path: str, named: str) -> None:
    assert named in assert_civis_error(client.get(path), 404)


def test_405_for_a_verb_the_path_does_not_take(client: httpx.Client) -> None:
    assert_civis_error(client.delete(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}"), 405)


@pytest.mark.parametrize(
    ("method", "path", "payload", "expected"),
    [
        ("PATCH", f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}", {"column_delimiter": "semicolon"}, "column_delimiter"),
        ("PATCH", f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}", {"columnDelimiter": "semicolon"}, "column_delimiter"),
        ("PATCH", f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}", {"bogus_setting": 1}, "bogus_setting"),
        ("POST", "imports/files/csv", {"source": {"file_ids": [9001]}}, "destination: is required"),
        ("POST", "imports/files/csv", {"source": {}, "destination": {}, "first_row_is_header": True}, "source"),
        (
            "PUT",
            f"imports/{d.DEMO_DBSYNC_IMPORT_ID}/shares/users",
            {"user_ids": [], "permission_level": "read"},
            "user_ids",
        ),
        (
            "PUT",
            f"imports/{d.DEMO_DBSYNC_IMPORT_ID}/shares/users",
            {"user_ids": [1002], "permission_level": "own"},
            "permission_level",
        ),
        ("GET", "imports?limit=51", None, "limit"),
        ("GET", f"imports/{d.DEMO_DBSYNC_IMPORT_ID}/runs?limit=101", None, "limit"),
        ("GET", "imports?hidden=perhaps", None, "hidden"),
        ("GET", "imports?order=size", None, "order"),
    ],
)
def test_400_names_the_field_and_the_problem(
    client: httpx.Client, method: str, path: str, payload: object, expected: str
) -> None:
    response = client.request(method, path, json=payload) if payload is not None else client.request(method, path)
    description = assert_civis_error(response, 400)
    assert expected in description


def test_400_for_a_body_that_is_not_json(client: httpx.Client) -> None:
    response = client.patch(
        f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in assert_civis_error(response, 400)


def test_bad_request_changes_nothing(client: httpx.Client) -> None:
    before = client.get(f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}").json()
    client.patch(f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}", json={"name": "x", "column_delimiter": "semicolon"})
    assert client.get(f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}").json() == before


@pytest.mark.parametrize(
    ("method", "path", "payload", "needed"),
    [
        ("PATCH", f"imports/{d.DEMO_READ_ONLY_IMPORT_ID}", {"name": "mine"}, "write"),
        ("POST", f"imports/{d.DEMO_READ_ONLY_IMPORT_ID}/runs", {}, "write"),
        ("POST", f"imports/{d.DEMO_READ_ONLY_IMPORT_ID}/cancel", {}, "write"),
        ("PUT", f"imports/{d.DEMO_READ_ONLY_IMPORT_ID}/archive", {"status": True}, "manage"),
        (
            "PUT",
            f"imports/{d.DEMO_AUTO_IMPORT_ID}/shares/users",
            {"user_ids": [1003], "permission_level": "read"},
            "manage",
        ),
        (
            "PUT",
            f"imports/{d.DEMO_AUTO_IMPORT_ID}/transfer",
            {"user_id": 1001, "include_dependencies": False},
            "manage",
        ),
        ("PATCH", f"imports/files/csv/{d.DEMO_READ_ONLY_CSV_IMPORT_ID}", {"max_errors": 3}, "write"),
        ("POST", f"imports/files/csv/{d.DEMO_READ_ONLY_CSV_IMPORT_ID}/runs", {}, "write"),
        ("GET", f"imports/{d.DEMO_PRIVATE_IMPORT_ID}", None, "read"),
        ("GET", f"imports/{d.DEMO_PRIVATE_IMPORT_ID}/shares", None, "read"),
    ],
)
def test_403_without_the_permission_level(
    client: httpx.Client, method: str, path: str, payload: object, needed: str
) -> None:
    response = client.request(method, path, json=payload) if payload is not None else client.request(method, path)
    description = assert_civis_error(response, 403)
    assert f"need {needed} permission" in description


def test_write_level_is_enough_to_edit_but_not_to_share(client: httpx.Client) -> None:
    # The caller holds write on the teammate's AutoImport: editing works, sharing does not (above).
    response = client.patch(f"imports/{d.DEMO_AUTO_IMPORT_ID}", json={"time_zone": "UTC"})
    assert response.status_code == 200
    assert response.json()["myPermissionLevel"] == "write" and response.json()["timeZone"] == "UTC"


def test_group_share_grants_access(sandbox: RunningSandbox) -> None:
    # The Finance group (teammate and outsider) holds manage on the ledger import; the outsider is in it.
    with running_sandbox(SandboxConfig(caller_id=d.DEMO_OUTSIDER_ID)) as outsider_view, http(outsider_view) as api:
        ledger = api.get(f"imports/{d.DEMO_READ_ONLY_IMPORT_ID}")
        assert ledger.status_code == 200 and ledger.json()["myPermissionLevel"] == "manage"
        assert api.get(f"imports/{d.DEMO_DBSYNC_IMPORT_ID}").status_code == 403
        listed = {item["id"] for item in api.get("imports").json()}
        assert listed == {d.DEMO_READ_ONLY_IMPORT_ID, d.DEMO_PRIVATE_IMPORT_ID}


@pytest.mark.parametrize(
    ("method", "path", "payload", "expected"),
    [
        (
            "POST",
            "imports/files/csv",
            {
                "source": {"file_ids": [123]},
                "destination": {"schema": "s", "table": "t", "remote_host_id": 3001, "credential_id": 4001},
                "first_row_is_header": True,
            },
            "file 123",
        ),
        (
            "PUT",
            f"imports/{d.DEMO_DBSYNC_IMPORT_ID}/shares/users",
            {"user_ids": [4242], "permission_level": "read"},
            "user 4242",
        ),
        (
            "PATCH",
            f"imports/{d.DEMO_DBSYNC_IMPORT_ID}",
            {"destination": {"credential_id": d.DEMO_OUTSIDER_CREDENTIAL_ID}},
            "credential 4007 is not shared with you",
        ),
        ("PATCH", f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}", {"existing_table_rows": "upsert"}, "primary_keys"),
    ],
)
def test_422_for_impossible_values(
    client: httpx.Client, method: str, path: str, payload: object, expected: str
) -> None:
    assert expected in assert_civis_error(client.request(method, path, json=payload), 422)


def test_429_with_retry_after_past_the_rate() -> None:
    with running_sandbox(SandboxConfig(rate_limit_per_minute=5)) as limited, http(limited) as api:
        answers = [api.get("imports/101") for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0"]
        assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"5"}
        refused = api.get("imports/101")
        assert_civis_error(refused, 429)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert loopback.get(f"{limited.url}health").status_code == 200  # health is never limited
