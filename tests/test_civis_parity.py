"""Acceptance: each MCP tool sends what ``civis.APIClient(...).imports.<method>`` sends and returns all it returns.

For every contract case (``tests/contract_cases.py``), civis-python 2.10.1 and civis-mcp make the same call against
one recording stand-in for the Civis API on 127.0.0.1 (``tests.fake_civis``), and the test compares:

* the request: method, path, the query as a multiset of decoded pairs, the JSON body and the credentials.
  The body rule: both send a JSON object with every request, and the two objects are equal: the body arguments for
  POST, PUT and PATCH (``{}`` when there are none), and ``{}`` for GET and DELETE, because civis-python always hands
  ``json=<body arguments>`` to ``requests``, which serialises even an empty dict.
* the result: civis-python returns a ``civis.response.Response`` (a ``ListResponse`` of them for JSON arrays); its
  public ``.json()`` gives the snake_case data. Every key and value civis-python returns must be in the tool's
  structured result, equal (lists: item by item, under ``items``; paged lists: the ``X-Pagination-*`` headers civis
  keeps must match our ``pagination``). The only thing ours may add is ``null`` for a documented field the answer
  left out (our response models declare every documented field); any other difference fails.
  For answers without a body (HTTP 202 or 204) civis-python returns an empty ``Response`` (``.json() == {}``) and
  civis-mcp an acknowledgement with the status code.

Destructive tools of civis-mcp first read the live state (GET only) to preview the change for the human; the
preview's reads are answered from ``LIVE_STATE`` and are not part of the comparison. civis-python has no preview: it
sends the write alone. The comparison is between civis-python's one request and civis-mcp's one request for the
operation (its write comes last).

Nothing here leaves the machine: civis-python reads its bundled API spec (``local_api_spec``) and is pointed at the
loopback server by ``CIVIS_API_ENDPOINT`` before it is built, and every connection to a non-loopback address fails the
test.
"""

from __future__ import annotations

import copy
import functools
import json
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import civis
import pytest
from civis.resources import API_SPEC_PATH
from civis.response import ListResponse, Response
from mcp import Client
from mcp.server import MCPServer
from pydantic import SecretStr

from civis_mcp.config import Settings
from civis_mcp.operations import OPERATIONS, OPERATIONS_BY_TOOL, Safety
from civis_mcp.server import build_server
from tests.contract_cases import CASES, LIVE_STATE, ContractCase, without_added_nulls
from tests.fake_civis import FakeCivis, Recorded, Reply, running_fake_civis

API_KEY = "parity-test-key-0f9e8d7c"
DESTRUCTIVE = frozenset(op.tool_name for op in OPERATIONS if op.safety_class is Safety.DESTRUCTIVE)
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
BODY_VERBS = frozenset({"POST", "PUT", "PATCH"})
PAGINATION_HEADERS = {
    "page": "X-Pagination-Current-Page",
    "per_page": "X-Pagination-Per-Page",
    "total_pages": "X-Pagination-Total-Pages",
    "total_entries": "X-Pagination-Total-Entries",
}

by_case = pytest.mark.parametrize("case", CASES, ids=[case.tool for case in CASES])


@dataclass(frozen=True)
class Harness:
    fake: FakeCivis
    imports: Any
    """civis-python's ``client.imports``, talking to ``fake``."""


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    """The loopback stand-in for Civis and a civis-python client pointed at it, for the whole module."""
    with pytest.MonkeyPatch.context() as patch, running_fake_civis() as fake:
        refuse_non_loopback_connections(patch)
        # civis-python reads CIVIS_API_ENDPOINT when the client is built, so it must be set first.
        patch.setenv("CIVIS_API_ENDPOINT", fake.url)
        client = civis.APIClient(api_key=API_KEY, local_api_spec=API_SPEC_PATH)
        imports: Any = client.imports
        assert imports._base_url == fake.url  # nothing can reach the real API
        yield Harness(fake=fake, imports=imports)


