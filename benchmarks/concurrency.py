"""Concurrency: many tool calls at once against the sandbox, civis-mcp beside the bridge.

    python benchmarks/concurrency.py [--calls 500] [--clients 10] [--per-client 50] [--reps 2]

1. One session, ``--calls`` tool calls sent at once (civis-mcp over stdio and in-process; the bridge over stdio).
2. ``--clients`` sessions at once, each its own server process over stdio, each making ``--per-client`` calls one
   after another (an agent waits for each answer), all sessions started before the first call.

The calls read import jobs and CSV imports by id (``imports_get`` / ``imports_get_files_csv``; the bridge's
``Get_details_about_an_import`` / ``Get_a_CSV_Import``), ids mixed, and every answer is checked against the
object asked for (id and name), so a mixed-up answer is counted. Reported: answered, wrong, errors, latency
p50/p95/p99 (from sending to the answer), wall time, peak memory (VmHWM of the server process; tracemalloc peak of
the Python heap for in-process) and the TCP connections the sandbox accepted (pooling shows as few). Scenarios
alternate between the servers, ``--reps`` times.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import common
import httpx


@dataclass
class Outcome:
    label: str
    latencies: list[float] = field(default_factory=list)
    wrong: int = 0
    errors: int = 0
    wall: float = 0.0
    memory: int | None = None
    memory_note: str = ""
    connections: int = 0
    requests: int = 0
    calls: int = 0


@dataclass(frozen=True)
class Target:
    kind: str  # "import" or "csv"
    id: int
    name: str


async def expected(up: common.Upstream) -> list[Target]:
    """The objects the calls read, with the names the answers must carry."""
    targets = []
    async with httpx.AsyncClient(base_url=up.url, auth=httpx.BasicAuth(up.api_key, "")) as http:
        for kind, path, ids in (
            ("import", "imports", (101, 102, 103, 104, 106)),
            ("csv", "imports/files/csv", range(201, 207)),
        ):
            for object_id in ids:
                response = await http.get(f"{path}/{object_id}")
                if response.status_code == 200:
                    targets.append(Target(kind, object_id, response.json()["name"]))
    return targets


def tool_for(side: str, target: Target) -> str:
    if side == "bridge":
        return common.BRIDGE_GET if target.kind == "import" else common.BRIDGE_GET_CSV
    return common.OURS_GET if target.kind == "import" else common.OURS_GET_CSV


async def one_call(client: Any, side: str, target: Target, outcome: Outcome) -> None:
    started = time.perf_counter()
    try:
        result = await client.call_tool(tool_for(side, target), {"id": target.id})
    except Exception:  # a transport failure is an unanswered call
        outcome.errors += 1
        return
    outcome.latencies.append(time.perf_counter() - started)
    data = result.structured_content or {}
    if result.is_error:
        outcome.errors += 1
    elif data.get("id") != target.id or data.get("name") != target.name:
        outcome.wrong += 1


async def burst(up: common.Upstream, targets: list[Target], side_name: str, calls: int) -> Outcome:
    """One session, ``calls`` calls at once."""
    from mcp import Client

    label = f"{'civis-mcp' if side_name != 'bridge' else 'bridge'} {'in-process' if side_name == 'inproc' else 'stdio'}"
    outcome = Outcome(label, calls=calls)
    plan = [targets[i % len(targets)] for i in range(calls)]
    async with AsyncExitStack() as stack:
        pid = None
        if side_name == "inproc":
            from pydantic import SecretStr

            from civis_mcp.config import Settings
            from civis_mcp.server import build_server

            server = build_server(Settings(api_key=SecretStr(up.api_key), api_endpoint=up.url))
            client = common.unvalidated(await stack.enter_async_context(Client(server)))
        else:
            side = common.bridge(up.url, up.api_key) if side_name == "bridge" else common.ours(up.url, up.api_key)
            before = common.child_pids(side.marker)
            client = common.unvalidated(await stack.enter_async_context(Client(side.transport())))
            pid = next(iter(common.child_pids(side.marker) - before), None)
        await client.call_tool(tool_for(side_name, targets[0]), {"id": targets[0].id})  # warm: tool built, pool open
        await asyncio.sleep(0.2)
        up.reset()
        started = time.perf_counter()
        await asyncio.gather(*(one_call(client, side_name, target, outcome) for target in plan))
        outcome.wall = time.perf_counter() - started
        stats = up.stats()
        outcome.connections, outcome.requests = stats["connections"], stats["requests"]
        if side_name == "inproc":
            # Peak of the Python heap in a second burst: tracemalloc slows every allocation, so it is not on while
            # the first burst is timed.
            tracemalloc.start()
            await asyncio.gather(*(one_call(client, side_name, target, Outcome("")) for target in plan))
            outcome.memory = tracemalloc.get_traced_memory()[1]
            outcome.memory_note = "tracemalloc peak, 2nd burst"
            tracemalloc.stop()
        elif pid is not None:
            outcome.memory = common.vm_hwm(pid)
            outcome.memory_note = "VmHWM"
    return outcome


async def many_clients(
    up: common.Upstream, targets: list[Target], side_name: str, clients: int, per_client: int
) -> Outcome:
    """``clients`` sessions at once, each with its own server process, each calling one call at a time."""
    from mcp import Client

    outcome = Outcome(
        f"{'bridge' if side_name == 'bridge' else 'civis-mcp'} x{clients} stdio", calls=clients * per_client
    )
    side = common.bridge(up.url, up.api_key) if side_name == "bridge" else common.ours(up.url, up.api_key)
    ready = 0
    all_ready, go = asyncio.Event(), asyncio.Event()
    peaks: list[int] = []

    async def agent(offset: int) -> None:
        # Each session lives in its own task (the SDK's stdio transport must be left in the task that entered it);
        # all start together, then wait for the signal to call.
        nonlocal ready
        before = common.child_pids(side.marker)
        async with Client(side.transport()) as session:
            pid = next(iter(common.child_pids(side.marker) - before), None)
            common.unvalidated(session)
            await session.call_tool(tool_for(side_name, targets[0]), {"id": targets[0].id})
            ready += 1
            if ready == clients:
                all_ready.set()
            await go.wait()
            for i in range(per_client):
                await one_call(session, side_name, targets[(offset + i) % len(targets)], outcome)
            if pid is not None and (peak := common.vm_hwm(pid)) is not None:
                peaks.append(peak)

    tasks = [asyncio.create_task(agent(n)) for n in range(clients)]
    await asyncio.wait_for(all_ready.wait(), 300)
    await asyncio.sleep(0.2)
    up.reset()
    started = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    outcome.wall = time.perf_counter() - started
    outcome.memory = sum(peaks) if peaks else None
    outcome.memory_note = f"sum of {len(peaks)} VmHWM (max {common.mib(max(peaks)) if peaks else '-'})"
    stats = up.stats()
    outcome.connections, outcome.requests = stats["connections"], stats["requests"]
    return outcome


def rows_of(outcomes: list[Outcome]) -> list[list[Any]]:
    rows = []
    for o in outcomes:
        s = common.summary_ms(o.latencies)
        rows.append(
            [
                o.label,
                f"{len(o.latencies) - o.errors}/{o.calls}",
                o.wrong,
                o.errors,
                f"{s['p50']:.0f}",
                f"{s['p95']:.0f}",
                f"{s['p99']:.0f}",
                f"{o.wall:.2f}",
                f"{o.calls / o.wall:.0f}" if o.wall else "-",
                f"{common.mib(o.memory)} ({o.memory_note})",
                o.connections,
                o.requests,
            ]
        )
    return rows


HEADERS = [
    "server",
    "answered",
    "wrong",
    "errors",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "wall s",
    "calls/s",
    "peak memory",
    "conns",
    "requests",
]


async def main_async(args: argparse.Namespace) -> None:
    common.serve_like_logging()
    common.ensure_bridge()
    print(f"civis-mcp vs the bridge ({common.bridge_version()}), against the sandbox; {args.reps} rep(s), alternating")
    print(common.machine())
    with common.upstream("sandbox") as up:
        targets = await expected(up)
        bursts: list[Outcome] = []
        fleets: list[Outcome] = []
        for rep in range(args.reps):
            order = ["stdio", "bridge", "inproc"] if rep % 2 == 0 else ["bridge", "stdio", "inproc"]
            for side_name in order:
                bursts.append(await burst(up, targets, side_name, args.calls))
            for side_name in ["stdio", "bridge"] if rep % 2 == 0 else ["bridge", "stdio"]:
                fleets.append(await many_clients(up, targets, side_name, args.clients, args.per_client))
    common.heading(f"One session, {args.calls} calls at once ({len(targets)} objects, ids mixed)")
    print(common.table(HEADERS, rows_of(sorted(bursts, key=lambda o: o.label))))
    common.heading(f"{args.clients} sessions at once, {args.per_client} calls each, one at a time")
    print(common.table(HEADERS, rows_of(sorted(fleets, key=lambda o: o.label))))
    for title, group in (("burst", bursts), ("clients", fleets)):
        ours = [o for o in group if o.label.startswith("civis-mcp") and "in-process" not in o.label]
        theirs = [o for o in group if o.label.startswith("bridge")]
        if ours and theirs:
            p = lambda os, q: common.percentile([x for o in os for x in o.latencies], q)  # noqa: E731
            print(
                f"{title}: civis-mcp/bridge p50 {common.ratio(p(ours, 50), p(theirs, 50))}, "
                f"p99 {common.ratio(p(ours, 99), p(theirs, 99))}, connections "
                f"{sum(o.connections for o in ours)}/{sum(o.connections for o in theirs)}, memory "
                f"{common.ratio(sum(o.memory or 0 for o in ours), sum(o.memory or 0 for o in theirs))}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls at once in one session")
    parser.add_argument("--clients", type=int, default=10, help="sessions at once")
    parser.add_argument("--per-client", type=int, default=50, help="calls per session")
    parser.add_argument("--reps", type=int, default=2, help="repetitions of each scenario and server")
    common.run(lambda: main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
