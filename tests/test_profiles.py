"""Profiles and the compact gateway, at the boundary a client uses (the SDK ``Client``, in process and over HTTP).

What the groups below prove:

* Parity, per operation: the same arguments through the typed tool (full profile) and through ``imports_call``
  (compact profile) send the same upstream request and give the same result, text and structured content alike
  (every contract case of ``tests/contract_cases.py``); bad arguments get the same error.
* Parity of confirmation, per destructive operation, in both protocol modes: the same question, the same single
  write after a yes, nothing after a no; and the same audit lines.
* A confirmation round asked through one route is never taken by the other: a 2026-07-28 round minted by
  ``imports_call`` and sent to the typed tool (and the other way round) writes nothing.
* The gateway reaches exactly the operations the operator's bounds allow (read-only, --tools); describe gives each
  operation's exact typed input schema; the compact profile refuses typed tools and names the way through.
* Narrowing: a request may narrow the operator's profile, never widen it (``profiles.narrow``; over HTTP by path).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from mcp import Client, types
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from pydantic import SecretStr

from civis_mcp.catalog import load_catalog
from civis_mcp.cli import serve_settings
from civis_mcp.config import Settings
from civis_mcp.gateway import CALL
from civis_mcp.operations import OPERATIONS, Safety
from civis_mcp.profiles import Profile, narrow
from civis_mcp.server import build_server
from tests.conftest import Command
from tests.contract_cases import CASES as CONTRACT_CASES
from tests.contract_cases import LIVE_STATE, ContractCase
from tests.fake_civis import FakeCivis, running_fake_civis
from tests.guard_fixtures import CASES as GUARD_CASES
from tests.guard_fixtures import IMPORT_ID, CivisWorld
from tests.hosted_support import free_port, serve
from tests.test_contract import BASE_URL, answer
from tests.test_contract import settings as contract_settings
from tests.test_guard import KEY, Asker, text_of, writes

MODES = ("legacy", "2026-07-28")
GATEWAY_TOOLS = {"imports_find_operation", "imports_describe_operation", CALL}
READ_OPERATIONS = {op.tool_name for op in OPERATIONS if op.safety_class is Safety.READ}


def _compact(settings: Settings) -> Settings:
    return narrow(settings, "compact")


async def _through_both(
    typed: MCPServer, compact: MCPServer, tool: str, arguments: dict[str, Any], **options: Any
) -> tuple[types.CallToolResult, types.CallToolResult]:
    async with Client(typed, **options) as client:
        direct = await client.call_tool(tool, copy.deepcopy(arguments))
    async with Client(compact, **options) as client:
        routed = await client.call_tool(CALL, {"operation": tool, "arguments": copy.deepcopy(arguments)})
    return direct, routed


def _unfenced(result: types.CallToolResult) -> str:
    """The text of a result with the fence's random tag made constant (each answer gets a fresh one)."""
    return re.sub(r"untrusted-[0-9a-f]+", "untrusted-TAG", text_of(result))


def _wire(request: httpx.Request) -> tuple[str, str, list[tuple[str, str]], Any]:
    return request.method, request.url.path, sorted(request.url.params.multi_items()), json.loads(request.content)


# --- parity of requests and results, per operation -------------------------------------------------------------------

_TYPED = build_server(contract_settings(BASE_URL))
_COMPACT = build_server(_compact(contract_settings(BASE_URL)))


