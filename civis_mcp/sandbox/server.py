"""Starting the sandbox: in a background thread for tests, the demo and ``civis-mcp serve --sandbox``, in process
(no socket, for tests), or in the foreground for ``civis-mcp sandbox``.

Background::

    with running_sandbox(SandboxConfig()) as sandbox:
        client = civis.APIClient(api_key=sandbox.api_key, local_api_spec=civis.resources.API_SPEC_PATH)
        # ... with CIVIS_API_ENDPOINT=sandbox.url

In process (on the caller's event loop; requests go through ``sandbox.transport``, httpx's ASGI transport)::

    async with in_process_sandbox(SandboxConfig(manual_clock=True)) as sandbox:
        server = build_server(settings_for(sandbox), transport=sandbox.transport)
        ...
        await sandbox.state.clock.advance()  # queued -> running

Foreground (the CLI): ``add_arguments(parser)`` then ``run(args)``, or ``main_sandbox(argv)``.

Uvicorn's own logging is switched off (``log_config=None``, no access log): stdout may carry MCP messages when the
sandbox runs inside ``civis-mcp serve --sandbox``, and the sandbox's few log records go to stderr through the
``civis_mcp.sandbox`` logger.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.middleware import Middleware

from civis_mcp.addresses import url_host
from civis_mcp.sandbox.app import create_app
from civis_mcp.sandbox.config import DEFAULT_API_KEY, SandboxConfig, parse_user_keys
from civis_mcp.sandbox.databases import DatabaseError
from civis_mcp.sandbox.state import Sandbox

__all__ = [
    "DEFAULT_PORT",
    "IN_PROCESS_URL",
    "RunningSandbox",
    "add_arguments",
    "in_process_sandbox",
    "main_sandbox",
    "run",
    "running_sandbox",
]

DEFAULT_PORT = 8765
IN_PROCESS_URL = "http://sandbox.invalid/"
"""The base URL of an in-process sandbox: ``.invalid`` never resolves, so a request that misses the transport fails
instead of reaching some other server."""
_START_TIMEOUT = 20.0
_STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox serving in a background thread."""

    url: str
    """Base URL with a trailing slash, e.g. ``http://127.0.0.1:54321/``: the value for CIVIS_API_ENDPOINT."""
    api_key: str
    config: SandboxConfig
    state: Sandbox
    transport: httpx.AsyncBaseTransport | None = None
    """In process: the only way to reach it (``url`` does not resolve). None when it listens on a socket."""

    def query_warehouse(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run SQL against the warehouse CSV runs load into (tables are ``schema__table``)."""
        return self.state.warehouse.query(sql, params)

    def warehouse_rows(self, schema: str, table: str) -> int | None:
        """Rows in the Civis table ``schema.table`` in the warehouse, or None when it does not exist."""
        return self.state.warehouse.table_rows(schema, table)

    def remote_rows(self, host_id: int, schema: str, table: str) -> int | None:
        """Rows in ``schema.table`` in the database behind a remote host (the CRM is 3002), or None."""
        database = self.state.hosts.database(host_id)
        if database is None:
            raise ValueError(f"remote host {host_id} is not a database of this sandbox.")
        return database.table_rows(schema, table)

    def sheet(self, spreadsheet: str, worksheet: str) -> str | None:
        """The cells (CSV text) of a worksheet the sandbox keeps, or None when there is no such tab."""
        tabs = self.state.store.spreadsheet_tabs(name=spreadsheet)
        return next((tab.content for tab in tabs if tab.worksheet == worksheet), None)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, a response written as headers then body waits on the
    # client's delayed ACK (Nagle), about 40 ms a request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    return f"http://{url_host(host)}:{port}/"


class _PromptServer(uvicorn.Server):
    """Uvicorn's server, but ``stop`` (from any thread) ends its main loop at once: uvicorn only looks at
    ``should_exit`` every 0.1 s, and the tests start and stop hundreds of sandboxes. Signals still work as in uvicorn
    (its handlers set ``should_exit``, seen within 0.1 s)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):  # on_tick: uvicorn's own bookkeeping (Date header) and exit checks
            counter = (counter + 1) % 864_000
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def stop(self) -> None:
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with suppress(RuntimeError):  # the loop has closed already: nothing to wake
                loop.call_soon_threadsafe(wake.set)


def _server(config: SandboxConfig, state: Sandbox, middleware: Sequence[Middleware] = ()) -> _PromptServer:
    # Uvicorn's start and stop chatter says nothing the caller does not know; its warnings and errors still show.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    app = create_app(config, sandbox=state, middleware=middleware)
    return _PromptServer(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=5,
        )
    )


