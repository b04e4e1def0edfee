"""The wire contract of every tool, checked against the cases of ``tests/contract_cases.py``.

For each of the 46 operations, one representative call runs in process through the MCP SDK's ``Client`` against
``build_server``, with respx standing in for the Civis API (``https://civis.test/``, a host that does not exist; respx
refuses anything not mocked). It proves that the call:

* sends exactly one request for the operation, with exactly the method, path, query pairs (as a multiset) and JSON
  body that civis-python sends for the same arguments (derived from them by civis-python's rules, not by
  civis-mcp's code; three cases also spell the request out by hand), and ``{}`` for GET and DELETE;
* sends nothing else, except, for destructive tools, the GET reads of their preview (answered from ``LIVE_STATE``);
  the write is the last request. Destructive tools are allowed without confirmation here (the operator setting), so
  that the call goes straight from its preview to the write; the confirmation flow has tests of its own;
* returns a result that is not an error and holds every value the case expects at its key path;
* drops and changes nothing: every top-level key of the answer (snake_cased by civis-python's rule; per item for
  lists) is in the result with an equal value; the only difference allowed, at any depth, is a ``null`` for a
  documented field the answer left out (our response models declare every documented field).

It also proves that fields our models do not know still reach the caller.
"""

from __future__ import annotations

import copy
import functools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from mcp import Client
from mcp.server import MCPServer
from pydantic import SecretStr

from civis_mcp.config import Settings
from civis_mcp.operations import OPERATIONS, OPERATIONS_BY_TOOL, Safety
from civis_mcp.server import build_server
from tests.contract_cases import (
    CASES,
    CASES_BY_TOOL,
    LIVE_STATE,
    ContractCase,
    snake_case_json,
    without_added_nulls,
)

BASE_URL = "https://civis.test/"
SPEC_PATH = Path(__file__).parent / "reference" / "civis_imports_swagger.json"
DESTRUCTIVE = frozenset(op.tool_name for op in OPERATIONS if op.safety_class is Safety.DESTRUCTIVE)

by_case = pytest.mark.parametrize("case", CASES, ids=[case.tool for case in CASES])


def settings(endpoint: str) -> Settings:
    """Settings for an in-process server whose destructive tools run without asking a human."""
    return Settings(api_key=SecretStr("k"), api_endpoint=endpoint, allow_unconfirmed=DESTRUCTIVE)


def value_at(data: Any, key_path: str) -> Any:
    """The value at a dot-separated key path; a part indexes a list when the value there is a list."""
    current = data
    for part in key_path.split("."):
        if isinstance(current, list):
            current = current[int(part)]
        elif isinstance(current, dict):
            if part not in current:
                raise KeyError(f"{key_path}: no key {part!r} (keys: {sorted(current)})")
            current = current[part]
        else:
            raise KeyError(f"{key_path}: cannot look up {part!r} in {current!r}")
    return current


def assert_result_matches(case: ContractCase, structured: dict[str, Any]) -> None:
    """The case's expected values are in the result, and nothing of the answer was dropped or changed."""
    for key_path, wanted in case.expected.items():
        assert value_at(structured, key_path) == wanted, f"{case.tool}: {key_path}"
    if case.response is None:
        assert structured["status_code"] == case.response_status, case.tool
        return
    answer = snake_case_json(case.response)
    if isinstance(answer, list):
        assert len(structured["items"]) == len(answer), case.tool
        pairs = [
            (f"item {index}", mine, item)
            for index, (mine, item) in enumerate(zip(structured["items"], answer, strict=True))
        ]
    else:
        pairs = [("result", structured, answer)]
    for where, ours, sent in pairs:
        lost = sorted(set(sent) - set(ours))
        assert not lost, f"{case.tool}: {where} lost {lost}"
        for key, value in sent.items():
            assert without_added_nulls(ours[key], value) == value, f"{case.tool}: {where}: {key} differs"


