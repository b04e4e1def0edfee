"""The figures of issue 13 side by side, in one run, each against the floor it is measured from.

    python benchmarks/restated.py [--calls 300] [--batch 20] [--rounds 12]

* Own overhead (ms, p50): a call through civis-mcp in process (the SDK's ``Client(build_server(...))``) minus the same
  call through a bare MCPServer of the same SDK whose tool sends the same GET with httpx and returns the JSON (the SDK
  floor): what civis-mcp's own code adds. For ``imports_get`` and for a 50-item ``imports_list``, each against a
  trivial upstream (``upstream.py trivial``) that answers at once with a body taken from the sandbox (the list: the
  sandbox's imports repeated to 50, ids made distinct), so that neither the emulator nor the network is measured.
  Plain httpx is shown too. Targets: <= 0.25 ms for ``imports_get``, <= 1 ms for the 50-item list.
* Start-up (ms, median): ``civis-mcp serve`` from spawn to the first ``tools/list`` answer minus the floor's (a bare
  MCPServer with one tool, ``floor_server.py``), interleaved rounds. Target: <= floor + 150 ms.
* Tokens per profile (o200k, model view; exact): the 46 operation tools, and every listed tool of each profile.
  Targets: 9,000 for the 46, 2,500 read-only, 1,000 compact; instructions 150.

The burst against the bridge is ``concurrency.py`` (it needs the bridge: ``bridge/setup.sh``). Timings on a shared
machine move by about 10% from run to run; the overheads are differences of medians of interleaved batches.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any

import common
import httpx

from benchmarks.measure import count_tokens, model_tokens, percentile

GET_ID = 101
LIST_SIZE = 50
TARGETS_MS = {"imports_get": 0.25, "imports_list (50 items)": 1.0}
STARTUP_TARGET_MS = 150.0


def sandbox_bodies(directory: Path) -> tuple[Path, Path]:
    """An import job and a 50-item list of imports, as the sandbox answers them, written to files."""
    with common.upstream("sandbox") as up:
        auth = httpx.BasicAuth(up.api_key, "")
        one = httpx.get(f"{up.url}imports/{GET_ID}", auth=auth, timeout=30).json()
        some = httpx.get(f"{up.url}imports", params={"limit": 50}, auth=auth, timeout=30).json()
    items = [{**copy.deepcopy(some[i % len(some)]), "id": 10_000 + i} for i in range(LIST_SIZE)]
    get_path, list_path = directory / "import.json", directory / "imports.json"
    get_path.write_text(json.dumps(one))
    list_path.write_text(json.dumps(items))
    return get_path, list_path


def sdk_floor(http: httpx.AsyncClient) -> Any:
    """A bare MCPServer with the same two calls: send the GET, return the JSON as structured content."""
    from mcp.server import MCPServer

    server = MCPServer("sdk-floor")

    @server.tool()
    async def get_import(id: int) -> dict[str, Any]:
        """Get an import."""
        data: dict[str, Any] = (await http.get(f"imports/{id}")).json()
        return data

    @server.tool()
    async def list_imports(limit: int) -> dict[str, Any]:
        """List imports."""
        return {"items": (await http.get("imports", params={"limit": limit})).json()}

    return server


async def overhead(
    up: common.Upstream, tool: str, calls: int, batch: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and CPU seconds (this process's: client and server, not the upstream's) of each call, per way."""
    from mcp import Client
    from pydantic import SecretStr

    from civis_mcp.config import Settings
    from civis_mcp.server import build_server

    listing = tool == "imports_list"
    arguments: dict[str, Any] = {"limit": LIST_SIZE} if listing else {"id": GET_ID}
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=up.url, auth=httpx.BasicAuth(up.api_key, ""), timeout=60)
        )
        ours = common.unvalidated(
            await stack.enter_async_context(
                Client(build_server(Settings(api_key=SecretStr(up.api_key), api_endpoint=up.url)))
            )
        )
        floor = common.unvalidated(await stack.enter_async_context(Client(sdk_floor(http))))

        async def via_http() -> None:
            response = (
                await http.get("imports", params={"limit": LIST_SIZE})
                if listing
                else await http.get(f"imports/{GET_ID}")
            )
            response.json()

        def via(client: Any, name: str) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                result = await client.call_tool(name, arguments)
                if result.is_error:
                    raise RuntimeError(f"{name}: {result.content}")

            return call

        ways = {
            "httpx": via_http,
            "SDK floor": via(floor, "list_imports" if listing else "get_import"),
            "civis-mcp": via(ours, tool),
        }
        for call in ways.values():  # warm up: connections, the lazily built tool
            for _ in range(5):
                await call()
        times: dict[str, list[float]] = {name: [] for name in ways}
        cpu: dict[str, list[float]] = {name: [] for name in ways}
        names = list(ways)
        rounds = 0
        while min(len(v) for v in times.values()) < calls:
            shift = rounds % len(names)
            for name in names[shift:] + names[:shift]:
                for _ in range(batch):
                    started, used = time.perf_counter(), time.process_time()
                    await ways[name]()
                    times[name].append(time.perf_counter() - started)
                    cpu[name].append(time.process_time() - used)
            rounds += 1
    return times, cpu