def _wait_healthy(url: str, thread: threading.Thread, deadline: float) -> None:
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server stopped while starting; see the log above.")
        try:
            with urllib.request.urlopen(f"{url}health", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"the sandbox at {url} did not answer /health within {_START_TIMEOUT:.0f} s.")


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None, *, middleware: Sequence[Middleware] = (), wait_for_stop: bool = True
) -> Iterator[RunningSandbox]:
    """Serve a sandbox on ``config.host`` (default 127.0.0.1) in a background thread until the block ends.

    Yields once ``/health`` answers. ``port=0`` (the default) picks a free port; the URL says which. ``middleware``
    wraps the app (see ``create_app``). When the block ends the server is told to stop; with ``wait_for_stop=False``
    (for tests that start hundreds of sandboxes) the block does not wait for it: its thread ends on its own about
    0.1 s later (uvicorn lets open connections close), closing its socket and its state.
    """
    config = config or SandboxConfig()
    sock = _bind(config.host, config.port)
    try:
        state = Sandbox(config)
    except BaseException:
        sock.close()
        raise
    port = int(sock.getsockname()[1])
    url = _url(config.host, port)
    server = _server(config, state, middleware)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"civis-sandbox-{port}", daemon=True)
    thread.start()
    try:
        _wait_healthy(url, thread, time.monotonic() + _START_TIMEOUT)
        yield RunningSandbox(url=url, api_key=config.api_key, config=replace(config, port=port), state=state)
    finally:
        server.stop()
        state.stopping.set()
        if wait_for_stop:
            thread.join(_STOP_TIMEOUT)
            sock.close()


@asynccontextmanager
async def in_process_sandbox(
    config: SandboxConfig | None = None, *, middleware: Sequence[Middleware] = ()
) -> AsyncIterator[RunningSandbox]:
    """A sandbox on the caller's event loop, reached through ``transport`` (no socket, no thread): its runs are
    driven by the same loop, its state is closed when the block ends. ``config.host`` and ``port`` are unused."""
    config = config or SandboxConfig()
    state = Sandbox(config)
    app = create_app(config, sandbox=state, middleware=middleware)
    async with app.router.lifespan_context(app):
        yield RunningSandbox(
            url=IN_PROCESS_URL,
            api_key=config.api_key,
            config=config,
            state=state,
            transport=httpx.ASGITransport(app=app),
        )


# --- the CLI command --------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``civis-mcp sandbox``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file for the state (default: in memory); its warehouse goes beside it in NAME-warehouse.sqlite. "
        "Delete the state file to start over: a new state starts a new warehouse.",
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help=f"API key to accept (default {DEFAULT_API_KEY!r})")
    parser.add_argument("--caller-id", type=int, default=None, help="demo user the key belongs to (default 1001)")
    parser.add_argument(
        "--user-key",
        metavar="KEY=USER_ID",
        action="append",
        default=[],
        help="accept KEY too, as that demo user with their own permissions (e.g. teammate-key=1002); repeat for "
        "several (env CIVIS_SANDBOX_USER_KEYS, comma-separated)",
    )
    parser.add_argument("--run-step-seconds", type=float, default=None, help="seconds per run step (default 0.2)")
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per minute before HTTP 429")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault dice")
    parser.add_argument("--no-demo-data", action="store_true", help="start an empty sandbox (users and hosts only)")
    parser.add_argument(
        "--postgres-url", default=None, help="PostgreSQL database to be the CRM host 3002 (default: SQLite beside --db)"
    )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The config for ``civis-mcp sandbox``: CIVIS_SANDBOX_* environment variables, then the flags."""
    overrides: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "db_path": args.db,
        "api_key": args.api_key,
        "caller_id": args.caller_id,
        "seed_demo_data": not args.no_demo_data,
    }
    if args.postgres_url:
        overrides["postgres_url"] = args.postgres_url
    if args.user_key:
        overrides["user_keys"] = parse_user_keys(args.user_key)
    for name, value in (
        ("run_step_seconds", args.run_step_seconds),
        ("rate_limit_per_minute", args.rate_limit),
        ("seed", args.seed),
    ):
        if value is not None:
            overrides[name] = value
    return SandboxConfig.from_env(**overrides)


def run(args: argparse.Namespace) -> int:
    """Serve a sandbox in the foreground until Ctrl-C; prints its URL and key to stderr."""
    try:
        config = config_from_args(args)
        sock = _bind(config.host, config.port)
    except (ValueError, OSError) as exc:
        print(f"civis-mcp sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        state = Sandbox(config)
    except (ValueError, OSError, sqlite3.Error, DatabaseError) as exc:
        sock.close()
        print(f"civis-mcp sandbox: {exc}", file=sys.stderr)
        return 2
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    sandbox_logger = logging.getLogger("civis_mcp.sandbox")
    sandbox_logger.addHandler(handler)
    sandbox_logger.setLevel(logging.INFO)
    url = _url(config.host, int(sock.getsockname()[1]))
    where = (
        f"state in {config.db_path}, warehouse in {config.resolved_warehouse_path}"
        if config.db_path
        else "state in memory (lost on exit; use --db to keep it)"
    )
    print(
        f"Civis sandbox serving at {url}\n"
        f"  CIVIS_API_ENDPOINT={url}\n"
        f"  CIVIS_API_KEY={config.api_key}\n"
        f"  {where}; {'demo data seeded now' if state.seeded else 'existing state reused'}\n"
        "Press Ctrl-C to stop.",
        file=sys.stderr,
        flush=True,
    )
    if config.host not in ("127.0.0.1", "::1", "localhost"):
        print(f"Warning: listening on {config.host}, not only on loopback.", file=sys.stderr)
    try:
        _server(config, state).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled; stopping this way is the normal end
    finally:
        sock.close()
    print("Civis sandbox stopped.", file=sys.stderr)
    return 0


def main_sandbox(argv: list[str] | None = None) -> int:
    """``civis-mcp sandbox [--port N] [--db PATH] [--host H] ...`` as one call."""
    parser = argparse.ArgumentParser(prog="civis-mcp sandbox", description="Serve a local Civis Imports API sandbox.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main_sandbox())
