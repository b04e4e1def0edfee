"""Helpers for the workflow tests (no tests here): a sandbox that records every HTTP request it serves, an in-process
MCP client of civis-mcp pointed at it, fence parsing, file uploads and long logs.

The recorder is a middleware of the sandbox's ASGI app (``create_app``'s hook), so it sees every request that reaches
the sandbox, whether it came from an in-process civis-mcp or from a ``civis-mcp serve`` subprocess: tests use it to
count the requests a workflow made and to prove that no write request was sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from mcp import Client, types
from mcp_types import CallToolResult
from pydantic import SecretStr
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from civis_mcp.config import Settings
from civis_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from civis_mcp.server import build_server
from tests import loopback

DEFAULT_BUDGET = 20_000
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FENCE = re.compile(r"<untrusted-(?P<token>[0-9a-f]{12})>(?P<body>.*?)</untrusted-(?P=token)>", re.DOTALL)


# --- the recording sandbox ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One request the sandbox served."""

    method: str
    path: str
    query: str
    at: float


class _Served(Protocol):
    method: str
    path: str


_S = TypeVar("_S", bound=_Served)


@dataclass
class Recording(Generic[_S]):
    """Every request a recorded sandbox served, in arrival order (appended from the server's thread); what is kept
    of each request is the recorder's choice (``Seen`` here; the hosted tests also keep whose key it carried)."""

    seen: list[_S] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: _S) -> None:
        with self._lock:
            self.seen.append(item)

    def mark(self) -> int:
        """A position; ``since(mark)`` is what came after it."""
        with self._lock:
            return len(self.seen)

    def since(self, mark: int = 0) -> list[_S]:
        with self._lock:
            return [item for item in self.seen[mark:] if item.path != "/health"]

    def writes(self, mark: int = 0) -> list[_S]:
        return [item for item in self.since(mark) if item.method in WRITE_VERBS]

    def to(self, prefix: str, mark: int = 0) -> list[_S]:
        return [item for item in self.since(mark) if item.path.startswith(prefix)]


Requests = Recording[Seen]


class _Recorder:
    def __init__(self, app: ASGIApp, requests: Requests) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests.add(
                Seen(
                    str(scope["method"]),
                    str(scope["path"]).rstrip("/") or "/",
                    bytes(scope.get("query_string", b"")).decode(),
                    time.monotonic(),
                )
            )
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class Recorded:
    sandbox: RunningSandbox
    requests: Requests


@contextmanager
def recorded_sandbox(run_step_seconds: float = 0.01, *, manual_clock: bool = False) -> Iterator[Recorded]:
    """A sandbox on 127.0.0.1 whose every served request is recorded. With ``manual_clock`` its runs move only when
    the test calls ``advance`` (see ``advance_runs``)."""
    requests = Requests()
    config = SandboxConfig(run_step_seconds=run_step_seconds, manual_clock=manual_clock)
    with running_sandbox(config, middleware=[Middleware(_Recorder, requests=requests)], wait_for_stop=False) as running:
        yield Recorded(running, requests)


async def advance_runs(sandbox: RunningSandbox, steps: int = 2) -> None:
    """Manual clock: move every run of ``sandbox`` ``steps`` steps (2: a queued run is started and its work done)."""
    await sandbox.state.clock.advance(steps)


# --- MCP clients ------------------------------------------------------------------------------------------------------


