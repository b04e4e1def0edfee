"""`civis-mcp serve --http`: the same server over streamable HTTP, confirmation of destructive calls included."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client, types

from civis_mcp.sandbox.demo import DEMO_DBSYNC_IMPORT_ID, DEMO_PROJECT_ID


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CIVIS_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civis_mcp",
            "serve",
            "--sandbox",
            "--http",
            f"127.0.0.1:{port}",
            "--log-level",
            "WARNING",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the HTTP server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_destructive_call_is_confirmed_over_http(http_server: str, mode: str) -> None:
    questions: list[str] = []

    async def confirm(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    async with Client(http_server, mode=mode, elicitation_callback=confirm) as client:
        before = await client.call_tool("imports_list_projects", {"id": DEMO_DBSYNC_IMPORT_ID})
        assert before.structured_content is not None
        assert DEMO_PROJECT_ID in [project["id"] for project in before.structured_content["items"]]
        removed = await client.call_tool(
            "imports_delete_projects", {"id": DEMO_DBSYNC_IMPORT_ID, "project_id": DEMO_PROJECT_ID}
        )
        after = await client.call_tool("imports_list_projects", {"id": DEMO_DBSYNC_IMPORT_ID})

    assert not removed.is_error
    assert len(questions) == 1
    expected = f"civis-mcp asks you to confirm: remove import #{DEMO_DBSYNC_IMPORT_ID} from project #{DEMO_PROJECT_ID}."
    assert questions[0].startswith(expected)
    assert after.structured_content is not None
    assert DEMO_PROJECT_ID not in [project["id"] for project in after.structured_content["items"]]


async def test_a_client_without_elicitation_is_refused_over_http(http_server: str) -> None:
    async with Client(http_server) as client:
        refused = await client.call_tool(
            "imports_delete_projects", {"id": DEMO_DBSYNC_IMPORT_ID, "project_id": DEMO_PROJECT_ID}
        )
        after = await client.call_tool("imports_list_projects", {"id": DEMO_DBSYNC_IMPORT_ID})
    assert refused.is_error and "Nothing was changed" in refused.content[0].text
    assert after.structured_content is not None
    assert DEMO_PROJECT_ID in [project["id"] for project in after.structured_content["items"]]
