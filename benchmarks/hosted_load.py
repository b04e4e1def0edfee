"""Load through the hosted mode: concurrent MCP clients through nginx to 1 and to 3 replicas, on loopback.

    python benchmarks/hosted_load.py [--clients 50] [--per-client 20] [--replicas 1,3]

For each replica count, ``deploy/local_stack.py`` starts Redis, the replicas (``--auth civis-key``) and nginx; the
upstream is a sandbox in its own process with two users' keys. ``--clients`` SDK clients (protocol 2026-07-28,
half of them with each user's key) are all connected before the first call, then each makes ``--per-client``
reads one after another (``imports_get`` of an import its user can see; the answer's id is checked). Reported:
calls answered, errors (an error result, a wrong answer or an exception), throughput (calls a second over the
wall time of the calls), latency p50/p95 and the calls each replica logged. Every call has a 30 s limit and the
whole run is bounded by the counts above.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mcp import Client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared._httpx_utils import create_mcp_http_client  # noqa: E402

from benchmarks.measure import percentile  # noqa: E402
from civis_mcp.sandbox import demo as d  # noqa: E402

KEYS = {
    f"bench-alice-{secrets.token_hex(6)}": (d.DEMO_USER_ID, d.DEMO_DBSYNC_IMPORT_ID),
    f"bench-bob-{secrets.token_hex(6)}": (d.DEMO_OUTSIDER_ID, d.DEMO_PRIVATE_IMPORT_ID),
}


@dataclass
class Outcome:
    replicas: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    per_replica: dict[str, int] = field(default_factory=dict)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _client(url: str, key: str) -> Client:
    headers = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    return Client(transport, mode="2026-07-28")


async def _load(url: str, clients: int, per_client: int, outcome: Outcome) -> None:
    keys = list(KEYS)
    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(_client(url, keys[index % 2])) for index in range(clients)]
        await _calls(sessions, keys, per_client, outcome)


async def _calls(sessions: list[Client], keys: list[str], per_client: int, outcome: Outcome) -> None:
    started = asyncio.Event()

    async def one(index: int) -> None:
        session = sessions[index]
        _, import_id = KEYS[keys[index % 2]]
        await started.wait()
        for _ in range(per_client):
            begun = time.perf_counter()
            try:
                async with asyncio.timeout(30):
                    result = await session.call_tool("imports_get", {"id": import_id})
                wrong = result.is_error or (result.structured_content or {}).get("id") != import_id
            except Exception:
                wrong = True
            outcome.latencies.append(time.perf_counter() - begun)
            outcome.errors += int(wrong)

    tasks = [asyncio.create_task(one(index)) for index in range(len(sessions))]
    begun = time.perf_counter()
    started.set()
    await asyncio.gather(*tasks)
    outcome.wall = time.perf_counter() - begun


def run(replicas: int, clients: int, per_client: int, endpoint: str) -> Outcome:
    outcome = Outcome(replicas)
    directory = Path(tempfile.mkdtemp(prefix=f"civis-mcp-load-{replicas}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIS_")}
    env.update(CIVIS_API_ENDPOINT=endpoint, CIVIS_MCP_RATE_LIMIT="1000000", PYTHONPATH=str(REPO))
    argv = [
        sys.executable,
        str(REPO / "deploy/local_stack.py"),
        "--replicas",
        str(replicas),
        "--dir",
        str(directory),
        "--",
        "--log-level",
        "INFO",
    ]
    stack = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert stack.stdout is not None
        info = json.loads(stack.stdout.readline())
        asyncio.run(_load(info["url"], clients, per_client, outcome))
        counts: Counter[str] = Counter()
        for replica in info["replicas"]:
            text = Path(replica["log"]).read_text()
            counts[replica["name"]] = sum('"logger": "civis_mcp.calls"' in line for line in text.splitlines())
        outcome.per_replica = dict(counts)
    finally:
        stack.send_signal(signal.SIGTERM)
        stack.wait(timeout=60)
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--replicas", default="1,3")
    args = parser.parse_args()
    if not (1 <= args.clients <= 200 and 1 <= args.per_client <= 200):
        parser.error("--clients and --per-client take 1 to 200")
    port = _free_port()
    (alice, _), (bob, _) = KEYS.items()
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civis_mcp",
            "sandbox",
            "--port",
            str(port),
            "--api-key",
            alice,
            "--user-key",
            f"{bob}={d.DEMO_OUTSIDER_ID}",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{endpoint}health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        rows = [run(int(n), args.clients, args.per_client, endpoint) for n in args.replicas.split(",")]
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    print(f"{args.clients} clients x {args.per_client} calls (imports_get), through nginx, on {os.cpu_count()} cores")
    print("| replicas | calls | errors | calls/s | p50 ms | p95 ms | calls per replica |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        total = len(row.latencies)
        print(
            f"| {row.replicas} | {total} | {row.errors} | {total / row.wall:.0f} | "
            f"{percentile(row.latencies, 50) * 1000:.0f} | {percentile(row.latencies, 95) * 1000:.0f} | "
            f"{', '.join(f'{k}: {v}' for k, v in sorted(row.per_replica.items()))} |"
        )
    return 1 if any(row.errors for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
