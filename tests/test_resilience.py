"""The call deadline and the circuit breaker: a hung or failing Civis costs a bounded time, then answers at once.

What the groups prove:

* with a fake clock and a fake sleep (no real waiting): retries stop before the deadline; the breaker opens after the
  configured number of failed calls in a row (5xx answers, lost answers, connection failures), refuses calls at once
  with when to try again, lets a call through after its cool-down, re-opens at once when that call fails and closes
  on any answer below 500; 4xx answers and successes reset the count;
* through the SDK ``Client`` against a fake Civis on 127.0.0.1: a hung GET ends at the deadline saying so, a hung
  POST ends with "outcome unknown" and is not repeated, and once the breaker is open no request reaches Civis;
* the settings come from the environment and the command line, and bad values are refused with the name to fix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from mcp import Client
from pydantic import SecretStr

from civis_mcp import cli
from civis_mcp.api.client import CivisClient
from civis_mcp.api.errors import (
    CircuitOpenError,
    CivisAPIError,
    CivisTransportError,
    ConfigurationError,
    OutcomeUnknownError,
)
from civis_mcp.config import Settings
from civis_mcp.operations import OPERATIONS_BY_TOOL
from civis_mcp.presenting import explain
from civis_mcp.server import build_server
from tests.fake_civis import FakeCivis, Recorded, Reply, running_fake_civis

BASE = "http://127.0.0.1:9/"
KEY = "resilience-key-27182818"
GET = OPERATIONS_BY_TOOL["imports_get"]
POST_RUN = OPERATIONS_BY_TOOL["imports_post_runs"]


class FakeTime:
    """A clock that only moves when the client sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def make_client(timer: FakeTime, **overrides: Any) -> CivisClient:
    settings = Settings(api_key=SecretStr(KEY), api_endpoint=BASE, **overrides)
    return CivisClient(settings, sleep=timer.sleep, clock=timer.clock)


async def get(client: CivisClient, import_id: int = 7) -> Any:
    return await client.call(GET, GET.params.model_validate({"id": import_id}))


# --- the deadline, with a fake clock ----------------------------------------------------------------------------------


async def test_retries_stop_before_the_deadline() -> None:
    timer = FakeTime()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/imports/7").mock(return_value=httpx.Response(503, headers={"Retry-After": "10"}))
        async with make_client(timer, call_deadline=25.0, retry_budget=1000.0, max_attempts=50) as client:
            with pytest.raises(CivisAPIError) as caught:
                await get(client)
    assert caught.value.status_code == 503
    assert timer.waits == [10.0, 10.0]  # at 0, 10 and 20 s; a third wait would end past 25 s
    assert route.call_count == 3


@pytest.mark.parametrize("header", ["\u00b2", "\u0663", "9" * 5000, "Mon, 99 Foo 99999 99:99:99 GMT"])
async def test_a_retry_after_in_odd_digits_is_ignored_not_a_crash(header: str) -> None:
    timer = FakeTime()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/imports/7").mock(
            side_effect=[httpx.Response(503, headers=[(b"Retry-After", header.encode())]), httpx.Response(200)]
        )
        async with make_client(timer) as client:
            await get(client)
    assert route.call_count == 2 and len(timer.waits) == 1 and timer.waits[0] <= 0.5  # the ordinary backoff


async def test_the_default_deadline_is_a_minute() -> None:
    assert Settings().call_deadline == 60.0
    assert Settings.from_env({}).call_deadline == 60.0


# --- the breaker, with a fake clock -----------------------------------------------------------------------------------


async def test_the_breaker_opens_after_failed_calls_in_a_row_and_answers_at_once() -> None:
    timer = FakeTime()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/imports/7").mock(return_value=httpx.Response(500))
        async with make_client(timer, breaker_failures=3, breaker_cooldown=30.0) as client:
            for _ in range(3):
                with pytest.raises(CivisAPIError):
                    await get(client)
            with pytest.raises(CircuitOpenError) as caught:
                await get(client)
    assert route.call_count == 3  # the fourth call sent nothing
    message = str(caught.value)
    assert message.startswith(
        "imports_get was not sent: the last 3 calls to Civis failed in a row (the last: HTTP 500)"
    )
    assert "pauses its calls to Civis for 30 s" in message
    assert "Try again in 30 s (after " in explain(caught.value, str)  # what to do, in the present step
    assert "nothing changed" in message
    assert caught.value.retry_in == pytest.approx(30.0)


