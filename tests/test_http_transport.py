"""`civis-mcp serve --http`: the same server over streamable HTTP, confirmation of destructive calls included."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp import Client, types

from civis_mcp.sandbox.demo import DEMO_DBSYNC_IMPORT_ID, DEMO_PROJECT_ID
from tests.hosted_support import free_port, serve


@contextmanager
def http_server() -> Iterator[str]:
    """``civis-mcp serve --sandbox --http`` on a free loopback port; yields its MCP URL."""
    port = free_port()
    args = ["--sandbox", "--http", f"127.0.0.1:{port}", "--log-level", "WARNING"]
    with serve(args, probe=f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}/mcp"


def project_ids(result: types.CallToolResult) -> list[int]:
    assert result.structured_content is not None, result.content
    return [project["id"] for project in result.structured_content["items"]]


async def test_destructive_calls_are_refused_without_a_human_and_confirmed_once_in_both_modes() -> None:
    """One server over HTTP: a client that cannot ask is refused; a removal confirmed with a mid-call question
    (``legacy``) and the re-adding confirmed by an ``InputRequiredResult`` round (``2026-07-28``) each act once."""
    questions: list[str] = []

    async def confirm(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    where = {"id": DEMO_DBSYNC_IMPORT_ID, "project_id": DEMO_PROJECT_ID}
    listed = {"id": DEMO_DBSYNC_IMPORT_ID}
    with http_server() as url:
        async with Client(url) as cannot_ask:
            refused = await cannot_ask.call_tool("imports_delete_projects", where)
            still = await cannot_ask.call_tool("imports_list_projects", listed)
        async with Client(url, mode="legacy", elicitation_callback=confirm) as legacy:
            removed = await legacy.call_tool("imports_delete_projects", where)
            gone = await legacy.call_tool("imports_list_projects", listed)
        async with Client(url, mode="2026-07-28", elicitation_callback=confirm) as current:
            added = await current.call_tool("imports_put_projects", where)
            back = await current.call_tool("imports_list_projects", listed)

    assert refused.is_error and "Nothing was changed" in refused.content[0].text
    assert DEMO_PROJECT_ID in project_ids(still)
    assert not removed.is_error and DEMO_PROJECT_ID not in project_ids(gone)
    assert not added.is_error and DEMO_PROJECT_ID in project_ids(back)
    assert len(questions) == 2
    expected = f"remove import #{DEMO_DBSYNC_IMPORT_ID} from project #{DEMO_PROJECT_ID}."
    assert questions[0].startswith(f"civis-mcp asks you to confirm: {expected}")
    assert f"add import #{DEMO_DBSYNC_IMPORT_ID} to project #{DEMO_PROJECT_ID}" in questions[1]
