"""What civis-mcp relies on in the MCP SDK for asking a human, pinned: an SDK upgrade that changes any of it fails here
first, in one place, rather than somewhere in the guard's tests.

A tiny server with one tool built on ``civis_mcp.sdk_seam`` runs in process under the SDK's own ``Client``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client, types
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import BaseModel

from civis_mcp.sdk_seam import (
    LazyTools,
    SeamServer,
    ask_in_call,
    asks_in_rounds,
    can_ask_human,
    can_list_roots,
    input_required,
    list_roots_in_call,
    make_tool,
    roots_of,
    roots_required,
    round_answers,
)


class Box(BaseModel):
    confirm: bool


def seam_server() -> MCPServer:
    server = MCPServer(name="seam-test")

    @server.tool()
    async def ask(note: str, ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
        facts: dict[str, Any] = {"can_ask": can_ask_human(ctx), "rounds": asks_in_rounds(ctx)}
        if not facts["can_ask"]:
            return _answer(facts)
        if not facts["rounds"]:
            reply = await ask_in_call(ctx, f"ok? {note}", Box)
            return _answer({**facts, "action": reply.action, "content": reply.content})
        sealed, answers = round_answers(ctx)
        if sealed is None:
            return input_required("q", f"ok? {note}", Box, json.dumps({"minted": note}))
        answer = answers.get("q")
        assert isinstance(answer, types.ElicitResult)
        return _answer({**facts, "state": json.loads(sealed), "action": answer.action, "content": answer.content})

    @server.tool()
    async def roots(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
        if not can_list_roots(ctx):
            return _answer({"roots": None})
        if not asks_in_rounds(ctx):
            return _answer({"roots": await list_roots_in_call(ctx)})
        _, answers = round_answers(ctx)
        found = roots_of(answers.get("r"))
        return _answer({"roots": found}) if found is not None else roots_required("r", "{}")

    return server


def _answer(data: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[types.TextContent(type="text", text=json.dumps(data))])


def _data(result: CallToolResult) -> dict[str, Any]:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    parsed: dict[str, Any] = json.loads(block.text)
    return parsed


async def say(answer: dict[str, Any]) -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert params.requested_schema["properties"]["confirm"]["type"] == "boolean"  # the form is a box to tick
        return types.ElicitResult(action="accept", content=answer)

    return callback


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_raw_answer_reaches_the_server_unvalidated(mode: str) -> None:
    """The guard judges the client's raw answer itself: the SDK must not coerce "true" into True on the way."""
    async with Client(seam_server(), mode=mode, elicitation_callback=await say({"confirm": "true"})) as client:
        got = _data(await client.call_tool("ask", {"note": "n"}))
    assert got["can_ask"] is True and got["rounds"] is (mode == "2026-07-28")
    assert got["action"] == "accept" and got["content"] == {"confirm": "true"}
    if mode == "2026-07-28":
        assert got["state"] == {"minted": "n"}  # what the server minted comes back to it, in plain text


async def test_a_client_without_elicitation_is_seen_as_one() -> None:
    async with Client(seam_server(), mode="2026-07-28") as client:
        assert _data(await client.call_tool("ask", {"note": "n"})) == {"can_ask": False, "rounds": True}


async def test_the_sdk_seals_the_round_state_and_binds_it_to_the_arguments() -> None:
    async with Client(seam_server(), mode="2026-07-28", elicitation_callback=await say({"confirm": True})) as client:
        asked = await client.session.call_tool("ask", {"note": "n"}, allow_input_required=True)
        assert isinstance(asked, InputRequiredResult) and asked.request_state is not None
        assert "minted" not in asked.request_state  # sealed: the client cannot read it...
        yes = {"q": types.ElicitResult(action="accept", content={"confirm": True})}
        forged = json.dumps({"minted": "n"})
        with pytest.raises(MCPError, match="requestState"):  # ...nor forge it
            await client.session.call_tool("ask", {"note": "n"}, input_responses=yes, request_state=forged)
        with pytest.raises(MCPError, match="requestState"):  # nor move it to other arguments
            await client.session.call_tool("ask", {"note": "m"}, input_responses=yes, request_state=asked.request_state)
        again = await client.session.call_tool(
            "ask", {"note": "n"}, input_responses=yes, request_state=asked.request_state
        )
    # The SDK lets the same sealed round be answered twice: single use is civis-mcp's job (confirmations.py).
    assert isinstance(again, CallToolResult) and _data(again)["state"] == {"minted": "n"}


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_roots_come_back_as_uris_in_both_protocols(mode: str, tmp_path: Any) -> None:
    root = types.Root(uri=tmp_path.as_uri(), name="work")  # type: ignore[arg-type]

    async def list_roots(context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[root])

    async with Client(seam_server(), mode=mode, list_roots_callback=list_roots) as client:
        got = _data(await client.call_tool("roots", {}))
    assert got == {"roots": [tmp_path.as_uri()]}


# --- the server's tool table, its listing, tools from our own schemas, prompts ------------------------------------


async def test_tools_list_comes_from_the_hook_and_tools_are_built_on_first_call() -> None:
    built: list[str] = []
    seen: list[Any] = []

    async def echo(arguments: dict[str, Any], ctx: Context[Any, Any]) -> CallToolResult:
        seen.append(arguments)
        return _answer({"got": arguments})

    def build(name: str) -> Any:
        built.append(name)
        return make_tool(
            echo,
            name=name,
            title="Echo",
            description="Echo its arguments.",
            annotations=types.ToolAnnotations(read_only_hint=True),
            input_schema={"type": "object", "properties": {"x": {"type": "integer"}}},
            output_schema={"type": "object"},
        )

    listed = types.Tool(name="echo", input_schema={"type": "object", "properties": {"x": {"type": "integer"}}})

    class Server(SeamServer[Any]):
        def listing_for(self, request_context: Any) -> list[types.Tool]:
            return [listed]

    server = Server(name="seam-tools")
    server.use_tools(LazyTools(["echo"], build))

    @server.prompt()
    def hello(who: str) -> str:
        return f"hello {who}"

    async with Client(server) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == ["echo"]
        assert built == []  # listing built nothing
        # Arguments reach the function untouched, even ones its schema does not name: civis-mcp validates them.
        got = _data(await client.call_tool("echo", {"x": "not a number", "extra": [1]}))
    assert built == ["echo"] and got == {"got": {"x": "not a number", "extra": [1]}}
    assert server.prompt_names() == ["hello"] and server.prompt_named("hello") is not None
    assert server.prompt_named("nope") is None