async def test_after_the_cool_down_one_failure_reopens_and_one_answer_closes() -> None:
    timer = FakeTime()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/imports/7").mock(
            side_effect=[httpx.Response(500), httpx.Response(500), httpx.Response(500), httpx.Response(404)]
            + [httpx.Response(200, json={"id": 7})] * 3
        )
        async with make_client(timer, breaker_failures=2, breaker_cooldown=30.0) as client:
            for _ in range(2):
                with pytest.raises(CivisAPIError):
                    await get(client)
            timer.now += 29.0
            with pytest.raises(CircuitOpenError) as paused:
                await get(client)
            assert "Try again in 1 s" in explain(paused.value, str)
            timer.now += 1.0
            with pytest.raises(CivisAPIError):  # the cool-down is over: this one is sent, and fails...
                await get(client)
            with pytest.raises(CircuitOpenError):  # ...so the breaker opens again at once
                await get(client)
            timer.now += 30.0
            with pytest.raises(CivisAPIError) as not_found:  # a 404 is an answer: Civis is back
                await get(client)
            assert not_found.value.status_code == 404
            for _ in range(3):
                assert (await get(client)).data == {"id": 7}
    assert route.call_count == 7


async def test_answers_below_500_reset_the_count() -> None:
    timer = FakeTime()
    replies = [httpx.Response(502)] * 2 + [httpx.Response(404)] + [httpx.Response(502)] * 2 + [httpx.Response(200)]
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/imports/7").mock(side_effect=replies)
        async with make_client(timer, breaker_failures=3, max_attempts=1) as client:
            for _ in range(5):
                with pytest.raises(CivisAPIError):
                    await get(client)
            await get(client)  # never three failures in a row, so never refused
    assert route.call_count == 6


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.ConnectError("refused"), "could not connect"),
        (httpx.ReadTimeout("slow"), "the answer was lost (ReadTimeout)"),
        (httpx.RemoteProtocolError("cut"), "the answer was lost (RemoteProtocolError)"),
    ],
)
async def test_transport_failures_count_and_are_named(failure: Exception, reason: str) -> None:
    timer = FakeTime()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/imports/7").mock(side_effect=failure)
        async with make_client(timer, breaker_failures=2, max_attempts=2) as client:
            for _ in range(2):
                with pytest.raises(CivisTransportError):
                    await get(client)
            with pytest.raises(CircuitOpenError) as caught:
                await get(client)
    assert route.call_count == 4  # two calls of two attempts each, then nothing
    assert reason in str(caught.value)


async def test_a_write_whose_answer_is_lost_keeps_its_wording_and_counts() -> None:
    timer = FakeTime()
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("/imports/7/runs").mock(return_value=httpx.Response(502))
        async with make_client(timer, breaker_failures=1) as client:
            with pytest.raises(OutcomeUnknownError, match="outcome is unknown"):
                await client.call(POST_RUN, POST_RUN.params.model_validate({"id": 7}))
            with pytest.raises(CircuitOpenError, match="imports_post_runs was not sent"):
                await client.call(POST_RUN, POST_RUN.params.model_validate({"id": 7}))
    assert route.call_count == 1


# --- through the SDK Client, against a fake Civis that hangs or fails -------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeCivis]:
    with running_fake_civis() as server:
        yield server


@pytest.fixture
def released() -> Iterator[threading.Event]:
    """Set at the end of a test, so that a hanging handler thread of the fake Civis ends with it."""
    event = threading.Event()
    yield event
    event.set()


def hang(released: threading.Event) -> Any:
    def reply(_: Recorded) -> Reply:
        released.wait(10)
        return Reply(200, {"id": 7})

    return reply


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if getattr(block, "type", "") == "text")


def connect(fake: FakeCivis, **overrides: Any) -> Client:
    return Client(build_server(Settings(api_key=SecretStr(KEY), api_endpoint=fake.url, **overrides)))


async def test_a_hung_read_ends_at_the_deadline(fake: FakeCivis, released: threading.Event) -> None:
    fake.route("GET", "/imports/7", hang(released))
    async with connect(fake, call_deadline=0.3) as client:
        began = time.monotonic()
        result = await client.call_tool("imports_get", {"id": 7})
        elapsed = time.monotonic() - began
    text = text_of(result)
    assert result.is_error
    assert "imports_get failed after 1 attempt(s): no answer came within the call deadline of 0.3 s" in text
    assert "CIVIS_MCP_CALL_DEADLINE" in text and "nothing changed" in text
    assert elapsed < 8  # far from the 10 s the handler would hang (and from minutes without a deadline)