async def accept_everything(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    """An elicitation callback that says yes to every question (a careless human)."""
    return types.ElicitResult(action="accept", content={"confirm": True})


FAST_FIRST_POLL = 0.02
"""Seconds: the tests' ``wait_first_poll``, so a wait sees a test's short sandbox run end as soon as it does."""


def client(
    sandbox: RunningSandbox,
    *,
    budget: int | None = None,
    elicitation: Any = accept_everything,
    wait_first_poll: float = FAST_FIRST_POLL,
) -> Client:
    """An in-process MCP client of civis-mcp configured for the sandbox; it says yes to every confirmation unless
    told otherwise (the workflow tests are about workflows; the guard has its own tests)."""
    settings = Settings(api_key=SecretStr(sandbox.api_key), api_endpoint=sandbox.url, wait_first_poll=wait_first_poll)
    if budget is not None:  # a copy is not validated: budgets below an operator's minimum cut a few items for tests
        settings = settings.model_copy(update={"result_budget": budget})
    return Client(build_server(settings), elicitation_callback=elicitation)


def text_of(result: CallToolResult) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def call(mcp: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must succeed; its structured result."""
    result = await mcp.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {text_of(result)}"
    assert isinstance(result.structured_content, dict), text_of(result)
    return result.structured_content


async def call_error(mcp: Client, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail; the error text."""
    result = await mcp.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {text_of(result)}"
    return text_of(result)


def json_size(value: Any) -> int:
    """Size as the budget counts it: compact JSON characters."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


# --- fences -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fenced:
    inside: list[str]
    """The bodies of the fences (the header sentence's "<m> and </m>" span excluded)."""
    outside: str
    """Everything not inside a fence: the server's own words."""
    tokens: list[str]


def split_fences(text: str) -> Fenced:
    """Split a tool result text into fenced (upstream) bodies and the server's own words around them.

    A block fence starts with a sentence naming its markers ("... between the markers <untrusted-T> and
    </untrusted-T>. ...") and then holds the body between the same markers; the sentence's span " and " is not a
    body.
    """
    inside: list[str] = []
    tokens: list[str] = []
    outside: list[str] = []
    position = 0
    for match in _FENCE.finditer(text):
        outside.append(text[position : match.start()])
        position = match.end()
        if match.group("body") == " and ":
            continue
        inside.append(match.group("body"))
        tokens.append(match.group("token"))
    outside.append(text[position:])
    return Fenced(inside, "".join(outside), tokens)


# --- files, imports, runs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingFile:
    """A Civis file made by a file import and not uploaded yet."""

    file_id: int
    file_import_id: int
    upload_uri: str


async def new_file(mcp: Client, name: str) -> PendingFile:
    """A Civis file with no content yet, made the way Civis makes one: ``POST /imports/files``."""
    made = await call(
        mcp,
        "imports_post_files",
        schema="scratch",
        name=name,
        remote_host_id=d.DEMO_REDSHIFT_HOST_ID,
        credential_id=d.DEMO_REDSHIFT_CREDENTIAL_ID,
    )
    match = re.search(r"/sandbox-uploads/(\d+)/", made["upload_uri"])
    assert match is not None, made
    return PendingFile(int(match.group(1)), made["id"], made["upload_uri"])


def upload(pending: PendingFile, content: bytes) -> None:
    response = loopback.put(pending.upload_uri, content=content, timeout=10)
    assert response.status_code == 200, response.text


async def uploaded_file(mcp: Client, name: str, content: bytes) -> int:
    pending = await new_file(mcp, name)
    upload(pending, content)
    return pending.file_id


def csv_import_arguments(
    file_id: int, schema: str, table: str, *, primary_keys: list[str] | None = None, **settings: Any
) -> dict[str, Any]:
    """Arguments of ``imports_post_files_csv`` for one file into ``schema.table`` (header row unless told)."""
    destination: dict[str, Any] = {
        "schema": schema,
        "table": table,
        "remote_host_id": d.DEMO_REDSHIFT_HOST_ID,
        "credential_id": d.DEMO_REDSHIFT_CREDENTIAL_ID,
    }
    if primary_keys is not None:
        destination["primary_keys"] = primary_keys
    return {
        "source": {"file_ids": [file_id]},
        "destination": destination,
        "first_row_is_header": settings.pop("first_row_is_header", True),
        **settings,
    }


async def create_csv_import(mcp: Client, file_id: int, schema: str, table: str, **settings: Any) -> int:
    made = await call(mcp, "imports_post_files_csv", **csv_import_arguments(file_id, schema, table, **settings))
    return int(made["id"])


async def start_csv_run(mcp: Client, csv_import_id: int) -> int:
    run = await call(mcp, "imports_post_files_csv_runs", id=csv_import_id)
    return int(run["id"])


async def wait_until_ended(mcp: Client, import_id: int, run_id: int, timeout: float = 30.0) -> dict[str, Any]:
    """The run's final state, through ``imports_wait_for_run``."""
    waited = await call(mcp, "imports_wait_for_run", import_id=import_id, run_id=run_id, timeout_seconds=timeout)
    assert waited["finished"], waited
    return waited


def filler(index: int) -> tuple[str, str]:
    """Level and message of filler log line ``index``: debug and info alternating, a warn every 1,000th line."""
    level = "warn" if index % 1000 == 999 else ("debug" if index % 2 else "info")
    return level, f"filler line {index:05d} " + "x" * 60


def append_log_lines(sandbox: RunningSandbox, run_id: int, count: int) -> None:
    """Append ``count`` filler lines to a run's log, in one transaction (the sandbox's store is in process)."""
    store = sandbox.state.store
    with store.transaction():
        for index in range(count):
            level, message = filler(index)
            store.add_log(run_id, level, message)


def run_log(sandbox: RunningSandbox, run_id: int) -> list[Any]:
    """Every line of a run's log, in id order, straight from the sandbox's store."""
    return sandbox.state.store.list_logs(run_id, last_id=0, limit=10**9)
