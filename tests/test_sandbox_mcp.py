"""civis-mcp's own tools, in process, against a running sandbox over real loopback HTTP: diagnose and fix a failed
CSV import the way an assistant would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client
from pydantic import SecretStr

from civis_mcp.config import Settings
from civis_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from civis_mcp.server import build_server


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(run_step_seconds=0.05), wait_for_stop=False) as running:
        yield running


def mcp_client(sandbox: RunningSandbox) -> Client:
    """An in-process MCP client of civis-mcp configured for the sandbox (enter it inside the test's own task)."""
    return Client(build_server(Settings(api_key=SecretStr(sandbox.api_key), api_endpoint=sandbox.url)))


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert not result.is_error, f"{tool} failed: {text}"
    assert isinstance(result.structured_content, dict), text
    return result.structured_content


async def test_list_imports_pages_with_headers(sandbox: RunningSandbox) -> None:
    async with mcp_client(sandbox) as mcp:
        await _list_imports_pages_with_headers(mcp)


async def _list_imports_pages_with_headers(mcp: Client) -> None:
    first = await call(mcp, "imports_list", limit=3)
    assert len(first["items"]) == 3
    assert first["pagination"] == {"page": 1, "per_page": 3, "total_pages": 2, "total_entries": 4}
    second = await call(mcp, "imports_list", limit=3, page_num=2)
    assert len(second["items"]) == 1
    ids = {item["id"] for item in first["items"] + second["items"]}
    assert d.DEMO_PRIVATE_IMPORT_ID not in ids  # the outsider's import is not visible to the caller


async def test_fix_the_failed_csv_import(sandbox: RunningSandbox) -> None:
    async with mcp_client(sandbox) as mcp:
        await _fix_the_failed_csv_import(mcp, sandbox)


async def _fix_the_failed_csv_import(mcp: Client, sandbox: RunningSandbox) -> None:
    runs = await call(mcp, "imports_list_files_csv_runs", id=d.DEMO_FAILED_CSV_IMPORT_ID)
    failed = runs["items"][0]
    assert failed["state"] == "failed"
    logs = await call(mcp, "imports_list_files_csv_runs_logs", id=d.DEMO_FAILED_CSV_IMPORT_ID, run_id=failed["id"])
    messages = json.dumps([line["message"] for line in logs["items"]])
    assert "pipe-delimited" in messages and "column_delimiter" in messages
    assert sandbox.warehouse_rows("demo", "orders") is None  # the failed run left no table

    patched = await call(mcp, "imports_patch_files_csv", id=d.DEMO_FAILED_CSV_IMPORT_ID, column_delimiter="pipe")
    assert patched["column_delimiter"] == "pipe"
    run = await call(mcp, "imports_post_files_csv_runs", id=d.DEMO_FAILED_CSV_IMPORT_ID)
    assert run["state"] == "queued"

    deadline = time.monotonic() + 15
    state = run["state"]
    while state not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"run still {state}"
        await anyio.sleep(0.05)
        current = await call(mcp, "imports_get_files_csv_runs", id=d.DEMO_FAILED_CSV_IMPORT_ID, run_id=run["id"])
        state = current["state"]
    assert state == "succeeded"
    assert sandbox.warehouse_rows("demo", "orders") == 30
    assert sandbox.query_warehouse("SELECT status FROM demo__orders WHERE order_id = 1001") == [("shipped",)]


async def test_not_found_comes_back_as_a_tool_error(sandbox: RunningSandbox) -> None:
    async with mcp_client(sandbox) as mcp:
        result = await mcp.call_tool("imports_get_files_csv", {"id": 424242})
    assert result.is_error
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert "404" in text and "424242" in text
