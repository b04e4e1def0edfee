"""imports_load_file with a big CSV: does civis-mcp's memory stay flat while it uploads?

    python benchmarks/load_file.py [--rows 300000]

The sandbox runs in its own process (``upstream.py``). A CSV of ``--rows`` rows (about 80 bytes each) and a small one
(1,000 rows) are written to a temporary workspace; civis-mcp is started over stdio and the SDK client declares that
workspace as its MCP root. Each file is loaded with one ``imports_load_file`` call, the small one first, while the
server's resident memory (VmRSS) is sampled every 20 ms. Reported per file: its size, the call's time, the progress
notifications the client saw, the server's resident memory before the call and its peak during it, and the rows
the answer says were loaded (checked against the rows written). Memory is flat when the big file's peak is about
the small one's, whatever the file's size: the upload is streamed in 1 MiB chunks, never held whole.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import common

from civis_mcp.sandbox import demo as d


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("id,name,email,amount,signed_up\n")
        for n in range(1, rows + 1):
            out.write(f"{n},Donor number {n},donor{n}@example.org,{n % 977}.{n % 100:02d},2024-{n % 12 + 1:02d}-15\n")


async def load(client: Any, pid: int, path: Path, table: str) -> dict[str, Any]:
    notifications: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        notifications.append(message or "")

    before = common.vm_rss(pid) or 0
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, common.vm_rss(pid) or 0)
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    result = await client.call_tool(
        "imports_load_file",
        {
            "path": path.name,
            "schema": "bench",
            "table": table,
            "remote_host_id": d.DEMO_REDSHIFT_HOST_ID,
            "credential_id": d.DEMO_REDSHIFT_CREDENTIAL_ID,
            "timeout_seconds": 600,
        },
        progress_callback=on_progress,
    )
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    data = result.structured_content or {}
    if result.is_error:
        raise RuntimeError(str(result.content))
    return {
        "size": path.stat().st_size,
        "seconds": elapsed,
        "uploads": sum(1 for message in notifications if message.startswith("Uploaded")),
        "notifications": len(notifications),
        "before": before,
        "peak": peak,
        "rows_loaded": data.get("rows_loaded"),
        "outcome": data.get("outcome"),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    args = parser.parse_args()
    from mcp import Client, types

    common.heading(f"imports_load_file: {args.rows:,} rows vs 1,000 rows ({common.machine()})")
    with tempfile.TemporaryDirectory() as workspace, common.upstream("sandbox") as sandbox:
        root = Path(workspace)
        small, big = root / "small.csv", root / "big.csv"
        write_csv(small, 1_000)
        write_csv(big, args.rows)

        async def roots(context: Any) -> types.ListRootsResult:
            return types.ListRootsResult(roots=[types.Root(uri=root.as_uri())])  # type: ignore[arg-type]

        side = common.ours(sandbox.url, sandbox.api_key)
        async with Client(side.transport(), list_roots_callback=roots) as client:
            (pid,) = common.child_pids(side.marker)
            await client.list_tools()
            figures = {
                "1,000 rows": (await load(client, pid, small, "small"), 1_000),
                f"{args.rows:,} rows": (await load(client, pid, big, "big"), args.rows),
            }
    rows = [
        [
            label,
            f"{figure['size'] / 2**20:.1f} MiB",
            f"{figure['seconds']:.1f} s",
            f"{figure['uploads']} / {figure['notifications']}",
            common.mib(figure["before"]),
            common.mib(figure["peak"]),
            common.mib(figure["peak"] - figure["before"]),
            f"{figure['rows_loaded']:,} ({'right' if figure['rows_loaded'] == written else 'WRONG'})",
        ]
        for label, (figure, written) in figures.items()
    ]
    headers = ["file", "size", "call", "upload / all progress", "RSS before", "RSS peak", "growth", "rows loaded"]
    print(common.table(headers, rows))


if __name__ == "__main__":
    common.run(main)
