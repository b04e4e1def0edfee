"""The HTTP servers the benchmarks call, each in its own process so that they do not share a GIL with what is measured.

    python benchmarks/upstream.py sandbox [--log-run RUN_ID --log-lines N]
    python benchmarks/upstream.py trivial --body-file PATH

``sandbox`` serves the civis-mcp sandbox (demo data, no rate limit to speak of); with ``--log-run`` it first adds N
log lines to that run. ``trivial`` answers every request at once with the same JSON body: the floor of an HTTP call.

Both count what they accept: TCP connections (at the protocol, each accepted socket once) and HTTP requests. On
start the process prints one JSON line ``{"url": ..., "api_key": ...}``; then it answers commands on stdin, one a
line, with one JSON line each: ``stats`` (``{"connections": N, "requests": N}`` since the last reset), ``reset``.
It stops when stdin closes. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

HOST = "127.0.0.1"


class Counters:
    connections = 0
    requests = 0
    lock = threading.Lock()


class CountingProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, counting each accepted connection."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        with Counters.lock:
            Counters.connections += 1
        super().connection_made(transport)  # type: ignore[arg-type]


def counting(app: Any) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] != "/health":
            with Counters.lock:
                Counters.requests += 1
        await app(scope, receive, send)

    return wrapped


def trivial_app(body: bytes) -> Any:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        more = True
        while more:  # drain the request body
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def add_log_lines(state: Any, run_id: int, count: int) -> int:
    """Append ``count`` lines to a run: progress lines, then the run's own error lines again at the end."""
    store = state.store
    own = store.list_logs(run_id, last_id=0, limit=10_000)
    if not own:
        raise SystemExit(f"run {run_id} has no log lines to copy; pick a run that failed with a logged error.")
    tail = [line for line in own if line.level in ("error", "fatal")] or own[-1:]
    with store.transaction():
        for number in range(count - len(tail)):
            store.add_log(
                run_id,
                "info",
                f"Loaded batch {number + 1}: 500 rows parsed, 500 rows staged, 0 rejected "
                f"(elapsed {number * 0.01:.2f}s)",
            )
        for line in tail:
            store.add_log(run_id, line.level, line.message)
    return len(own) + count


def serve(app: Any, lifespan: str) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the sandbox does: no Nagle delay
    sock.bind((HOST, 0))
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    config = uvicorn.Config(
        counting(app),
        http=CountingProtocol,
        log_config=None,
        access_log=False,
        lifespan=lifespan,
        timeout_keep_alive=5,
        backlog=4096,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}health", timeout=1):
                break
        except OSError:
            time.sleep(0.02)
    else:
        raise SystemExit(f"upstream at {url} did not start")
    return url, server, thread


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["sandbox", "trivial"])
    parser.add_argument("--log-run", type=int)
    parser.add_argument("--log-lines", type=int, default=200_000)
    parser.add_argument("--body-file", type=Path)
    args = parser.parse_args()
    info: dict[str, Any] = {}
    if args.kind == "sandbox":
        from civis_mcp.sandbox import SandboxConfig, create_app
        from civis_mcp.sandbox.state import Sandbox

        config = SandboxConfig(rate_limit_per_minute=1_000_000_000)
        state = Sandbox(config)
        if args.log_run is not None:
            started = time.perf_counter()
            info["log_lines"] = add_log_lines(state, args.log_run, args.log_lines)
            info["seed_seconds"] = round(time.perf_counter() - started, 2)
        url, server, thread = serve(create_app(config, sandbox=state), "on")
        info |= {"url": url, "api_key": config.api_key}
    else:
        assert args.body_file is not None, "trivial needs --body-file"
        url, server, thread = serve(trivial_app(args.body_file.read_bytes()), "on")
        info |= {"url": url, "api_key": "trivial-key"}
    with Counters.lock:
        Counters.connections = Counters.requests = 0
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        command = line.strip()
        with Counters.lock:
            if command == "stats":
                answer = {"connections": Counters.connections, "requests": Counters.requests}
            elif command == "reset":
                Counters.connections = Counters.requests = 0
                answer = {}
            else:
                answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)
    server.should_exit = True
    thread.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
