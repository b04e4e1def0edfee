"""Helpers for the hosted-mode tests (no tests here): a sandbox with two users' keys that records which key each
request carried, the deploy kit's local stack (Redis, replicas, nginx) started for real, and MCP clients that send
a key.

Every process is started on 127.0.0.1 (or ::1) and stopped by the fixture that started it. The keys are canaries:
random per run, so a test can look for them in every log.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from civis_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from civis_mcp.sandbox import demo as d
from tests import loopback
from tests.workflow_support import Recording

ROOT = Path(__file__).resolve().parent.parent
ALICE_KEY = f"canary-alice-{secrets.token_hex(12)}"
"""The main demo user (1001): owns most demo objects."""
BOB_KEY = f"canary-bob-{secrets.token_hex(12)}"
"""The outsider (1003): owns one private import, sees none of Alice's."""
BAD_KEY = f"canary-bad-{secrets.token_hex(12)}"
CANARIES = (ALICE_KEY, BOB_KEY, BAD_KEY)
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def key_forms(key: str) -> list[str]:
    """Every form a key could take in a log: raw, and the base64 of the Basic credentials (padded or not)."""
    encoded = base64.b64encode(f"{key}:".encode()).decode()
    return [key, encoded, encoded.rstrip("="), base64.b64encode(key.encode()).decode().rstrip("=")]


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


# --- the sandbox, recording whose key each request carried ---------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    who: str
    """alice, bob, bad, none or other: which key the request's Authorization header carried."""


Requests = Recording[Seen]


_WHO = {basic(ALICE_KEY): "alice", basic(BOB_KEY): "bob", basic(BAD_KEY): "bad"}


class _Recorder:
    def __init__(self, app: ASGIApp, requests: Requests) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = next((v.decode() for k, v in scope["headers"] if k.lower() == b"authorization"), None)
            who = "none" if header is None else _WHO.get(header, "other")
            self.requests.add(Seen(str(scope["method"]), str(scope["path"]).rstrip("/") or "/", who))
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class TwoUserSandbox:
    sandbox: RunningSandbox
    requests: Requests


@contextmanager
def two_user_sandbox() -> Iterator[TwoUserSandbox]:
    requests = Requests()
    config = SandboxConfig(
        api_key=ALICE_KEY, caller_id=d.DEMO_USER_ID, user_keys=((BOB_KEY, d.DEMO_OUTSIDER_ID),), run_step_seconds=0.05
    )
    with running_sandbox(config, middleware=[Middleware(_Recorder, requests=requests)]) as running:
        yield TwoUserSandbox(running, requests)


# --- the deploy kit's local stack ----------------------------------------------------------------------------------


@dataclass
class Stack:
    info: dict[str, Any]
    directory: Path
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def base(self) -> str:
        return self.url.removesuffix("/mcp")

    def replica_url(self, name: str) -> str:
        port = next(r["port"] for r in self.info["replicas"] if r["name"] == name)
        return f"http://127.0.0.1:{port}/mcp"

    def stop_part(self, pid: int) -> None:
        """Stop one part (a replica, Redis) mid-test, and wait until it is gone."""
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            # The launcher reaps its children; until it does, a zombie still answers kill(pid, 0).
            if _is_zombie(pid):
                return
            time.sleep(0.05)
        raise AssertionError(f"process {pid} did not stop")

    def logs(self) -> dict[str, str]:
        """Every log file of the stack: each replica, Redis, nginx's access and error logs, the launchers'."""
        return {
            str(path.relative_to(self.directory)): path.read_text(errors="replace")
            for path in self.directory.rglob("*.log")
        }


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


@contextmanager
def local_stack(
    endpoint: str, directory: Path, *, replicas: int = 3, redis: bool = True, env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """``deploy/local_stack.py`` in a subprocess, against ``endpoint``; stopped (with all its parts) at the end."""
    subprocess.run(["bash", str(ROOT / "tests/services/ensure_hosted.sh")], check=True)
    argv = [sys.executable, str(ROOT / "deploy/local_stack.py"), "--replicas", str(replicas), "--dir", str(directory)]
    if not redis:
        argv.append("--no-redis")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIS_")}
    child_env.update(CIVIS_API_ENDPOINT=endpoint, PYTHONPATH=str(ROOT), **(env or {}))
    process = subprocess.Popen(argv, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _first_line(process, 90)
        yield Stack(json.loads(line), directory, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline() if process.stdout else ""))
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    if not box or not box[0].strip():
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"the local stack did not start:\n{err[-3000:]}")
    return box[0]


# --- clients --------------------------------------------------------------------------------------------------------


def http_client(url: str, key: str | None, **kwargs: Any) -> Client:
    """An SDK client over streamable HTTP that sends ``key`` as HTTP Basic."""
    headers = {"Authorization": basic(key)} if key is not None else None
    return Client(streamable_http_client(url, http_client=create_mcp_http_client(headers=headers)), **kwargs)


async def say_yes(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


YES = {"confirm": types.ElicitResult(action="accept", content={"confirm": True})}


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def initialize(url: str, headers: dict[str, str]) -> httpx.Response:
    """A raw 2025 ``initialize`` POST (what a browser page would send), for the checks before MCP."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    return loopback.post(
        url,
        json=body,
        headers={"Accept": "application/json, text/event-stream", **headers},
        timeout=10,
    )


@contextmanager
def serve(
    args: list[str],
    env: dict[str, str] | None = None,
    *,
    probe: str | None = None,
    command: str = "serve",
    log: Path | None = None,
) -> Iterator[subprocess.Popen[str]]:
    """``civis-mcp COMMAND`` (``serve`` unless told) in a subprocess; waits for ``probe`` (a /healthz URL) to answer.
    Its stderr (its log) goes to the file ``log`` when given, readable while it runs; else to a pipe."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIS_")}
    child_env.update(PYTHONPATH=str(ROOT), **(env or {}))
    with contextlib.ExitStack() as files:
        stderr: Any = subprocess.PIPE if log is None else files.enter_context(log.open("w", encoding="utf-8"))
        process = subprocess.Popen(
            [sys.executable, "-m", "civis_mcp", command, *args],
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    try:
        if probe is not None:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    said = process.stderr.read() if process.stderr else log.read_text() if log else ""
                    raise AssertionError(f"civis-mcp {command} exited: {said}")
                try:
                    if loopback.get(probe, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"civis-mcp {command} did not start")
                time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def redis_server(directory: Path) -> Iterator[int]:
    """A redis-server of its own on 127.0.0.1; yields its port."""
    subprocess.run(["bash", str(ROOT / "tests/services/ensure_hosted.sh")], check=True)
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