def startup(rounds: int) -> dict[str, list[float]]:
    sides = {"floor": common.floor(), "civis-mcp": common.ours()}
    for side in sides.values():
        common.raw_tools_list(side)
    times: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for number in range(rounds):
        for name in order[number % 2 :] + order[: number % 2]:
            seconds, line = common.raw_tools_list(sides[name])
            if b'"tools"' not in line:
                raise RuntimeError(f"{name}: no tools in {line[:200]!r}")
            times[name].append(seconds)
    return times


def tokens() -> list[list[Any]]:
    from civis_mcp.catalog import load_catalog, selected_entries
    from civis_mcp.config import Settings
    from civis_mcp.server import INSTRUCTIONS

    rows: list[list[Any]] = []
    ops = sum(model_tokens(e.listing) for e in load_catalog() if e.kind == "operation")
    rows.append(["46 operation tools (full profile)", ops, "<= 9,000", _met(ops <= 9_000)])
    for profile, target in (("full", None), ("read-only", 2_500), ("compact", 1_000)):
        for transport in ("stdio", "http"):
            entries = selected_entries(Settings(profile=profile, transport=transport))  # type: ignore[arg-type]
            count = sum(model_tokens(e.listing) for e in entries)
            rows.append(
                [
                    f"{profile} profile over {transport}: {len(entries)} tools",
                    count,
                    "-" if target is None else f"<= {target:,}",
                    "-" if target is None else _met(count <= target),
                ]
            )
    instructions = count_tokens(INSTRUCTIONS)
    rows.append(["server instructions", instructions, "<= 150", _met(instructions <= 150)])
    return rows


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per way and tool")
    parser.add_argument("--batch", type=int, default=20, help="calls in a row before switching to the next way")
    parser.add_argument("--rounds", type=int, default=12, help="spawns of each server for start-up")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the SDK turns on INFO, and httpx logs every request there
    print(common.machine())

    common.heading("Tokens per profile (o200k_base, name + description + input schema)")
    print(common.table(["what", "tokens", "target", "met"], tokens()))

    rows = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        get_body, list_body = sandbox_bodies(Path(tmp))
        for label, tool, body in (
            ("imports_get", "imports_get", get_body),
            (f"imports_list ({LIST_SIZE} items)", "imports_list", list_body),
        ):
            up = stack.enter_context(common.upstream("trivial", "--body-file", str(body)))
            times, cpu = asyncio.run(overhead(up, tool, args.calls, args.batch))
            for clock, values in (("wall", times), ("CPU", cpu)):
                p50 = {name: percentile(seconds, 50) * 1000 for name, seconds in values.items()}
                own = p50["civis-mcp"] - p50["SDK floor"]
                rows.append(
                    [
                        f"{label}, {clock}",
                        f"{p50['httpx']:.2f}",
                        f"{p50['SDK floor']:.2f}",
                        f"{p50['civis-mcp']:.2f}",
                        f"{own:.2f}",
                        f"<= {TARGETS_MS[label]:g}",
                        _met(own <= TARGETS_MS[label]),
                    ]
                )
    common.heading(
        f"Own overhead above the SDK floor (ms, p50 of {args.calls} interleaved calls each; CPU: this process's "
        "CPU time per call, which other work on a shared machine disturbs less than the wall clock)"
    )
    print(common.table(["call", "httpx", "SDK floor", "civis-mcp", "own overhead", "target", "met"], rows))

    started = startup(args.rounds)
    medians = {name: statistics.median(values) * 1000 for name, values in started.items()}
    above = medians["civis-mcp"] - medians["floor"]
    common.heading(f"Start-up to the first tools/list (ms, median of {args.rounds} interleaved spawns)")
    print(
        common.table(
            ["floor (bare MCPServer)", "civis-mcp serve", "above the floor", "target", "met"],
            [
                [
                    f"{medians['floor']:.0f}",
                    f"{medians['civis-mcp']:.0f}",
                    f"{above:.0f}",
                    f"<= {STARTUP_TARGET_MS:.0f}",
                    _met(above <= STARTUP_TARGET_MS),
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