def refuse_non_loopback_connections(patch: pytest.MonkeyPatch) -> None:
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            raise AssertionError(f"test tried to resolve {host!r}; only loopback is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise AssertionError(f"test tried to connect to {address!r}; only loopback is allowed")
        return real_connect(self, address)

    patch.setattr(socket, "getaddrinfo", getaddrinfo)
    patch.setattr(socket.socket, "connect", connect)


@functools.cache
def server_for(endpoint: str) -> MCPServer:
    """One civis-mcp server per endpoint (building the tools takes a while); each call connects a fresh client."""
    settings = Settings(api_key=SecretStr(API_KEY), api_endpoint=endpoint, allow_unconfirmed=DESTRUCTIVE)
    return build_server(settings)


def serve(fake: FakeCivis, case: ContractCase) -> None:
    """Answer the case's request with its response, and the preview reads of destructive tools with live state."""
    fake.routes.clear()
    fake.clear()
    for path, state in LIVE_STATE.items():
        fake.route("GET", path, Reply(200, state))
    fake.route(case.method, case.path, Reply(case.response_status, case.response, dict(case.response_headers)))


def taken(fake: FakeCivis) -> list[Recorded]:
    requests = list(fake.requests)
    fake.clear()
    return requests


def the_operations_request(case: ContractCase, requests: list[Recorded]) -> Recorded:
    own = [r for r in requests if (r.method, r.path) == (case.method, case.path)]
    assert len(own) == 1, f"{case.tool}: {len(own)} {case.method} {case.path} requests in {requests}"
    others = [r for r in requests if r is not own[0]]
    assert all(r.method == "GET" for r in others) and (not others or case.tool in DESTRUCTIVE), others
    after = requests[requests.index(own[0]) + 1 :]  # only a read of the state the write left, where the policy says
    guard = OPERATIONS_BY_TOOL[case.tool].guard
    assert not after or (guard is not None and guard.after is not None), after
    return own[0]


def assert_same_values(tool: str, ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Every key civis-python returns is ours with an equal value; ours adds nothing but nulls."""
    lost = sorted(set(theirs) - set(ours))
    assert not lost, f"{tool}: civis-python returns {lost}, civis-mcp does not"
    for key, value in theirs.items():
        assert without_added_nulls(ours[key], value) == value, f"{tool}: {key} differs"
    assert without_added_nulls(ours, theirs) == theirs, f"{tool}: civis-mcp adds values civis-python does not have"


@by_case
async def test_tool_matches_civis_python(harness: Harness, case: ContractCase) -> None:
    fake = harness.fake
    serve(fake, case)

    theirs_result = getattr(harness.imports, case.civis_method)(**copy.deepcopy(case.arguments))
    theirs_requests = taken(fake)
    async with Client(server_for(fake.url)) as client:
        ours_result = await client.call_tool(case.tool, copy.deepcopy(case.arguments))
    ours_requests = taken(fake)

    # --- the request ---
    assert len(theirs_requests) == 1, theirs_requests
    theirs = theirs_requests[0]
    ours = the_operations_request(case, ours_requests)
    assert (ours.method, ours.path) == (theirs.method, theirs.path) == (case.method, case.path)
    assert Counter(ours.query) == Counter(theirs.query), f"{case.tool}: query"
    # The request test_contract expects is derived from the arguments by civis-python's rules: here civis-python
    # itself shows that the derivation is right.
    assert Counter(theirs.query) == Counter(case.query), f"{case.tool}: the derived query"
    assert json.loads(theirs.body) == (case.body if case.body is not None else {}), f"{case.tool}: the derived body"
    assert ours.headers["authorization"] == theirs.headers["authorization"]
    # Every verb carries a JSON object, as civis-python sends it: ``{}`` on GET and DELETE.
    assert theirs.headers["content-type"] == ours.headers["content-type"] == "application/json"
    assert json.loads(ours.body) == json.loads(theirs.body), f"{case.tool}: body"
    if case.method not in BODY_VERBS:
        assert json.loads(ours.body) == {}, f"{case.tool}: {case.method} carries no arguments in its body"

    # --- the result ---
    assert not ours_result.is_error, ours_result.content
    structured = ours_result.structured_content
    assert structured is not None
    if isinstance(case.response, list):
        assert isinstance(theirs_result, ListResponse)
        assert len(structured["items"]) == len(theirs_result)
        for index, (mine, other) in enumerate(zip(structured["items"], theirs_result, strict=True)):
            assert_same_values(f"{case.tool} item {index}", mine, other.json())
        headers = theirs_result.headers or {}
        pagination = {key: int(headers[name]) for key, name in PAGINATION_HEADERS.items() if name in headers}
        assert structured["pagination"] == (pagination or None), "the X-Pagination-* headers civis-python keeps"
    elif case.response is None:
        assert isinstance(theirs_result, Response)
        assert theirs_result.json() == {}, "civis-python returns an empty Response for an answer without a body"
        assert structured["status_code"] == case.response_status
    else:
        assert isinstance(theirs_result, Response)
        assert_same_values(case.tool, structured, theirs_result.json())
