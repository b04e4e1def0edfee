"""Big logs: diagnose and tail a run with 200,000 log lines; the raw log tools beside them, the bridge's included.

    python benchmarks/big_logs.py [--lines 200000] [--reps 3]

The sandbox (its own process) first appends ``--lines`` lines to the failed CSV run 6011 of import 202: progress
lines, then the run's own error lines again at the end. Then, over stdio, interleaved ``--reps`` times:

* civis-mcp ``imports_diagnose_run`` (import 202) and ``imports_tail_logs`` (the last 50 lines; and the last 50 at
  level error or above, which scans up to 10,000 lines);
* civis-mcp's raw log tool ``imports_list_files_csv_runs_logs`` and the bridge's ``Get_the_logs_for_a_run_3`` for
  the same run, with no arguments but the ids, as a model would first call them.

Reported per tool: time (median), the server's peak memory (VmHWM; its resident size before the first call beside
it), the answer's size (bytes of the tools/call result as JSON, and o200k tokens of its text), the requests the
server sent to the sandbox, and what the answer holds. civis-mcp's workflows are also run in-process once each with
tracemalloc, for the peak of the Python heap that the call itself allocated.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import tracemalloc
from contextlib import AsyncExitStack
from typing import Any

import common

from benchmarks.measure import count_tokens

IMPORT_ID = 202
RUN_ID = 6011

CALLS: list[tuple[str, str, str, dict[str, Any]]] = [
    # (label, side, tool, arguments)
    ("civis-mcp diagnose", "ours", "imports_diagnose_run", {"import_id": IMPORT_ID}),
    ("civis-mcp tail (50 lines)", "ours", "imports_tail_logs", {"import_id": IMPORT_ID}),
    ("civis-mcp tail (50, level error)", "ours", "imports_tail_logs", {"import_id": IMPORT_ID, "level": "error"}),
    ("civis-mcp raw log tool", "ours", "imports_list_files_csv_runs_logs", {"id": IMPORT_ID, "run_id": RUN_ID}),
    ("bridge raw log tool", "bridge", common.BRIDGE_CSV_LOGS, {"id": IMPORT_ID, "run_id": RUN_ID}),
]


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if getattr(block, "type", "") == "text")


def holds(result: Any) -> str:
    data = result.structured_content or {}
    if result.is_error:
        return "error: " + text_of(result)[:80]
    if "cause" in data:
        fix = data.get("fix") or {}
        evidence = len(data.get("evidence", []))
        return f"cause {data['cause']}, {evidence} evidence lines, fix {fix.get('tool')} {fix.get('arguments')}"
    if "lines" in data:
        return f"{len(data['lines'])} lines, {data.get('examined')} examined, complete={data.get('complete')}"
    items = data.get("items", data.get("result"))
    if isinstance(items, list):
        more = " (cut to the result budget)" if data.get("truncated") else ""
        return f"{len(items)} lines{more}"
    return "?"


async def main_async(args: argparse.Namespace) -> None:
    from mcp import Client

    common.serve_like_logging()
    common.ensure_bridge()
    print(f"civis-mcp vs the bridge ({common.bridge_version()}); run {RUN_ID} with {args.lines:,} added log lines")
    print(common.machine())
    with common.upstream("sandbox", "--log-run", str(RUN_ID), "--log-lines", str(args.lines)) as up:
        print(f"sandbox seeded: run {RUN_ID} has {up.info['log_lines']:,} lines (took {up.info['seed_seconds']} s)")
        times: dict[str, list[float]] = {label: [] for label, *_ in CALLS}
        results: dict[str, Any] = {}
        requests: dict[str, int] = {}
        memory: dict[str, tuple[int | None, int | None]] = {}
        for rep in range(args.reps):
            order = CALLS[rep % len(CALLS) :] + CALLS[: rep % len(CALLS)]
            for label, side_name, tool, arguments in order:
                # A fresh server for every call, so that its peak memory is this call's.
                side = common.bridge(up.url, up.api_key) if side_name == "bridge" else common.ours(up.url, up.api_key)
                async with AsyncExitStack() as stack:
                    before = common.child_pids(side.marker)
                    client = common.unvalidated(await stack.enter_async_context(Client(side.transport())))
                    pid = next(iter(common.child_pids(side.marker) - before), None)
                    await client.list_tools()
                    await asyncio.sleep(1.0)  # civis-mcp builds its tools in the background after the listing
                    rss = common.vm_rss(pid) if pid else None
                    up.reset()
                    started = time.perf_counter()
                    result = await client.call_tool(tool, arguments, read_timeout_seconds=300)
                    times[label].append(time.perf_counter() - started)
                    requests[label] = up.stats()["requests"]
                    hwm = common.vm_hwm(pid) if pid else None
                    results[label] = result
                    previous = memory.get(label, (None, None))
                    memory[label] = (rss, max(hwm or 0, previous[1] or 0) or None)

        heap: dict[str, int] = {}
        from pydantic import SecretStr

        from civis_mcp.config import Settings
        from civis_mcp.server import build_server

        server = build_server(Settings(api_key=SecretStr(up.api_key), api_endpoint=up.url))
        async with Client(server) as client:
            common.unvalidated(client)
            for label, side_name, tool, arguments in CALLS:
                if side_name != "ours":
                    continue
                await client.call_tool(tool, arguments)  # built, connected
                tracemalloc.start()
                await client.call_tool(tool, arguments, read_timeout_seconds=300)
                heap[label] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()

    common.heading(
        f"Big logs: run {RUN_ID} of CSV import {IMPORT_ID}, {args.lines:,} added lines; stdio, median of {args.reps}"
    )
    rows = []
    for label, *_ in CALLS:
        result = results[label]
        size = len(result.model_dump_json(by_alias=True, exclude_none=True).encode())
        rss, hwm = memory[label]
        rows.append(
            [
                label,
                f"{statistics.median(times[label]):.2f}",
                f"{common.mib(hwm)} ({common.mib(rss)} before)",
                common.mib(heap.get(label)) if label in heap else "-",
                f"{size:,}",
                f"{count_tokens(text_of(result)):,}",
                requests[label],
                holds(result),
            ]
        )
    headers = [
        "tool",
        "time s",
        "peak memory (VmHWM)",
        "heap peak",
        "answer bytes",
        "answer tokens",
        "requests",
        "answer holds",
    ]
    print(common.table(headers, rows))
    ours, theirs = results["civis-mcp diagnose"], results["bridge raw log tool"]
    ours_size = len(ours.model_dump_json(by_alias=True, exclude_none=True).encode())
    theirs_size = len(theirs.model_dump_json(by_alias=True, exclude_none=True).encode())
    ours_time = statistics.median(times["civis-mcp diagnose"])
    theirs_time = statistics.median(times["bridge raw log tool"])
    print(
        f"diagnose vs the bridge's raw log tool: time {common.ratio(ours_time, theirs_time)}, "
        f"answer bytes {common.ratio(ours_size, theirs_size)}, peak memory "
        f"{common.ratio(memory['civis-mcp diagnose'][1], memory['bridge raw log tool'][1])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000, help="log lines to add to the run")
    parser.add_argument("--reps", type=int, default=3, help="calls of each tool (each with a fresh server)")
    common.run(lambda: main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
