"""The bridge's side of the in-process call benchmark; runs in the bridge's venv (``benchmarks/.bridge-venv``).

Builds the bridge server (``bridge_server.build``) and calls one of its tools through FastMCP's in-process Client,
and sends the same request with plain httpx2 (the HTTP client the bridge uses), as the parent asks:

    stdin:  {"mode": "mcp" | "http", "n": 20, "tool": "...", "arguments": {...}, "path": "imports/101"}
    stdout: {"seconds": [...], "ids": [...]}

One JSON object a line each way; it stops when stdin closes. Environment as for ``bridge_server.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import httpx2
from bridge_server import build
from fastmcp import Client


async def _no_validation(name: str, result: Any) -> None:
    return None


async def main() -> None:
    server = build()
    endpoint = os.environ.get("CIVIS_API_ENDPOINT", "http://127.0.0.1:8765/").rstrip("/")
    http = httpx2.AsyncClient(
        base_url=endpoint, auth=httpx2.BasicAuth(os.environ.get("CIVIS_API_KEY", ""), ""), timeout=60.0
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with Client(server) as client, http:
        # As for the stdio clients of the benchmarks: no client-side check of results against output schemas
        # (the bridge's schema for GET /imports/{id} requires deprecated fields the sandbox leaves out).
        client.session.validate_tool_result = _no_validation  # type: ignore[method-assign]
        print(json.dumps({"ready": True}), flush=True)
        while line := await reader.readline():
            ask: dict[str, Any] = json.loads(line)
            seconds, ids = [], []
            for _ in range(int(ask["n"])):
                started = time.perf_counter()
                if ask["mode"] == "mcp":
                    result = await client.call_tool_mcp(ask["tool"], ask["arguments"])
                    seconds.append(time.perf_counter() - started)
                    ids.append((result.structured_content or {}).get("id"))
                else:
                    response = await http.get("/" + ask["path"])
                    data = response.json()
                    seconds.append(time.perf_counter() - started)
                    ids.append(data.get("id"))
            print(json.dumps({"seconds": seconds, "ids": ids}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