def the_operations_request(case: ContractCase, requests: list[httpx.Request]) -> httpx.Request:
    """The one request of the operation; every other request may only be a preview read of a destructive tool."""
    own = [r for r in requests if r.method == case.method and r.url.path == case.path]
    assert len(own) == 1, f"{case.tool}: {len(own)} {case.method} {case.path} requests in {requests}"
    others = [r for r in requests if r is not own[0]]
    if case.tool in DESTRUCTIVE:
        assert all(r.method == "GET" for r in others), f"{case.tool}: a preview may only read: {others}"
        after = requests[requests.index(own[0]) + 1 :]  # only a read of the state the write left, where the policy says
        guard = OPERATIONS_BY_TOOL[case.tool].guard
        assert not after or (guard is not None and guard.after is not None), f"{case.tool}: read after the write"
    else:
        assert not others, f"{case.tool}: sent more than its one request: {requests}"
    return own[0]


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@functools.cache
def server() -> MCPServer:
    """One server for the module (building the 46 tools takes a while); each call connects a fresh client to it."""
    return build_server(settings(BASE_URL))


async def call_tool(tool: str, arguments: dict[str, Any]) -> Any:
    async with Client(server()) as client:
        return await client.call_tool(tool, copy.deepcopy(arguments))


def test_one_case_per_operation() -> None:
    tools = [case.tool for case in CASES]
    assert len(tools) == len(set(tools)) == 46
    assert set(tools) == {op.tool_name for op in OPERATIONS}


def test_cases_follow_the_spec() -> None:
    """Each case's verb, path and answer status are the ones the official spec documents."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    documented = {
        (verb.upper(), template): {int(code) for code in operation["responses"]}
        for template, item in spec["paths"].items()
        for verb, operation in item.items()
    }
    for op in OPERATIONS:
        case = CASES_BY_TOOL[op.tool_name]
        assert case.method == op.verb, case.tool
        assert case.response_status in documented[(case.method, op.path)], case.tool
        filled = op.path.format(**{name: case.arguments[name] for name in op.path_params})
        assert case.path == filled.rstrip("/"), case.tool
        assert (case.body is None) == (case.method in ("GET", "DELETE")), case.tool
        assert bool(case.response_headers) == ("page_num" in case.arguments), case.tool
        assert (case.response is None) == (op.response is None), case.tool


def test_the_derived_requests_agree_with_the_hand_written_ones() -> None:
    """The derivation of the requests is checked against requests written out by hand, so that a mistake in it
    cannot make a wrong request look expected (``test_civis_parity`` checks it against civis-python for all 46)."""
    spelled_out = [case for case in CASES if case.literal is not None]
    assert {case.method for case in spelled_out} >= {"GET", "PUT"} and len(spelled_out) >= 3
    for case in spelled_out:
        assert case.wire == case.literal, case.tool


@by_case
async def test_tool_sends_the_exact_request_and_returns_every_value(case: ContractCase) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_mocked=True, assert_all_called=False) as router:
        for path, state in LIVE_STATE.items():
            router.route(method="GET", path=path).mock(return_value=answer(200, state))
        # Last, so that it replaces a live-state route of the same method and path (respx keeps one per pattern).
        router.route(method=case.method, path=case.path).mock(
            return_value=answer(case.response_status, case.response, case.response_headers)
        )
        result = await call_tool(case.tool, case.arguments)
        requests = [call.request for call in router.calls]  # respx forgets its calls when the block ends

    request = the_operations_request(case, requests)
    assert request.url.host == "civis.test"
    assert Counter(request.url.params.multi_items()) == Counter(case.query), case.tool
    # Like civis-python, every request carries a JSON object: ``{}`` for GET and DELETE (their arguments are in the
    # path and the query).
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == (case.body if case.body is not None else {}), case.tool

    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert_result_matches(case, result.structured_content)


async def test_fields_our_models_do_not_know_still_reach_the_caller() -> None:
    case = CASES_BY_TOOL["imports_get"]
    extended = {**case.response, "someNewField": 1, "lastRun": {**case.response["lastRun"], "queuedAt": "2026-01-02"}}
    with respx.mock(base_url=BASE_URL, assert_all_mocked=True) as router:
        router.get(path="/imports/12").mock(return_value=httpx.Response(200, json=extended))
        result = await call_tool("imports_get", {"id": 12})

    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["some_new_field"] == 1
    assert result.structured_content["last_run"]["queued_at"] == "2026-01-02"
