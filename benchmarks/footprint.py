"""Context footprint: what each server puts in a model's context, civis-mcp beside the generic OpenAPI bridge.

    python benchmarks/footprint.py [--per-tool]

Both servers are started over stdio and asked ``tools/list``; the answers are measured as they came over the wire.
Tokens are o200k_base (bpe-openai) of each tool's model view (compact JSON of name, description and input schema;
see ``benchmarks/measure.py``), per tool, per toolset and in total; "all" is the whole ``tools/list`` answer, output
schemas included. The bridge's tools are matched to civis-mcp's by HTTP verb and path (the bridge names tools after
the spec's summaries, e.g. ``Get_the_logs_for_a_run_3``; ``bridge_server.py --routes`` says which route each
calls); its two extra tools are the spec's deprecated DELETEs.
Exact counts: one run is enough.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import Any

import common

from benchmarks.measure import (
    BRIDGE_TOOLS_LIST_BYTES,
    OPERATION_TOKENS_TARGET,
    compact,
    count_tokens,
    model_tokens,
    tools_list_bytes,
    untyped_or_undescribed,
)


def _fields(schema: dict[str, Any]) -> int:
    """Input fields, nested ones included (the denominator of the typed-and-described check)."""
    count = 0

    def walk(obj: dict[str, Any]) -> None:
        nonlocal count
        for field in obj.get("properties", {}).values():
            count += 1
            for inner in (field, field.get("items") or {}, *(field.get("anyOf") or [])):
                if isinstance(inner, dict) and "properties" in inner:
                    walk(inner)

    walk(schema)
    return count


def measure() -> dict[str, Any]:
    from civis_mcp.catalog import load_catalog
    from civis_mcp.operations import OPERATIONS

    common.ensure_bridge()
    _, ours_line = common.raw_tools_list(common.ours())
    _, bridge_line = common.raw_tools_list(common.bridge())
    ours_tools: list[dict[str, Any]] = json.loads(ours_line)["result"]["tools"]
    bridge_tools: list[dict[str, Any]] = json.loads(bridge_line)["result"]["tools"]

    routes = common.bridge_routes()
    bridge_by_name = {tool["name"]: tool for tool in bridge_tools}
    if set(routes) != set(bridge_by_name):
        raise RuntimeError("the bridge's --routes names differ from its tools/list names")
    bridge_by_route = {route: bridge_by_name[name] for name, route in routes.items()}

    catalog = {entry.name: entry for entry in load_catalog()}
    ours_by_name = {tool["name"]: tool for tool in ours_tools}
    pairs = []
    for op in sorted(OPERATIONS, key=lambda op: op.tool_name):
        mine, theirs = ours_by_name[op.tool_name], bridge_by_route[(op.verb, op.path)]
        pairs.append(
            {
                "ours": op.tool_name,
                "bridge": theirs["name"],
                "toolset": catalog[op.tool_name].toolset,
                "safety": catalog[op.tool_name].safety,
                "ours_tokens": model_tokens(mine),
                "bridge_tokens": model_tokens(theirs),
                "ours_bytes": len(compact(mine).encode()),
                "bridge_bytes": len(compact(theirs).encode()),
                "ours_input_bytes": len(compact(mine["inputSchema"]).encode()),
                "ours_output_bytes": len(compact(mine.get("outputSchema") or {}).encode()),
            }
        )
    op_names = {pair["ours"] for pair in pairs}
    paired_bridge = {pair["bridge"] for pair in pairs}
    workflows = [tool for tool in ours_tools if tool["name"] not in op_names]

    def typed(tools: list[dict[str, Any]]) -> dict[str, int]:
        problems = [p for tool in tools for p in untyped_or_undescribed(tool["inputSchema"])]
        return {
            "fields": sum(_fields(tool["inputSchema"]) for tool in tools),
            "untyped": sum(p.endswith("no type") for p in problems),
            "undescribed": sum(p.endswith("no description") for p in problems),
        }

    wire_check = tools_list_bytes(ours_tools) == len(ours_line) and tools_list_bytes(bridge_tools) == len(bridge_line)
    return {
        "bridge_version": common.bridge_version(),
        "pairs": pairs,
        "ours_count": len(ours_tools),
        "bridge_count": len(bridge_tools),
        "ours_op_tokens": sum(pair["ours_tokens"] for pair in pairs),
        "bridge_op_tokens": sum(pair["bridge_tokens"] for pair in pairs),
        "ours_workflow_tokens": sum(model_tokens(tool) for tool in workflows),
        "ours_model_tokens": sum(model_tokens(tool) for tool in ours_tools),
        "bridge_model_tokens": sum(model_tokens(tool) for tool in bridge_tools),
        "bridge_unpaired": sorted(tool["name"] for tool in bridge_tools if tool["name"] not in paired_bridge),
        "ours_all_tokens": count_tokens(ours_line.decode()),
        "bridge_all_tokens": count_tokens(bridge_line.decode()),
        "ours_bytes": len(ours_line),
        "bridge_bytes": len(bridge_line),
        "ours_input_bytes": sum(len(compact(t["inputSchema"]).encode()) for t in ours_tools),
        "ours_output_bytes": sum(len(compact(t.get("outputSchema") or {}).encode()) for t in ours_tools),
        "bridge_input_bytes": sum(len(compact(t["inputSchema"]).encode()) for t in bridge_tools),
        "bridge_output_bytes": sum(len(compact(t.get("outputSchema") or {}).encode()) for t in bridge_tools),
        "ours_typed": typed([ours_by_name[name] for name in op_names]),
        "bridge_typed": typed(bridge_tools),
        "ours_annotated": sum("annotations" in tool for tool in ours_tools),
        "bridge_annotated": sum("annotations" in tool for tool in bridge_tools),
        "wire_check": wire_check,
    }


def report(f: dict[str, Any], per_tool: bool) -> None:
    print(
        f"civis-mcp vs the bridge: {f['bridge_version']}, FastMCP.from_openapi on the spec converted by swagger2openapi"
    )
    print(common.machine())

    common.heading("Context footprint (o200k_base tokens, bytes)")
    bytes_target = BRIDGE_TOOLS_LIST_BYTES // 3
    ot, bt = f["ours_typed"], f["bridge_typed"]
    rows = [
        ["tools listed", f["ours_count"], f["bridge_count"], "-", "-", "-"],
        [
            "46 operation tools: name+description+input schema, tokens",
            f["ours_op_tokens"],
            f["bridge_op_tokens"],
            common.ratio(f["ours_op_tokens"], f["bridge_op_tokens"]),
            f"<= {OPERATION_TOKENS_TARGET:,}",
            _met(f["ours_op_tokens"] <= OPERATION_TOKENS_TARGET),
        ],
        ["3 workflow tools (ours only), tokens", f["ours_workflow_tokens"], "-", "-", "-", "-"],
        [
            "every listed tool: name+description+input schema, tokens",
            f["ours_model_tokens"],
            f["bridge_model_tokens"],
            common.ratio(f["ours_model_tokens"], f["bridge_model_tokens"]),
            "-",
            "-",
        ],
        [
            "whole tools/list answer, tokens",
            f["ours_all_tokens"],
            f["bridge_all_tokens"],
            common.ratio(f["ours_all_tokens"], f["bridge_all_tokens"]),
            "-",
            "-",
        ],
        [
            "whole tools/list answer, bytes",
            f["ours_bytes"],
            f["bridge_bytes"],
            common.ratio(f["ours_bytes"], f["bridge_bytes"]),
            f"<= {bytes_target:,} (1/3 of {BRIDGE_TOOLS_LIST_BYTES:,})",
            _met(f["ours_bytes"] <= bytes_target),
        ],
        ["  of which input schemas, bytes", f["ours_input_bytes"], f["bridge_input_bytes"], "-", "-", "-"],
        ["  of which output schemas, bytes", f["ours_output_bytes"], f["bridge_output_bytes"], "-", "-", "-"],
        [
            "input fields of the 46 (bridge: 48) tools, nested included",
            ot["fields"],
            bt["fields"],
            "-",
            "-",
            "-",
        ],
        ["  without a type", ot["untyped"], bt["untyped"], "-", "0", _met(ot["untyped"] == 0)],
        ["  without a description", ot["undescribed"], bt["undescribed"], "-", "0", _met(ot["undescribed"] == 0)],
        [
            "tools with annotations (read-only, destructive ...)",
            f["ours_annotated"],
            f["bridge_annotated"],
            "-",
            "-",
            "-",
        ],
    ]
    print(common.table(["figure", "civis-mcp", "bridge", "ratio", "target", "met"], rows))
    over = f["ours_op_tokens"] - OPERATION_TOKENS_TARGET
    if over > 0:
        print(f"Token target missed by {over:,} ({over / OPERATION_TOKENS_TARGET:.1%}).")
    over_bytes = f["ours_bytes"] - bytes_target
    if over_bytes > 0:
        print(
            f"Bytes target missed by {over_bytes:,} ({over_bytes / bytes_target:.1%}); output schemas are "
            f"{f['ours_output_bytes']:,} of the {f['ours_bytes']:,} bytes."
        )
    print(
        "The bridge's tools without a civis-mcp counterpart (deprecated in the spec): "
        + ", ".join(f["bridge_unpaired"])
    )
    print(f"Byte count re-serialized from the parsed answer equals the wire: {f['wire_check']}")

    common.heading("Per toolset (the 46 operation tools; the bridge's tools for the same operations)")
    sets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pair in f["pairs"]:
        s = sets[pair["toolset"]]
        s["tools"] += 1
        for key in ("ours_tokens", "bridge_tokens", "ours_bytes", "bridge_bytes"):
            s[key] += pair[key]
    rows = [
        [
            name,
            s["tools"],
            s["ours_tokens"],
            s["bridge_tokens"],
            common.ratio(s["ours_tokens"], s["bridge_tokens"]),
            s["ours_bytes"],
            s["bridge_bytes"],
            common.ratio(s["ours_bytes"], s["bridge_bytes"]),
        ]
        for name, s in sorted(sets.items())
    ]
    print(
        common.table(
            ["toolset", "tools", "tokens ours", "tokens bridge", "ratio", "bytes ours", "bytes bridge", "ratio"], rows
        )
    )

    pairs = sorted(f["pairs"], key=lambda p: -p["ours_bytes"])
    if per_tool:
        common.heading("Per tool (tokens: name+description+input schema; bytes: the whole tools/list entry)")
        rows = [
            [
                p["ours"],
                p["ours_tokens"],
                p["bridge"],
                p["bridge_tokens"],
                common.ratio(p["ours_tokens"], p["bridge_tokens"]),
                p["ours_input_bytes"],
                p["ours_output_bytes"],
                p["ours_bytes"],
                p["bridge_bytes"],
            ]
            for p in pairs
        ]
        headers = ["civis-mcp tool", "tokens", "bridge tool", "tokens", "ratio", "in B", "out B", "bytes", "bridge B"]
        print(common.table(headers, rows))
    else:
        common.heading("Largest civis-mcp tools/list entries (--per-tool shows all 46)")
        rows = [
            [p["ours"], p["ours_tokens"], p["ours_input_bytes"], p["ours_output_bytes"], p["ours_bytes"]]
            for p in pairs[:8]
        ]
        print(common.table(["tool", "tokens", "input schema B", "output schema B", "entry B"], rows))


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-tool", action="store_true", help="print every tool's figures")
    args = parser.parse_args()
    report(measure(), args.per_tool)


if __name__ == "__main__":
    main()
