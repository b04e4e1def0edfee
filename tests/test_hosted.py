"""The hosted mode at its real boundary: SDK clients over streamable HTTP through nginx to three replicas
(``civis-mcp serve --http --auth civis-key`` subprocesses started by ``deploy/local_stack.py``) sharing Redis, against
a sandbox where two users each have their own key.

The tests share one stack and need no order (each makes the traffic it checks, so they may run on different test
workers); the one that stops a replica, then Redis, has a stack of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import types
from mcp.shared.exceptions import MCPError

from civis_mcp.sandbox import demo as d
from tests import loopback
from tests.hosted_support import (
    ALICE_KEY,
    BAD_KEY,
    BOB_KEY,
    CANARIES,
    YES,
    Stack,
    TwoUserSandbox,
    basic,
    http_client,
    initialize,
    key_forms,
    local_stack,
    say_yes,
    text_of,
    two_user_sandbox,
)

CSV_RUN = ("imports_post_files_csv_runs", {"id": d.DEMO_CSV_IMPORT_ID})
"""A destructive call of Alice's: a run of a CSV import that replaces its table; every yes starts one run."""


@pytest.fixture(scope="module")
def world() -> Iterator[TwoUserSandbox]:
    with two_user_sandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def stack(world: TwoUserSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with local_stack(world.sandbox.url, tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture
async def anyio_backend() -> AsyncIterator[str]:
    yield "asyncio"


def _ids(result: types.CallToolResult) -> set[int]:
    assert result.structured_content is not None, text_of(result)
    return {item["id"] for item in result.structured_content["items"]}


# --- who may come in ------------------------------------------------------------------------------------------------


def test_no_key_a_bad_key_or_another_scheme_gets_401_with_a_challenge(stack: Stack) -> None:
    for headers in ({}, {"Authorization": basic(BAD_KEY)}, {"Authorization": f"Bearer {ALICE_KEY}"}):
        answer = initialize(stack.url, headers)
        assert answer.status_code == 401, (headers.keys(), answer.text)
        assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert "API key" in answer.json()["error_description"]
    assert initialize(stack.url, {"Authorization": basic(ALICE_KEY)}).status_code == 200


def test_a_foreign_origin_is_refused_before_the_key_is_checked(stack: Stack, world: TwoUserSandbox) -> None:
    mark = world.requests.mark()
    for headers in ({"Authorization": basic(ALICE_KEY)}, {"Authorization": basic(BAD_KEY)}, {}):
        answer = initialize(stack.url, {**headers, "Origin": "http://rebind.attacker.example"})
        assert answer.status_code == 403, answer.text
    # Not even GET /users/me was sent for them: a page of another origin cannot test keys.
    assert world.requests.since(mark) == []


def test_health_and_readiness_through_nginx_and_on_each_replica(stack: Stack) -> None:
    assert loopback.get(f"{stack.base}/healthz", timeout=5).json()["status"] == "ok"
    for replica in stack.info["replicas"]:
        base = f"http://127.0.0.1:{replica['port']}"
        assert loopback.get(f"{base}/healthz", timeout=5).json() == {"status": "ok", "replica": replica["name"]}
        ready = loopback.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["redis"] == "ok"
        assert ready.json()["checks"]["state_keys"] == "1 shared"


# --- each user with their own key ------------------------------------------------------------------------------------


async def test_each_user_sees_and_changes_only_what_their_own_key_allows(stack: Stack, world: TwoUserSandbox) -> None:
    mark = world.requests.mark()
    async with http_client(stack.url, ALICE_KEY, mode="2026-07-28") as alice:
        alices = _ids(await alice.call_tool("imports_list", {}))
    assert {who.who for who in world.requests.since(mark)} == {"alice"}
    mark = world.requests.mark()
    async with http_client(stack.url, BOB_KEY, mode="2026-07-28", elicitation_callback=say_yes) as bob:
        bobs = _ids(await bob.call_tool("imports_list", {}))
        # Bob asks to remove Alice's import from her project: Civis (the sandbox) refuses him.
        removed = await bob.call_tool(
            "imports_delete_projects", {"id": d.DEMO_DBSYNC_IMPORT_ID, "project_id": d.DEMO_PROJECT_ID}
        )
    assert {who.who for who in world.requests.since(mark)} == {"bob"}, "every call of Bob's carried Bob's key only"
    assert world.requests.writes(mark) == []
    assert removed.is_error
    assert d.DEMO_PRIVATE_IMPORT_ID in bobs and d.DEMO_PRIVATE_IMPORT_ID not in alices
    assert d.DEMO_DBSYNC_IMPORT_ID in alices and d.DEMO_DBSYNC_IMPORT_ID not in bobs
    async with http_client(stack.url, ALICE_KEY, mode="2026-07-28") as alice:
        projects = await alice.call_tool("imports_list_projects", {"id": d.DEMO_DBSYNC_IMPORT_ID})
    assert projects.structured_content is not None
    assert d.DEMO_PROJECT_ID in [p["id"] for p in projects.structured_content["items"]]


async def test_a_callers_key_that_comes_back_from_civis_is_redacted_from_the_answer(stack: Stack) -> None:
    async with http_client(stack.url, BOB_KEY, mode="2026-07-28") as bob:
        made = await bob.call_tool(
            "imports_post", {"name": f"echo {BOB_KEY}", "sync_type": "Dbsync", "is_outbound": False}
        )
    text = text_of(made) + json.dumps(made.structured_content)
    assert not made.is_error, text
    assert BOB_KEY not in text
    assert "echo [REDACTED]" in text


def test_an_older_clients_session_answers_only_the_user_who_opened_it(stack: Stack) -> None:
    replica = stack.replica_url("r1")
    opened = initialize(replica, {"Authorization": basic(ALICE_KEY)})
    session = opened.headers["Mcp-Session-Id"]
    assert session.startswith("r1.")
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream", "Mcp-Session-Id": session}
    as_bob = loopback.post(replica, json=ping, headers={**headers, "Authorization": basic(BOB_KEY)}, timeout=10)
    assert as_bob.status_code == 404  # as if the session did not exist
    as_alice = loopback.post(replica, json=ping, headers={**headers, "Authorization": basic(ALICE_KEY)}, timeout=10)
    assert as_alice.status_code == 200, as_alice.text
    elsewhere = loopback.post(
        stack.replica_url("r3"), json=ping, headers={**headers, "Authorization": basic(ALICE_KEY)}, timeout=10
    )
    assert elsewhere.status_code == 404  # another replica does not hold it (nginx routes it to r1)


# --- confirmations across replicas ----------------------------------------------------------------------------------


async def test_a_2026_confirmation_acts_once_whichever_replicas_its_rounds_reach(
    stack: Stack, world: TwoUserSandbox
) -> None:
    tool, arguments = CSV_RUN
    r1, r2, r3 = (stack.replica_url(name) for name in ("r1", "r2", "r3"))
    async with http_client(r1, ALICE_KEY, mode="2026-07-28", elicitation_callback=say_yes) as on_r1:
        asked = await on_r1.session.call_tool(tool, arguments, allow_input_required=True)
    assert isinstance(asked, types.InputRequiredResult)
    sealed = asked.request_state
    mark = world.requests.mark()
    async with http_client(r2, ALICE_KEY, mode="2026-07-28", elicitation_callback=say_yes) as on_r2:
        done = await on_r2.session.call_tool(
            tool, arguments, input_responses=YES, request_state=sealed, allow_input_required=True
        )
    assert isinstance(done, types.CallToolResult) and not done.is_error, text_of(done)
    assert [(w.method, w.who) for w in world.requests.writes(mark)] == [("POST", "alice")]
    # The same confirmed round again, on a third replica and through nginx: used already, nothing sent.
    for url in (r3, stack.url):
        async with http_client(url, ALICE_KEY, mode="2026-07-28", elicitation_callback=say_yes) as again:
            replay = await again.session.call_tool(
                tool, arguments, input_responses=YES, request_state=sealed, allow_input_required=True
            )
        assert isinstance(replay, types.CallToolResult) and replay.is_error
        assert "this confirmation was used already" in text_of(replay)
    assert len(world.requests.writes(mark)) == 1
    # Each decision has its log line: the question, the confirmed run, the replays refused.
    decisions = {record["decision"] for record in call_records(stack) if record["tool"] == tool}
    assert {"asked", "confirmed", "already_used"} <= decisions, decisions


async def test_another_users_key_cannot_continue_a_sealed_round(stack: Stack, world: TwoUserSandbox) -> None:
    tool, arguments = CSV_RUN
    async with http_client(stack.url, ALICE_KEY, mode="2026-07-28", elicitation_callback=say_yes) as alice:
        asked = await alice.session.call_tool(tool, arguments, allow_input_required=True)
    assert isinstance(asked, types.InputRequiredResult)
    mark = world.requests.mark()
    async with http_client(stack.url, BOB_KEY, mode="2026-07-28", elicitation_callback=say_yes) as bob:
        with pytest.raises(MCPError, match="requestState"):
            await bob.session.call_tool(
                tool, arguments, input_responses=YES, request_state=asked.request_state, allow_input_required=True
            )
    assert world.requests.writes(mark) == []


async def test_the_sdk_client_confirms_through_nginx_in_both_protocol_generations(
    stack: Stack, world: TwoUserSandbox
) -> None:
    """2026-07-28 rounds go round robin; an older client's session stays on the replica that opened it (its
    mid-call question waits there), because its session id names that replica."""
    for mode in ("2026-07-28", "legacy"):
        mark = world.requests.mark()
        async with http_client(stack.url, ALICE_KEY, mode=mode, elicitation_callback=say_yes) as alice:
            for _ in range(3):  # several requests of one session, all on its replica
                assert not (await alice.call_tool("imports_list", {"limit": 1})).is_error
            done = await alice.call_tool(*CSV_RUN)
        assert not done.is_error, (mode, text_of(done))
        assert [(w.method, w.who) for w in world.requests.writes(mark)] == [("POST", "alice")], mode
    opened = initialize(stack.url, {"Authorization": basic(ALICE_KEY)})
    replica, _, session = opened.headers["Mcp-Session-Id"].partition(".")
    assert replica in {"r1", "r2", "r3"} and len(session) >= 32


# --- operations -----------------------------------------------------------------------------------------------------


def call_records(stack: Stack) -> list[dict[str, Any]]:
    """The replicas' tool-call log lines (every line a replica writes must be JSON naming its replica)."""
    calls = []
    for name, text in stack.logs().items():
        if not re.fullmatch(r"r[0-9]+\.log", name):
            continue
        for line in text.splitlines():
            record = json.loads(line)
            assert record["replica"] == Path(name).stem
            if record["logger"] == "civis_mcp.calls":
                calls.append(record)
    return calls


async def test_one_json_line_per_tool_call_without_keys_or_arguments(stack: Stack) -> None:
    async with http_client(stack.url, ALICE_KEY) as alice:  # its own call (the others may run on other workers)
        assert not (await alice.call_tool("imports_list", {"limit": 1})).is_error
    calls = call_records(stack)
    assert calls, "no tool-call line was logged"
    fields = {"time", "replica", "tool", "principal", "decision", "upstream_status", "civis_request_id", "latency_ms"}
    for record in calls:
        assert fields <= record.keys(), record
        assert "arguments" not in record
        assert len(record["principal"]) == 16 and record["principal"] not in {"1001", "1003"}
    assert "ok" in {record["decision"] for record in calls}
    assert any(record["civis_request_id"] for record in calls)


# --- parts stopped mid-test (on a stack of its own) ------------------------------------------------------------------


async def test_a_stopped_replica_then_a_stopped_redis(world: TwoUserSandbox, tmp_path: Path) -> None:
    with local_stack(world.sandbox.url, tmp_path / "stack", replicas=2) as stack:
        await _stop_a_replica_then_redis(stack, world)


async def _stop_a_replica_then_redis(stack: Stack, world: TwoUserSandbox) -> None:
    r2 = next(r for r in stack.info["replicas"] if r["name"] == "r2")
    stack.stop_part(r2["pid"])
    async with http_client(stack.url, ALICE_KEY, mode="2026-07-28") as alice:
        for _ in range(6):  # round robin would reach the stopped replica twice: nginx passes those on
            assert not (await alice.call_tool("imports_list", {"limit": 1})).is_error

    stack.stop_part(stack.info["redis"]["pid"])
    mark = world.requests.mark()
    async with http_client(stack.url, ALICE_KEY, mode="2026-07-28", elicitation_callback=say_yes) as alice:
        for _ in range(3):
            assert not (await alice.call_tool("imports_list", {"limit": 1})).is_error
        refused = await alice.call_tool(*CSV_RUN)
    assert refused.is_error
    assert "could not reach Redis" in text_of(refused) and "Nothing was changed" in text_of(refused)
    assert world.requests.writes(mark) == []
    for replica in stack.info["replicas"]:
        if replica["name"] == "r2":
            continue
        ready = loopback.get(f"http://127.0.0.1:{replica['port']}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("unreachable")


def test_no_canary_key_in_any_log_nginx_included(stack: Stack) -> None:
    # Its own traffic first (tests of this module may run on other workers): a refused and an accepted request, each
    # through nginx, the accepted one carrying a canary key.
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream"}
    assert loopback.post(stack.url, json=hello, headers=accept, timeout=10).status_code == 401
    signed_in = loopback.post(stack.url, json=hello, headers={**accept, "Authorization": basic(ALICE_KEY)}, timeout=10)
    assert signed_in.status_code == 200, signed_in.text
    logs = stack.logs()
    assert {"r1.log", "r2.log", "r3.log", "nginx/nginx-access.log", "redis.log"} <= logs.keys()
    assert "POST /mcp" in logs["nginx/nginx-access.log"] and " 401 " in logs["nginx/nginx-access.log"]
    for name, text in logs.items():
        for key in CANARIES:
            for form in key_forms(key):
                assert form.lower() not in text.lower(), f"a form of a caller key is in {name}"
