"""Start-up: from spawning the server to the first ``tools/list`` answered over stdio.

    python benchmarks/startup.py [--rounds 15]

Three servers, each spawned fresh every round, in a rotating order (interleaved, so that load on a shared machine
hits all three alike): civis-mcp (``python -m civis_mcp serve``), the bridge, and the floor, a bare MCPServer of
the same SDK with one tool (``benchmarks/floor_server.py``): what any Python MCP server pays to start. The client is a
raw JSON-RPC writer on the pipes (initialize, initialized, tools/list sent at once), so that the client costs nothing.
Target: civis-mcp's median <= 1.25x the floor's. The paired ratio is the median of each round's own ratio. A fourth,
diagnostic row (``--no-direct`` leaves it out) starts civis-mcp's server with ``build_server().run("stdio")``
instead of ``civis-mcp serve``: the difference is what the command line costs.
"""

from __future__ import annotations

import argparse
import statistics

import common

from benchmarks.measure import percentile

TARGET = 1.25
# Diagnostic: the same server started without ``civis-mcp serve``'s command line (its parser and set-up), to show
# what the CLI costs. Logging as ``serve`` sets it up by default.
DIRECT = (
    "import logging, sys\n"
    "handler = logging.StreamHandler(sys.stderr)\n"
    "logging.getLogger().handlers[:] = [handler]\n"
    "logging.getLogger().setLevel('INFO')\n"
    "from civis_mcp.server import build_server\n"
    "build_server().run('stdio')\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="spawns of each server (at least 10)")
    parser.add_argument(
        "--no-direct", action="store_true", help="leave out civis-mcp started without its CLI (the diagnostic row)"
    )
    args = parser.parse_args()
    rounds = max(10, args.rounds)
    common.ensure_bridge()
    sides = {"floor": common.floor(), "civis-mcp": common.ours(), "bridge": common.bridge()}
    if not args.no_direct:
        sides["direct"] = common.Side(
            "civis-mcp, build_server() without the CLI",
            [common.PYTHON, "-c", DIRECT],
            common.ours().env,
        )
    for side in sides.values():  # one unmeasured start each: byte-compiled files, page cache
        common.raw_tools_list(side)
    times: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for number in range(rounds):
        shift = number % len(order)
        for name in order[shift:] + order[:shift]:
            seconds, line = common.raw_tools_list(sides[name])
            if b'"tools"' not in line:
                raise RuntimeError(f"{name}: not a tools/list answer")
            times[name].append(seconds)

    print(f"civis-mcp vs the bridge ({common.bridge_version()}) vs the floor; {rounds} spawns each, interleaved")
    print(common.machine())
    common.heading("Start-up: spawn -> first tools/list answered over stdio (seconds)")
    median = {name: statistics.median(values) for name, values in times.items()}
    rows = [
        [
            sides[name].label,
            f"{median[name]:.3f}",
            f"{min(times[name]):.3f}",
            f"{percentile(times[name], 90):.3f}",
            common.ratio(median[name], median["floor"]),
        ]
        for name in ("civis-mcp", "bridge", "floor", "direct")
        if name in sides
    ]
    print(common.table(["server", "median", "min", "p90", "x floor"], rows))
    paired = statistics.median(o / f for o, f in zip(times["civis-mcp"], times["floor"], strict=True))
    paired_bridge = statistics.median(b / o for b, o in zip(times["bridge"], times["civis-mcp"], strict=True))
    print(
        f"civis-mcp / floor: {median['civis-mcp'] / median['floor']:.2f}x of medians, {paired:.2f}x paired "
        f"(target <= {TARGET}x: {'met' if median['civis-mcp'] / median['floor'] <= TARGET else 'NOT met'}); "
        f"civis-mcp - floor: {1000 * (median['civis-mcp'] - median['floor']):.0f} ms"
    )
    print(
        f"bridge / civis-mcp: {median['bridge'] / median['civis-mcp']:.2f}x of medians, {paired_bridge:.2f}x paired; "
        f"bridge / floor: {median['bridge'] / median['floor']:.2f}x"
    )


if __name__ == "__main__":
    main()