@pytest.mark.parametrize("case", CONTRACT_CASES, ids=[case.tool for case in CONTRACT_CASES])
async def test_imports_call_sends_the_same_request_and_gives_the_same_result(case: ContractCase) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_mocked=True, assert_all_called=False) as router:
        for path, state in LIVE_STATE.items():
            router.route(method="GET", path=path).mock(return_value=answer(200, state))
        router.route(method=case.method, path=case.path).mock(
            return_value=answer(case.response_status, case.response, case.response_headers)
        )
        async with Client(_TYPED) as client:
            direct = await client.call_tool(case.tool, copy.deepcopy(case.arguments))
        typed_requests = [_wire(call.request) for call in router.calls]
        async with Client(_COMPACT) as client:
            routed = await client.call_tool(CALL, {"operation": case.tool, "arguments": copy.deepcopy(case.arguments)})
        gateway_requests = [_wire(call.request) for call in router.calls][len(typed_requests) :]

    assert not direct.is_error, text_of(direct)
    assert typed_requests and gateway_requests == typed_requests
    assert routed.is_error is False
    assert routed.structured_content == direct.structured_content
    assert _unfenced(routed) == _unfenced(direct)


def test_every_operation_has_a_parity_case() -> None:
    assert {case.tool for case in CONTRACT_CASES} == {op.tool_name for op in OPERATIONS}


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("imports_get", {"id": "12"}),
        ("imports_list", {"limt": 5}),
        ("imports_post_files_csv", {"source": {"file_ids": [1]}, "destination": {"schema": "s"}}),
        ("imports_put_archive", {"id": 12}),
    ],
)
async def test_bad_arguments_get_the_same_error_and_send_nothing(tool: str, arguments: dict[str, Any]) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_mocked=True) as router:
        direct, routed = await _through_both(_TYPED, _COMPACT, tool, arguments)
        assert router.calls.call_count == 0
    assert direct.is_error and routed.is_error
    assert _unfenced(routed) == _unfenced(direct)
    assert tool in text_of(direct)


# --- parity of confirmation, per destructive operation ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeCivis]:
    with running_fake_civis() as server:
        yield server


@pytest.fixture
def world(fake: FakeCivis) -> CivisWorld:
    state = CivisWorld()
    state.install(fake)
    fake.clear()
    return state


def _guarded_servers(fake: FakeCivis, **overrides: Any) -> tuple[MCPServer, MCPServer]:
    settings = Settings(api_key=SecretStr(KEY), api_endpoint=fake.url, **overrides)
    return build_server(settings), build_server(_compact(settings))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tool", sorted(GUARD_CASES))
