"""The hosted mode's parts, each against the real thing it talks to: the confirmation store and the rate limit
against a redis-server of their own, the key check against the sandbox's ``/users/me``, replicas without Redis
through the SDK Client, the duration metric through the OpenTelemetry SDK, and log lines through the redactor."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from pydantic import SecretStr
from redis.asyncio import Redis

from civis_mcp.api.callers import CALLER_KEYS, Caller, as_caller
from civis_mcp.api.redaction import RedactingFilter
from civis_mcp.config import Settings
from civis_mcp.confirmations import TICKET_LIFETIME, ConfirmationUnavailable, RedisConfirmationStore
from civis_mcp.hosted.app import Hosting
from civis_mcp.hosted.keys import KeyCheckUnavailable, KeyVerifier
from civis_mcp.hosted.limits import RateLimiter
from civis_mcp.hosted.logs import JsonFormatter
from civis_mcp.hosted.settings import HostedSettings
from civis_mcp.sandbox import demo as d
from civis_mcp.sandbox.config import SandboxConfig, parse_user_keys
from civis_mcp.server import build_server
from tests import loopback
from tests.hosted_support import (
    ALICE_KEY,
    BAD_KEY,
    BOB_KEY,
    TwoUserSandbox,
    basic,
    free_port,
    redis_server,
    say_yes,
    text_of,
    two_user_sandbox,
)

STATE_KEY = "s" * 40


@pytest.fixture(scope="module")
def world() -> Iterator[TwoUserSandbox]:
    with two_user_sandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with redis_server(tmp_path_factory.mktemp("redis")) as port:
        yield port


@pytest.fixture
async def redis(redis_port: int) -> AsyncIterator[Redis]:
    client = Redis.from_url(f"redis://127.0.0.1:{redis_port}/0")
    yield client
    await client.aclose()


# --- the shared confirmation store ----------------------------------------------------------------------------------


async def test_of_many_replicas_spending_one_ticket_at_once_exactly_one_succeeds(redis: Redis) -> None:
    stores = [RedisConfirmationStore(redis) for _ in range(3)]
    outcomes: list[bool] = []

    async def spend(store: RedisConfirmationStore) -> None:
        outcomes.append(await store.spend("ticket-raced"))

    async with anyio.create_task_group() as group:
        for index in range(30):
            group.start_soon(spend, stores[index % 3])
    assert sorted(outcomes) == [False] * 29 + [True]
    assert await stores[0].spend("ticket-other")
    remembered = await redis.ttl("civis-mcp:ticket:ticket-raced")
    assert TICKET_LIFETIME - 60 < remembered <= TICKET_LIFETIME


async def test_a_store_that_cannot_reach_redis_refuses_and_says_why() -> None:
    unreachable = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    with pytest.raises(ConfirmationUnavailable, match="could not reach Redis") as refused:
        await RedisConfirmationStore(unreachable).spend("ticket")
    assert "Reads still work" in str(refused.value) and "try the write again once Redis is back" in str(refused.value)
    await unreachable.aclose()


async def test_replicas_without_redis_refuse_confirmed_rounds_but_not_mid_call_questions(world: TwoUserSandbox) -> None:
    settings = Settings(api_key=SecretStr(ALICE_KEY), api_endpoint=world.sandbox.url)
    hosting = Hosting.create(HostedSettings(state_keys=(STATE_KEY,)))
    server = build_server(settings, hosting=hosting)
    tool, arguments = "imports_post_files_csv_runs", {"id": d.DEMO_CSV_IMPORT_ID}
    mark = world.requests.mark()
    async with Client(server, mode="2026-07-28", elicitation_callback=say_yes) as client:
        refused = await client.call_tool(tool, arguments)
    assert refused.is_error and "CIVIS_MCP_REDIS_URL" in text_of(refused)
    assert "Nothing was changed" in text_of(refused)
    assert world.requests.writes(mark) == []
    # An older client's yes comes mid-call, inside the replica holding its session: nothing to replay elsewhere.
    async with Client(server, mode="legacy", elicitation_callback=say_yes) as client:
        done = await client.call_tool(tool, arguments)
    assert not done.is_error, text_of(done)
    assert [w.method for w in world.requests.writes(mark)] == ["POST"]


# --- the rate limit ---------------------------------------------------------------------------------------------------


async def test_the_rate_limit_is_shared_by_replicas_through_redis_and_local_without_it(redis: Redis) -> None:
    now = [1_000_000.0]
    replicas = [RateLimiter(3, redis, clock=lambda: now[0]) for _ in range(2)]
    verdicts = [await replicas[index % 2].hit("alice") for index in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert 1 <= verdicts[3].retry_after <= 60
    assert (await replicas[0].hit("bob")).allowed  # each caller has their own count
    now[0] += 60
    assert (await replicas[1].hit("alice")).allowed  # a new minute
    down = RateLimiter(2, Redis.from_url(f"redis://127.0.0.1:{free_port()}/0"), clock=lambda: now[0])
    assert [(await down.hit("alice")).allowed for _ in range(3)] == [True, True, False]


# --- checking a caller's key ------------------------------------------------------------------------------------------


async def test_a_key_is_checked_once_and_the_outcome_kept_under_its_hash(world: TwoUserSandbox) -> None:
    verifier = KeyVerifier(world.sandbox.url, ttl=300)
    mark = world.requests.mark()
    try:
        assert [await verifier.user_of(ALICE_KEY) for _ in range(3)] == [d.DEMO_USER_ID] * 3
        assert await verifier.user_of(BOB_KEY) == d.DEMO_OUTSIDER_ID
        assert [await verifier.user_of(BAD_KEY) for _ in range(2)] == [None, None]
    finally:
        await verifier.aclose()
    checks = [(seen.path, seen.who) for seen in world.requests.since(mark)]
    assert checks == [("/users/me", "alice"), ("/users/me", "bob"), ("/users/me", "bad")]
    assert not any(key in repr(verifier.__dict__) for key in (ALICE_KEY, BOB_KEY, BAD_KEY))


async def test_requests_bringing_the_same_new_key_at_once_share_one_check(world: TwoUserSandbox) -> None:
    verifier = KeyVerifier(world.sandbox.url, ttl=300)
    mark = world.requests.mark()
    try:
        users: list[int | None] = []

        async def check() -> None:
            users.append(await verifier.user_of(BOB_KEY))

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(check)
    finally:
        await verifier.aclose()
    assert users == [d.DEMO_OUTSIDER_ID] * 20
    assert [(seen.path, seen.who) for seen in world.requests.since(mark)] == [("/users/me", "bob")]


async def test_a_key_check_without_an_answer_is_unavailable_not_rejected() -> None:
    verifier = KeyVerifier(f"http://127.0.0.1:{free_port()}/", ttl=300)
    with pytest.raises(KeyCheckUnavailable, match="did not answer"):
        await verifier.user_of(ALICE_KEY)
    await verifier.aclose()


def test_the_sandbox_answers_users_me_for_each_key_and_401_otherwise(world: TwoUserSandbox) -> None:
    for key, user in ((ALICE_KEY, d.DEMO_USER_ID), (BOB_KEY, d.DEMO_OUTSIDER_ID)):
        me = loopback.get(f"{world.sandbox.url}users/me", headers={"Authorization": basic(key)}, timeout=5)
        assert me.status_code == 200 and me.json()["id"] == user and me.json()["username"]
    denied = loopback.get(f"{world.sandbox.url}users/me", headers={"Authorization": basic(BAD_KEY)}, timeout=5)
    assert denied.status_code == 401
    assert parse_user_keys(["k1=1002", " k=2=1003 "]) == (("k1", 1002), ("k=2", 1003))
    with pytest.raises(ValueError, match="KEY=USER_ID"):
        parse_user_keys(["no-user"])
    with pytest.raises(ValueError, match="different from the others"):
        SandboxConfig(api_key="same", user_keys=(("same", 1002),))
    assert SandboxConfig.from_env({"CIVIS_SANDBOX_USER_KEYS": "a=1002,b=1003"}).user_keys == (("a", 1002), ("b", 1003))


# --- logs and metrics -------------------------------------------------------------------------------------------------


def test_log_lines_are_redacted_of_every_checked_caller_key(tmp_path: Path) -> None:
    caller_key = "canary-logged-" + "x7" * 10
    with as_caller(Caller(user_id=1, key=caller_key)):
        pass  # a request came and went: the process remembers the key for redaction
    handler = logging.FileHandler(tmp_path / "log")
    handler.addFilter(RedactingFilter(CALLER_KEYS))
    handler.setFormatter(JsonFormatter("r9", CALLER_KEYS))
    log = logging.getLogger("civis_mcp.test_hosted_parts")
    log.addHandler(handler)
    try:
        log.warning("upstream said %s and %s", caller_key, basic(caller_key))
        try:
            raise RuntimeError(f"a traceback quoting {caller_key}")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        handler.close()
    written = (tmp_path / "log").read_text()
    lines = [json.loads(line) for line in written.splitlines()]
    assert [line["replica"] for line in lines] == ["r9", "r9"]
    assert "a traceback quoting [REDACTED]" in lines[1]["error"]
    assert caller_key not in written and basic(caller_key).split()[1] not in written
    assert written.count("[REDACTED]") == 3


async def test_every_tool_call_records_its_duration_for_opentelemetry(world: TwoUserSandbox) -> None:
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    settings = Settings(api_key=SecretStr(ALICE_KEY), api_endpoint=world.sandbox.url)
    server = build_server(settings, hosting=Hosting.create(HostedSettings()))
    async with Client(server, mode="2026-07-28") as client:
        await client.call_tool("imports_get", {"id": d.DEMO_DBSYNC_IMPORT_ID})
        await client.call_tool("imports_get", {"id": 999_999})
    data = reader.get_metrics_data()
    assert data is not None
    points = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "mcp.server.operation.duration" and metric.unit == "s"
        for point in metric.data.data_points  # type: ignore[union-attr]
    ]
    tools = {(p.attributes["gen_ai.tool.name"], p.attributes.get("error.type")) for p in points}  # type: ignore[index]
    assert tools == {("imports_get", None), ("imports_get", "error")}
    assert sum(p.count for p in points) == 2  # type: ignore[attr-defined]
