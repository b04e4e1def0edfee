"""The sandbox's seams for tests: in process over httpx's ASGI transport, a manual run clock, and the middleware hook
of ``create_app`` / ``running_sandbox`` (what ``workflow_support.recorded_sandbox`` records requests with)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from civis_mcp.api.wire import snake_keys
from civis_mcp.sandbox import SandboxConfig, in_process_sandbox, running_sandbox
from civis_mcp.sandbox import demo as d
from civis_mcp.sandbox.server import IN_PROCESS_URL
from tests import loopback
from tests.test_sandbox_support import http

RUNS = f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}/runs"


class _Seen:
    """A middleware that notes each request's method, path and the status it was answered with."""

    def __init__(self, app: ASGIApp, seen: list[tuple[str, str, int]]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def noting(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.seen.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, noting)


def _data(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return snake_keys(response.json()) if response.content else None


async def _state(api: httpx.AsyncClient, run_id: int) -> str:
    return str(_data(await api.get(f"{RUNS}/{run_id}"))["state"])


async def test_in_process_runs_move_only_when_the_clock_is_advanced() -> None:
    async with (
        in_process_sandbox(SandboxConfig(manual_clock=True)) as sandbox,
        httpx.AsyncClient(transport=sandbox.transport, base_url=sandbox.url, auth=(sandbox.api_key, "")) as api,
    ):
        assert sandbox.url == IN_PROCESS_URL and sandbox.transport is not None
        run = _data(await api.post(RUNS))
        # However many requests come, a queued run stays queued until the test moves the clock.
        for _ in range(5):
            assert await _state(api, run["id"]) == "queued"
        await sandbox.state.clock.advance()
        assert await _state(api, run["id"]) == "running"
        await sandbox.state.clock.advance()
        finished = _data(await api.get(f"{RUNS}/{run['id']}"))
        assert finished["state"] == "succeeded", finished
        assert sandbox.warehouse_rows("demo", "people") == 50  # the load really ran, into the in-process warehouse
        messages = [line["message"] for line in _data(await api.get(f"{RUNS}/{run['id']}/logs?last_id=0"))]
        assert any(message.startswith("Run succeeded: loaded 50 rows") for message in messages), messages


async def test_advancing_several_steps_at_once_and_with_no_runs() -> None:
    async with (
        in_process_sandbox(SandboxConfig(manual_clock=True)) as sandbox,
        httpx.AsyncClient(transport=sandbox.transport, base_url=sandbox.url, auth=(sandbox.api_key, "")) as api,
    ):
        await sandbox.state.clock.advance()  # nothing to move: returns at once
        first, second = _data(await api.post(RUNS)), _data(await api.post(RUNS))
        await sandbox.state.clock.advance(2)
        assert [await _state(api, run["id"]) for run in (first, second)] == ["succeeded", "succeeded"]


async def test_in_process_cancel_of_a_running_run_before_its_work() -> None:
    async with (
        in_process_sandbox(SandboxConfig(manual_clock=True)) as sandbox,
        httpx.AsyncClient(transport=sandbox.transport, base_url=sandbox.url, auth=(sandbox.api_key, "")) as api,
    ):
        run = _data(await api.post(RUNS))
        await sandbox.state.clock.advance()
        assert (await api.delete(f"{RUNS}/{run['id']}")).status_code == 202
        assert await _state(api, run["id"]) == "cancelled"
        await sandbox.state.clock.advance()  # the cancelled run's task ends without doing the work
        assert await _state(api, run["id"]) == "cancelled"


async def test_a_manual_clock_is_advanced_from_another_thread_s_loop() -> None:
    # A sandbox served in a thread runs its clock on that thread's loop; advance() from the test's loop gets there.
    with running_sandbox(SandboxConfig(manual_clock=True)) as sandbox, http(sandbox) as api:
        run = _data(api.post(RUNS))
        assert _data(api.get(f"{RUNS}/{run['id']}"))["state"] == "queued"
        await sandbox.state.clock.advance(2)
        assert _data(api.get(f"{RUNS}/{run['id']}"))["state"] == "succeeded"


async def test_advance_refuses_a_real_time_clock() -> None:
    async with in_process_sandbox(SandboxConfig(run_step_seconds=0)) as sandbox:
        with pytest.raises(RuntimeError, match="manual_clock=True"):
            await sandbox.state.clock.advance()


async def test_the_middleware_hook_sees_every_request_before_the_gate() -> None:
    seen: list[tuple[str, str, int]] = []
    async with in_process_sandbox(middleware=[Middleware(_Seen, seen=seen)]) as sandbox:
        async with httpx.AsyncClient(transport=sandbox.transport, base_url=sandbox.url) as anonymous:
            assert (await anonymous.get("imports")).status_code == 401
        async with httpx.AsyncClient(
            transport=sandbox.transport, base_url=sandbox.url, auth=(sandbox.api_key, "")
        ) as api:
            assert (await api.get("imports/")).status_code == 200
    # Outside the Gate: the refused request is seen too, and the path as sent (before trailing-slash folding).
    assert seen == [("GET", "/imports", 401), ("GET", "/imports/", 200)]


def test_the_middleware_hook_of_a_threaded_sandbox() -> None:
    seen: list[tuple[str, str, int]] = []
    with running_sandbox(middleware=[Middleware(_Seen, seen=seen)]) as sandbox, http(sandbox) as api:
        assert api.get(f"imports/files/csv/{d.DEMO_CSV_IMPORT_ID}").status_code == 200
    assert ("GET", f"/imports/files/csv/{d.DEMO_CSV_IMPORT_ID}", 200) in seen
    assert all(path == "/health" for _, path, _ in seen if path != f"/imports/files/csv/{d.DEMO_CSV_IMPORT_ID}")


async def test_in_process_state_is_closed_when_the_block_ends() -> None:
    async with (
        in_process_sandbox(SandboxConfig(manual_clock=True)) as sandbox,
        httpx.AsyncClient(transport=sandbox.transport, base_url=sandbox.url, auth=(sandbox.api_key, "")) as api,
    ):
        _data(await api.post(RUNS))
    # The lifespan ran its shutdown: the clock stopped driving the queued run and the sandbox is stopping.
    assert sandbox.state.stopping.is_set()
    await asyncio.sleep(0)
    assert not sandbox.state.clock._tasks


def test_a_sync_test_advances_a_threaded_sandbox_s_clock() -> None:
    with running_sandbox(SandboxConfig(manual_clock=True)) as sandbox, http(sandbox) as api:
        run = _data(api.post(RUNS))
        sandbox.state.clock.advance_from_thread()
        assert _data(api.get(f"{RUNS}/{run['id']}"))["state"] == "running"
        sandbox.state.clock.advance_from_thread()
        assert _data(api.get(f"{RUNS}/{run['id']}"))["state"] == "succeeded"


@pytest.mark.parametrize("wait_for_stop", [True, False])
def test_a_sandbox_stops_when_its_block_ends_waited_for_or_not(wait_for_stop: bool) -> None:
    """Waited for, it has stopped when the block ends; not waited for, it stops on its own right after: its thread
    ends and its port is closed."""
    with running_sandbox(SandboxConfig(), wait_for_stop=wait_for_stop) as sandbox, http(sandbox) as api:
        assert api.get("health").status_code == 200
        port = int(sandbox.url.rstrip("/").rsplit(":", 1)[1])
        (thread,) = [t for t in threading.enumerate() if t.name == f"civis-sandbox-{port}"]
    thread.join(10)
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        loopback.get(f"{sandbox.url}health", timeout=2)
    assert sandbox.state.stopping.is_set()
