"""End to end: the SDK's Client starts `civis-mcp serve` over stdio, against a fake Civis API on 127.0.0.1.

One session does what every part of the product shares over this transport (listing, reads, paging, a create, a
confirmed removal, errors, a refused typo, hostile arguments: a 10 MB line, a quoted number, deep nesting) and proves
the key never reaches results, errors or the server's log. What does not depend on the transport is tested in process
elsewhere; a missing key is tested here, in process, on the server ``serve`` builds.
"""

from __future__ import annotations

import base64
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from civis_mcp.cli import serve_settings
from civis_mcp.operations import OPERATIONS
from civis_mcp.server import build_server
from tests.fake_civis import FakeCivis, Recorded, Reply, running_fake_civis

KEY = "e2e-secret-key-4242"
BASIC = base64.b64encode(f"{KEY}:".encode()).decode()


@pytest.fixture
def fake() -> Iterator[FakeCivis]:
    with running_fake_civis() as server:
        yield server


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def test_one_session_lists_calls_confirms_and_never_leaks_the_key(fake: FakeCivis) -> None:
    def echo(request: Recorded) -> Reply:
        # A hostile or buggy upstream that echoes the credentials back in data and in errors.
        return Reply(200, {"id": 1, "name": f"{KEY} {request.headers['authorization']}"})

    fake.route("GET", "/imports/1", echo)
    fake.route("GET", "/imports/2", Reply(400, {"errorDescription": f"bad key {KEY} / {BASIC}"}))
    fake.route(
        "GET",
        "/imports/12",
        Reply(
            200,
            {
                "id": 12,
                "name": "Nightly",
                "syncType": "Dbsync",
                "lastRun": {"id": 5, "state": "failed", "error": "boom"},
            },
        ),
    )
    fake.route(
        "GET",
        "/imports",
        Reply(
            200,
            [{"id": 1, "name": "a", "syncType": "Dbsync"}, {"id": 2, "name": "b", "syncType": "AutoImport"}],
            {
                "X-Pagination-Current-Page": "2",
                "X-Pagination-Per-Page": "2",
                "X-Pagination-Total-Pages": "5",
                "X-Pagination-Total-Entries": "9",
            },
        ),
    )
    fake.route(
        "POST",
        "/imports/files/csv",
        Reply(201, {"id": 88, "name": "people", "firstRowIsHeader": True, "columnDelimiter": "pipe"}),
    )
    fake.route("DELETE", "/imports/12/projects/3", Reply(204))
    fake.route("GET", "/imports/12/projects", Reply(200, [{"id": 3, "name": "Q3 reporting"}]))
    questions: list[str] = []

    async def confirm(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    with tempfile.TemporaryFile("w+") as server_log:  # the server's stderr: its log, at DEBUG (every request)
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "civis_mcp", "serve", "--log-level", "DEBUG"],
            env={"CIVIS_API_KEY": KEY, "CIVIS_API_ENDPOINT": fake.url},
        )
        async with Client(stdio_client(params, errlog=server_log), elicitation_callback=confirm) as client:
            listed = await client.list_tools()
            names = {tool.name for tool in listed.tools}
            assert {op.tool_name for op in OPERATIONS} <= names
            assert len(names & {op.tool_name for op in OPERATIONS}) == 46

            got = await client.call_tool("imports_get", {"id": 12})
            assert not got.is_error
            assert got.structured_content is not None
            assert got.structured_content["sync_type"] == "Dbsync"
            assert got.structured_content["last_run"]["state"] == "failed"

            page = await client.call_tool("imports_list", {"limit": 2, "page_num": 2, "hidden": False})
            assert page.structured_content is not None
            assert [item["id"] for item in page.structured_content["items"]] == [1, 2]
            assert page.structured_content["pagination"] == {
                "page": 2,
                "per_page": 2,
                "total_pages": 5,
                "total_entries": 9,
            }

            created = await client.call_tool(
                "imports_post_files_csv",
                {
                    "source": {"file_ids": [5]},
                    "destination": {"schema": "s", "table": "t", "remote_host_id": 1, "credential_id": 2},
                    "first_row_is_header": True,
                    "column_delimiter": "pipe",
                },
            )
            assert created.structured_content is not None
            assert created.structured_content["column_delimiter"] == "pipe"

            removed = await client.call_tool("imports_delete_projects", {"id": 12, "project_id": 3})
            (question,) = questions
            assert question.startswith("civis-mcp asks you to confirm: remove import #12 from project #3.\n")
            assert '- name of project #3: "Q3 reporting"' in question
            assert not removed.is_error
            assert removed.structured_content is not None
            assert removed.structured_content["status_code"] == 204

            missing = await client.call_tool("imports_get_files_csv", {"id": 404})
            assert missing.is_error
            assert "HTTP 404" in text_of(missing) and "imports_get_files_csv" in text_of(missing)

            typo = await client.call_tool("imports_patch_files_csv", {"id": 1, "column_delimter": "tab"})
            assert typo.is_error
            assert "column_delimiter" in text_of(typo)

            # Hostile arguments through the pipe (a 10 MB line, a quoted number, deep nesting): refused, nothing sent.
            huge_name = await client.call_tool("imports_get", {"id": 7, "n" * 10_000_000: 1})
            quoted = await client.call_tool("imports_get", {"id": "7"})
            deep: dict[str, Any] = {}
            for _ in range(100):
                deep = {"nested": deep}
            too_deep = await client.call_tool("imports_post_syncs", {"id": 7, "source": deep})
            assert huge_name.is_error and len(text_of(huge_name)) < 500
            assert "10,000,000 characters" in text_of(huge_name)
            assert quoted.is_error and 'got "7"' in text_of(quoted)
            assert too_deep.is_error and "nests deeper than 16 levels" in text_of(too_deep)

            echoed = await client.call_tool("imports_get", {"id": 1})
            echoed_error = await client.call_tool("imports_get", {"id": 2})
        server_log.seek(0)
        log_text = server_log.read()

    by_route = {(r.method, r.path): r for r in fake.requests}
    assert ("PATCH", "/imports/files/csv/1") not in by_route  # the misspelt call sent nothing
    assert not any(r.path.startswith("/imports/7") for r in fake.requests)  # nor did the hostile ones
    listing = by_route[("GET", "/imports")]
    assert sorted(listing.query) == [("hidden", "False"), ("limit", "2"), ("page_num", "2")]
    assert by_route[("POST", "/imports/files/csv")].json == {
        "source": {"file_ids": [5]},
        "destination": {"schema": "s", "table": "t", "remote_host_id": 1, "credential_id": 2},
        "first_row_is_header": True,
        "column_delimiter": "pipe",
    }
    assert all(r.headers["authorization"] == f"Basic {BASIC}" for r in fake.requests)

    assert "GET /imports/2 -> 400" in log_text  # the log was really captured
    for text in (echoed.model_dump_json(), echoed_error.model_dump_json(), log_text):
        assert KEY not in text and BASIC not in text and BASIC.rstrip("=") not in text
    assert "[REDACTED]" in text_of(echoed) and "[REDACTED]" in text_of(echoed_error)


async def test_missing_key_is_a_clear_tool_error_not_a_crash(fake: FakeCivis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVIS_API_KEY", "")
    monkeypatch.setenv("CIVIS_API_ENDPOINT", fake.url)
    async with Client(build_server(serve_settings([]))) as client:
        listed = await client.list_tools()
        result = await client.call_tool("imports_get", {"id": 1})
    assert len([tool for tool in listed.tools if tool.name.startswith("imports_")]) >= 46
    assert result.is_error
    assert "CIVIS_API_KEY" in text_of(result)
    assert fake.requests == []