async def test_a_hung_write_ends_at_the_deadline_with_outcome_unknown_and_is_not_repeated(
    fake: FakeCivis, released: threading.Event
) -> None:
    fake.route("GET", "/imports/7", Reply(200, {"id": 7, "name": "plain", "isOutbound": False, "syncs": []}))
    fake.route("POST", "/imports/7/runs", hang(released))
    async with connect(fake, call_deadline=0.3) as client:
        result = await client.call_tool("imports_post_runs", {"id": 7})
    text = text_of(result)
    assert result.is_error
    assert "imports_post_runs was sent, but no answer came within the call deadline of 0.3 s" in text
    assert "outcome is unknown" in text and "imports_list_runs" in text
    assert [r.method for r in fake.requests] == ["GET", "POST"]


async def test_once_the_breaker_is_open_no_request_reaches_civis(fake: FakeCivis) -> None:
    fake.route("GET", "/imports/7", Reply(500, {"errorDescription": "down"}))
    async with connect(fake, breaker_failures=3, breaker_cooldown=30.0) as client:
        failed = [await client.call_tool("imports_get", {"id": 7}) for _ in range(3)]
        assert len(fake.requests) == 3
        refused = await client.call_tool("imports_get", {"id": 7})
        other = await client.call_tool("imports_list", {})
    assert all(result.is_error and "HTTP 500" in text_of(result) for result in failed)
    for result, tool in ((refused, "imports_get"), (other, "imports_list")):
        assert result.is_error
        assert text_of(result).startswith(f"{tool} was not sent: the last 3 calls to Civis failed in a row")
        assert "Try again in" in text_of(result)
    assert len(fake.requests) == 3


# --- settings ---------------------------------------------------------------------------------------------------------


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CIVIS_MCP_CALL_DEADLINE": "12.5",
            "CIVIS_MCP_BREAKER_FAILURES": "7",
            "CIVIS_MCP_BREAKER_COOLDOWN": "45",
        }
    )
    assert (settings.call_deadline, settings.breaker_failures, settings.breaker_cooldown) == (12.5, 7, 45.0)
    defaults = Settings.from_env({})
    assert (defaults.breaker_failures, defaults.breaker_cooldown) == (5, 30.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CIVIS_MCP_CALL_DEADLINE", "0"),
        ("CIVIS_MCP_CALL_DEADLINE", "nan"),
        ("CIVIS_MCP_CALL_DEADLINE", "inf"),
        ("CIVIS_MCP_BREAKER_FAILURES", "0"),
        ("CIVIS_MCP_BREAKER_FAILURES", "2.5"),
        ("CIVIS_MCP_BREAKER_COOLDOWN", "-1"),
    ],
)
def test_bad_settings_in_the_environment_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^{name} must be .*; got '{value}'.$"):
        Settings.from_env({name: value})


def test_command_line_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVIS_MCP_CALL_DEADLINE", "90")
    args = cli._parser().parse_args(
        ["serve", "--call-deadline", "20", "--breaker-failures", "2", "--breaker-cooldown", "5"]
    )
    settings = cli._settings_from(args)
    assert (settings.call_deadline, settings.breaker_failures, settings.breaker_cooldown) == (20.0, 2, 5.0)


@pytest.mark.parametrize("flag", ["--call-deadline", "--breaker-failures", "--breaker-cooldown"])
def test_a_bad_flag_value_stops_the_server_with_its_name(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", flag, "0"]) == 2
    assert flag in capsys.readouterr().err


# --- one deadline for all the calls of one tool call --------------------------------------------------------------


async def test_calls_inside_one_tool_call_budget_share_its_deadline() -> None:
    """Reads of 15 s each: one at a time, each gets its own 25 s; inside one tool call's budget, the third finds the
    25 s spent (after 30 s) and is not sent."""
    timer = FakeTime()

    async def slow(request: httpx.Request) -> httpx.Response:
        timer.now += 15.0  # each answer takes 15 s of the (fake) clock
        return httpx.Response(200, json={"id": 7})

    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/imports/7").mock(side_effect=slow)
        async with make_client(timer, call_deadline=25.0) as client:
            for _ in range(3):
                await get(client)
            with client.tool_call_budget():
                await get(client)
                await get(client)
                with pytest.raises(CivisTransportError, match="call deadline of 25 s"):
                    await get(client)
    assert route.call_count == 5  # the last one was never sent
