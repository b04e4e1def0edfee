"""Call overhead: one read tool through each server against the same request sent with plain httpx.

    python benchmarks/call_overhead.py [--calls 300] [--batch 20] [--seconds 150]

The read is GET /imports/101 (civis-mcp's ``imports_get``, the bridge's ``Get_details_about_an_import``), against two
upstreams, each a process of its own on 127.0.0.1: the sandbox, and a trivial server that answers at once with the
same JSON (so the server's own cost is not hidden behind the sandbox's). Ways to call, interleaved in batches:

* httpx: a plain ``httpx.AsyncClient`` (keep-alive) in this process: the floor every way is compared with;
* civis-mcp in-process: the SDK's ``Client(build_server(...))`` in this process, logging as ``serve`` sets it;
* SDK floor in-process: a bare MCPServer of the same SDK whose one tool sends the same GET with the same httpx client
  and returns the JSON: the share of the overhead that is the SDK's, not civis-mcp's;
* civis-mcp stdio and bridge stdio: the SDK's ``Client`` over stdio, the server in its own process;
* bridge in-process: FastMCP's in-process ``Client`` in the bridge's venv (``bridge/inprocess_calls.py``),
  compared with plain httpx2 in that same process.

Overhead = p50 (or p95) of the way minus p50 (p95) of its plain HTTP baseline. Target: civis-mcp in-process p50
overhead <= 1 ms. Results are checked (the import's id) on every call; the SDK client's output-schema check is
switched off for both servers (see ``common.unvalidated``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import common
import httpx

from benchmarks.measure import percentile

IMPORT_ID = 101
TARGET_MS = 1.0


class BridgeInProcess:
    """The helper process in the bridge's venv."""

    def __init__(self, url: str, key: str) -> None:
        side = common.bridge(url, key)
        self.process = subprocess.Popen(
            [str(common.BRIDGE_PYTHON), str(common.BRIDGE_DIR / "inprocess_calls.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=side.env,
        )
        assert self.process.stdout is not None
        if not json.loads(self.process.stdout.readline()).get("ready"):
            raise RuntimeError("bridge in-process helper did not start")

    def batch(self, mode: str, n: int) -> tuple[list[float], list[Any]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        ask = {
            "mode": mode,
            "n": n,
            "tool": common.BRIDGE_GET,
            "arguments": {"id": IMPORT_ID},
            "path": f"imports/{IMPORT_ID}",
        }
        self.process.stdin.write(json.dumps(ask) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        return answer["seconds"], answer["ids"]

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(10)


async def measure_upstream(up: common.Upstream, calls: int, batch: int, seconds: float) -> dict[str, list[float]]:
    from mcp import Client
    from pydantic import SecretStr

    from civis_mcp.config import Settings
    from civis_mcp.server import build_server

    times: dict[str, list[float]] = {}
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=up.url, auth=httpx.BasicAuth(up.api_key, ""), timeout=60)
        )
        server = build_server(Settings(api_key=SecretStr(up.api_key), api_endpoint=up.url))
        inproc = common.unvalidated(await stack.enter_async_context(Client(server)))
        sdk = common.unvalidated(await stack.enter_async_context(Client(sdk_floor(http))))
        ours_stdio = common.unvalidated(
            await stack.enter_async_context(Client(common.ours(up.url, up.api_key).transport()))
        )
        bridge_stdio = common.unvalidated(
            await stack.enter_async_context(Client(common.bridge(up.url, up.api_key).transport()))
        )
        helper = BridgeInProcess(up.url, up.api_key)
        stack.callback(helper.close)

        async def via_http() -> Any:
            response = await http.get(f"imports/{IMPORT_ID}")
            return response.json().get("id")

        def via_tool(client: Any, tool: str) -> Callable[[], Awaitable[Any]]:
            async def call() -> Any:
                result = await client.call_tool(tool, {"id": IMPORT_ID})
                if result.is_error:
                    raise RuntimeError(f"{tool}: {result.content}")
                return (result.structured_content or {}).get("id")

            return call

        local: dict[str, Callable[[], Awaitable[Any]]] = {
            "httpx": via_http,
            "civis-mcp in-process": via_tool(inproc, common.OURS_GET),
            "SDK floor in-process": via_tool(sdk, "get_import"),
            "civis-mcp stdio": via_tool(ours_stdio, common.OURS_GET),
            "bridge stdio": via_tool(bridge_stdio, common.BRIDGE_GET),
        }
        remote = {"bridge in-process": "mcp", "httpx2 (bridge's process)": "http"}
        names = list(local) + list(remote)
        times = {name: [] for name in names}
        for call in local.values():  # warm up: connections, lazily built tools
            for _ in range(5):
                await call()
        for mode in remote.values():
            helper.batch(mode, 5)

        deadline = time.monotonic() + seconds
        rounds = 0
        while min(len(v) for v in times.values()) < calls and time.monotonic() < deadline:
            shift = rounds % len(names)
            for name in names[shift:] + names[:shift]:
                if name in remote:
                    elapsed, ids = await asyncio.to_thread(helper.batch, remote[name], batch)
                else:
                    elapsed, ids = [], []
                    for _ in range(batch):
                        started = time.perf_counter()
                        ids.append(await local[name]())
                        elapsed.append(time.perf_counter() - started)
                if any(found != IMPORT_ID for found in ids):
                    raise RuntimeError(f"{name}: wrong results {set(ids)}")
                times[name].extend(elapsed)
            rounds += 1
    return times


def sdk_floor(http: httpx.AsyncClient) -> Any:
    """A bare MCPServer (the SDK civis-mcp uses) with one tool that sends the same GET and returns the JSON as
    structured content: what any server on this SDK pays per call, before doing anything of its own."""
    from mcp.server import MCPServer

    server = MCPServer("sdk-floor")

    @server.tool()
    async def get_import(id: int) -> dict[str, Any]:
        """Get an import."""
        response = await http.get(f"imports/{id}")
        data: dict[str, Any] = response.json()
        return data

    return server


def report(label: str, times: dict[str, list[float]]) -> dict[str, float]:
    common.heading(f"Call overhead against the {label} (ms; GET /imports/{IMPORT_ID})")
    base = {
        "httpx": "httpx",
        "civis-mcp in-process": "httpx",
        "SDK floor in-process": "httpx",
        "civis-mcp stdio": "httpx",
        "bridge stdio": "httpx",
        "bridge in-process": "httpx2 (bridge's process)",
        "httpx2 (bridge's process)": "httpx2 (bridge's process)",
    }
    p = {name: (percentile(v, 50) * 1000, percentile(v, 95) * 1000) for name, v in times.items()}
    rows = []
    for name, values in times.items():
        b = base[name]
        rows.append(
            [
                name,
                len(values),
                f"{p[name][0]:.2f}",
                f"{p[name][1]:.2f}",
                "-" if b == name else f"{p[name][0] - p[b][0]:.2f}",
                "-" if b == name else f"{p[name][1] - p[b][1]:.2f}",
            ]
        )
    print(common.table(["way", "calls", "p50", "p95", "overhead p50", "overhead p95"], rows))
    ours_in = p["civis-mcp in-process"][0] - p["httpx"][0]
    bridge_in = p["bridge in-process"][0] - p["httpx2 (bridge's process)"][0]
    ours_io = p["civis-mcp stdio"][0] - p["httpx"][0]
    bridge_io = p["bridge stdio"][0] - p["httpx"][0]
    print(
        f"in-process overhead p50: civis-mcp {ours_in:.2f} ms, bridge {bridge_in:.2f} ms "
        f"(ratio {common.ratio(ours_in, bridge_in)}; "
        f"target <= {TARGET_MS} ms: {'met' if ours_in <= TARGET_MS else 'NOT met'})"
    )
    print(
        f"stdio overhead p50: civis-mcp {ours_io:.2f} ms, bridge {bridge_io:.2f} ms "
        f"(ratio {common.ratio(ours_io, bridge_io)})"
    )
    sdk = p["SDK floor in-process"][0] - p["httpx"][0]
    print(
        f"of civis-mcp's in-process overhead, the SDK's own (bare MCPServer tool) is {sdk:.2f} ms; civis-mcp adds "
        f"{ours_in - sdk:.2f} ms"
    )
    return {"ours_in": ours_in, "bridge_in": bridge_in, "ours_io": ours_io, "bridge_io": bridge_io}


def breakdown(body: bytes) -> None:
    """Where civis-mcp's own part of a call goes: its steps timed on the same answer (internals; may move)."""
    common.heading("civis-mcp's steps on this answer (ms per call, median of 5 x 200)")
    try:
        from civis_mcp.api.redaction import Redactor
        from civis_mcp.api.wire import snake_keys
        from civis_mcp.execution import more_hint, present
        from civis_mcp.operations import OPERATIONS_BY_TOOL
        from civis_mcp.results import bound
        from civis_mcp.untrusted import clean_json
    except ImportError as exc:
        print(f"skipped: {exc}")
        return
    import statistics
    import timeit

    op = OPERATIONS_BY_TOOL[common.OURS_GET]
    redact = Redactor("sandbox-key")
    raw = json.loads(body)
    snake = snake_keys(raw)
    data = clean_json(snake, also=redact)
    model = op.response.model_validate(data)  # type: ignore[union-attr]
    hint = more_hint(op, op.params.model_validate({"id": IMPORT_ID}))
    bounded = bound(model, 20_000, hint)
    steps = {
        "json.loads": lambda: json.loads(body),
        "snake_keys (camelCase -> snake_case)": lambda: snake_keys(raw),
        "clean_json(also=redact): key out, sanitised, one walk": lambda: clean_json(snake, also=redact),
        "response model_validate": lambda: op.response.model_validate(data),  # type: ignore[union-attr]
        "bound (result budget)": lambda: bound(model, 20_000, hint),
        "present (dump, JSON text, fence)": lambda: present(bounded),
    }
    rows = []
    for name, step in steps.items():
        step()
        runs = [timeit.timeit(step, number=200) / 200 * 1000 for _ in range(5)]
        rows.append([name, f"{statistics.median(runs):.3f}"])
    print(common.table(["step", "ms"], rows))
    print(f"({len(body):,} bytes of JSON; sum of the steps: {sum(float(r[1]) for r in rows):.2f} ms)")


async def main_async(args: argparse.Namespace) -> None:
    common.serve_like_logging()
    common.ensure_bridge()
    print(f"civis-mcp vs the bridge ({common.bridge_version()}); {args.calls} calls per way per upstream, interleaved")
    print(common.machine())
    with common.upstream("sandbox") as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.url, auth=httpx.BasicAuth(sandbox.api_key, "")) as http:
            body = (await http.get(f"imports/{IMPORT_ID}")).content
        sandbox_times = await measure_upstream(sandbox, args.calls, args.batch, args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "import.json"
        body_file.write_bytes(body)
        with common.upstream("trivial", "--body-file", str(body_file)) as trivial:
            trivial_times = await measure_upstream(trivial, args.calls, args.batch, args.seconds)
    report("sandbox", sandbox_times)
    report("trivial loopback server (same JSON, answered at once)", trivial_times)
    breakdown(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per way and upstream")
    parser.add_argument("--batch", type=int, default=20, help="calls in a row before switching to the next way")
    parser.add_argument("--seconds", type=float, default=150, help="time limit per upstream")
    common.run(lambda: main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