async def test_imports_call_asks_the_same_question_and_writes_the_same_once(
    tool: str, mode: str, fake: FakeCivis, tmp_path: Path
) -> None:
    case = GUARD_CASES[tool]
    typed, compact = _guarded_servers(fake, audit_log=tmp_path / "audit.jsonl")
    outcomes = []
    for server, name, arguments in (
        (typed, tool, case.arguments),
        (compact, CALL, {"operation": tool, "arguments": case.arguments}),
    ):
        CivisWorld().install(fake)
        fake.clear()
        asker = Asker("yes")
        async with Client(server, mode=mode, elicitation_callback=asker) as client:
            result = await client.call_tool(name, copy.deepcopy(arguments))
        outcomes.append((result.is_error, asker.questions, writes(fake), result.structured_content))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][2] == [case.expected] and len(outcomes[0][1]) == 1
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert len(lines) == 4  # intent and outcome, once per route
    assert [{k: v for k, v in line.items() if k != "time"} for line in lines[2:]] == [
        {k: v for k, v in line.items() if k != "time"} for line in lines[:2]
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer_given", ["decline", "unticked"])
async def test_a_no_through_imports_call_writes_nothing(
    answer_given: str, mode: str, world: CivisWorld, fake: FakeCivis
) -> None:
    tool = "imports_post_cancel"
    typed, compact = _guarded_servers(fake)
    results = []
    for server, name, arguments in (
        (typed, tool, {"id": IMPORT_ID}),
        (compact, CALL, {"operation": tool, "arguments": {"id": IMPORT_ID}}),
    ):
        async with Client(server, mode=mode, elicitation_callback=Asker(answer_given)) as client:
            results.append(await client.call_tool(name, arguments))
    assert writes(fake) == []
    assert results[0].is_error and results[1].is_error
    assert text_of(results[0]) == text_of(results[1])


async def test_a_client_that_cannot_ask_is_refused_the_same_way(world: CivisWorld, fake: FakeCivis) -> None:
    typed, compact = _guarded_servers(fake)
    direct, routed = await _through_both(typed, compact, "imports_put_archive", {"id": IMPORT_ID, "status": True})
    assert writes(fake) == []
    assert "this client cannot ask" in text_of(direct)
    assert _unfenced(routed) == _unfenced(direct)


async def test_allow_unconfirmed_covers_the_operation_on_both_routes(world: CivisWorld, fake: FakeCivis) -> None:
    typed, compact = _guarded_servers(fake, allow_unconfirmed=frozenset({"imports_post_cancel"}))
    direct, routed = await _through_both(typed, compact, "imports_post_cancel", {"id": IMPORT_ID})
    assert not direct.is_error and not routed.is_error, text_of(routed)
    assert writes(fake) == [GUARD_CASES["imports_post_cancel"].expected] * 2


_YES = {"confirm": types.ElicitResult(action="accept", content={"confirm": True})}


# --- over HTTP: one server, every profile by path --------------------------------------------------------------------


@contextlib.contextmanager
def serving_http(fake: FakeCivis, *flags: str) -> Iterator[str]:
    """``civis-mcp serve --http`` against the fake; yields its base URL (``.../mcp``)."""
    port = free_port()
    args = ["--http", f"127.0.0.1:{port}", "--log-level", "WARNING", *flags]
    with serve(args, {"CIVIS_API_KEY": KEY, "CIVIS_API_ENDPOINT": fake.url}, probe=f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}/mcp"


@pytest.fixture(scope="module")
def http_full(fake: FakeCivis) -> Iterator[str]:
    with serving_http(fake) as url:
        yield url


async def _listed(url: str) -> set[str]:
    async with Client(url) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


async def test_a_request_picks_its_profile_by_path(http_full: str) -> None:
    full, compact, read_only = [await _listed(u) for u in (http_full, f"{http_full}/compact", f"{http_full}/read-only")]
    ops = {op.tool_name for op in OPERATIONS}
    assert ops <= full and not GATEWAY_TOOLS & full
    assert compact >= GATEWAY_TOOLS and not ops & compact
    assert read_only == {entry.name for entry in load_catalog() if entry.kind != "gateway" and entry.safety == "read"}
    assert full == await _listed(f"{http_full}/full")


def _leaves(exc: BaseException) -> list[str]:
    if isinstance(exc, BaseExceptionGroup):
        return [text for inner in exc.exceptions for text in _leaves(inner)]
    return [str(exc)]


async def test_a_request_picks_its_profile_by_header(http_full: str) -> None:
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async def listed_with(value: str) -> set[str] | str:
        http = create_mcp_http_client(headers={"Civis-MCP-Profile": value})
        try:
            async with http, Client(streamable_http_client(http_full, http_client=http)) as client:
                return {tool.name for tool in (await client.list_tools()).tools}
        except Exception as exc:  # the SDK raises the server's error out of its task group
            return " | ".join(_leaves(exc))

    assert await listed_with("compact") >= GATEWAY_TOOLS  # type: ignore[operator]
    assert await listed_with("read-only") == await _listed(f"{http_full}/read-only")
    refused = await listed_with("everything")
    assert isinstance(refused, str) and "valid profiles: full, read-only, compact" in refused


async def test_a_request_never_widens_the_operators_profile(fake: FakeCivis, world: CivisWorld) -> None:
    with serving_http(fake, "--profile", "read-only") as url:
        widened = await _listed(f"{url}/full")
        async with Client(f"{url}/compact") as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            found = await client.call_tool("imports_find_operation", {})
            refused = await client.call_tool(CALL, {"operation": "imports_post_cancel", "arguments": {"id": IMPORT_ID}})
            allowed = await client.call_tool(CALL, {"operation": "imports_get", "arguments": {"id": IMPORT_ID}})
    assert widened == {e.name for e in load_catalog() if e.kind != "gateway" and e.safety == "read"}
    assert listed >= GATEWAY_TOOLS
    assert refused.is_error and "runs read-only" in text_of(refused) and "Nothing was sent" in text_of(refused)
    assert not allowed.is_error, text_of(allowed)
    assert writes(fake) == []
    assert found.structured_content is not None
    assert {item["operation"] for item in found.structured_content["operations"]} <= READ_OPERATIONS


@pytest.mark.parametrize("minted_by", ["gateway", "typed"])
async def test_a_round_asked_through_one_route_is_not_answered_through_the_other(
    minted_by: str, http_full: str, world: CivisWorld, fake: FakeCivis
) -> None:
    """2026-07-28, one server (one sealing key): the ``requestState`` of a question asked through ``imports_call``
    (at ``/mcp/compact``) is sent back with a yes to the typed tool (at ``/mcp``), and the other way round. The SDK
    refuses it first (a state is bound to its tool name and arguments); the ticket's route is a second lock, tested
    on its own below. Either way nothing is written, and the round still works on the route that asked it."""
    tool, arguments = "imports_post_cancel", {"id": IMPORT_ID}
    typed = (http_full, tool, arguments)
    routed = (f"{http_full}/compact", CALL, {"operation": tool, "arguments": arguments})
    first, other = (routed, typed) if minted_by == "gateway" else (typed, routed)
    async with Client(first[0], mode="2026-07-28", elicitation_callback=Asker("yes")) as client:
        asked = await client.session.call_tool(first[1], first[2], allow_input_required=True)
    assert isinstance(asked, types.InputRequiredResult)
    async with Client(other[0], mode="2026-07-28", elicitation_callback=Asker("yes")) as client:
        try:
            replay: Any = await client.session.call_tool(
                other[1], other[2], input_responses=_YES, request_state=asked.request_state, allow_input_required=True
            )
        except MCPError as exc:
            replay = exc
    assert writes(fake) == []
    assert isinstance(replay, (types.InputRequiredResult, MCPError)), replay
    # The same round sent back through the route that asked it does write: the yes is good, on its own route.
    async with Client(first[0], mode="2026-07-28", elicitation_callback=Asker("yes")) as client:
        done = await client.session.call_tool(
            first[1], first[2], input_responses=_YES, request_state=asked.request_state, allow_input_required=True
        )
    assert isinstance(done, types.CallToolResult) and not done.is_error, done
    assert writes(fake) == [GUARD_CASES[tool].expected]


# --- what the gateway reaches and shows -------------------------------------------------------------------------------


def _offline(**overrides: Any) -> MCPServer:
    settings = Settings(api_key=SecretStr(KEY), api_endpoint="http://127.0.0.1:9/", profile="compact", **overrides)
    return build_server(settings)


async def test_describe_gives_each_operations_exact_typed_schema() -> None:
    typed = {e.name: e.listing["inputSchema"] for e in load_catalog() if e.kind == "operation"}
    async with Client(_offline()) as client:
        for op in OPERATIONS:
            described = await client.call_tool("imports_describe_operation", {"operation": op.tool_name})
            assert described.structured_content is not None, op.tool_name
            assert described.structured_content["input_schema"] == typed[op.tool_name]
            assert described.structured_content["asks_confirmation"] is (op.guard is not None)
            assert described.structured_content["safety"] == op.safety_class.value


async def test_find_reaches_every_operation_and_ranks_by_words() -> None:
    async with Client(_offline()) as client:
        everything = await client.call_tool("imports_find_operation", {})
        cancel = await client.call_tool("imports_find_operation", {"query": "cancel csv run"})
        nothing = await client.call_tool("imports_find_operation", {"query": "zebra"})
    assert everything.structured_content is not None and cancel.structured_content is not None
    assert everything.structured_content["matched"] == len(OPERATIONS)
    assert cancel.structured_content["operations"][0]["operation"] == "imports_delete_files_csv_runs"
    assert nothing.structured_content == {"operations": [], "matched": 0}


async def test_the_gateway_keeps_to_the_operators_bounds() -> None:
    async with Client(_offline(tools=frozenset({"imports_get", "imports_find"}))) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        found = await client.call_tool("imports_find_operation", {})
        outside = await client.call_tool(CALL, {"operation": "imports_list", "arguments": {}})
        unknown = await client.call_tool(CALL, {"operation": "imports_gett", "arguments": {"id": 1}})
        described = await client.call_tool("imports_describe_operation", {"operation": "imports_list"})
    assert listed == GATEWAY_TOOLS | {"imports_find"}
    assert found.structured_content is not None
    assert [item["operation"] for item in found.structured_content["operations"]] == ["imports_get"]
    assert outside.is_error and "not in the --tools allow-list" in text_of(outside)
    assert unknown.is_error and "Did you mean imports_get?" in text_of(unknown)
    assert described.is_error and "not in the --tools allow-list" in text_of(described)


async def test_the_compact_profile_refuses_typed_tools_and_names_the_way_through() -> None:
    async with Client(_offline()) as client:
        try:
            result = await client.call_tool("imports_get", {"id": 1})
            text = text_of(result)
        except MCPError as exc:
            text = str(exc)
    assert "imports_call" in text and "'imports_get'" in text and "Nothing was sent" in text


def test_narrowing_never_widens() -> None:
    base = Settings()
    for operator in Profile:
        for read_only in (False, True):
            settings = Settings(profile=operator.value, read_only=read_only)
            for requested in (*(p.value for p in Profile), None, ""):
                narrowed = narrow(settings, requested)
                reads_before = read_only or operator is Profile.READ_ONLY
                reads_after = narrowed.read_only or narrowed.profile == Profile.READ_ONLY
                assert reads_after >= reads_before, (operator, read_only, requested)
                assert (narrowed.profile == Profile.COMPACT) >= (operator is Profile.COMPACT)
                assert narrowed.tools == settings.tools and narrowed.toolsets == settings.toolsets
    assert narrow(base, "read-only").read_only and narrow(base, "COMPACT").profile == "compact"
    with pytest.raises(ValueError, match="valid profiles: full, read-only, compact"):
        narrow(base, "everything")


def test_serve_rejects_an_unknown_profile_naming_the_valid_ones(command: Command) -> None:
    done = command("serve", "--profile", "tiny", env={"CIVIS_API_KEY": "k"})
    assert done.returncode == 2, done.stderr
    assert "unknown profile 'tiny'; valid profiles: full, read-only, compact" in done.stderr


async def test_the_profile_comes_from_the_environment(fake: FakeCivis, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server ``civis-mcp serve`` runs with CIVIS_MCP_PROFILE=compact, in process.
    for variable, value in {
        "CIVIS_API_KEY": KEY,
        "CIVIS_API_ENDPOINT": fake.url,
        "CIVIS_MCP_PROFILE": "compact",
    }.items():
        monkeypatch.setenv(variable, value)
    async with Client(build_server(serve_settings([]))) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} >= GATEWAY_TOOLS


def test_a_ticket_is_taken_only_on_the_route_that_minted_it() -> None:
    """The second lock, without the SDK's: a sealed ticket minted for one route is no ticket on the other (the
    call then asks anew, see ``guard.confirm_effect``)."""
    from types import SimpleNamespace

    from civis_mcp.guard import _Ticket, current_round, ticket_route

    typed, routed = ticket_route("imports_post_cancel", None), ticket_route("imports_post_cancel", CALL)
    for minted, other in ((typed, routed), (routed, typed)):
        state = _Ticket("ticket-1", "digest", {}).dump(minted)
        ctx: Any = SimpleNamespace(protocol_version="2026-07-28", request_state=state, input_responses=_YES)
        assert current_round(ctx, minted).ticket is not None
        assert current_round(ctx, other).ticket is None
