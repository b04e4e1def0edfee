"""``tool_manifests/``: the exact ``tools/list`` entry of every tool, checked in so a schema change shows in review.

``civis-mcp manifest`` writes the files; ``civis-mcp manifest --check`` fails when they differ from the code (CI runs
it). Keys are sorted, so the files change only when the tools do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from mcp_types import Tool as MCPTool

from civis_mcp.config import Settings
from civis_mcp.operations import OPERATIONS_BY_TOOL
from civis_mcp.server import build_server
from civis_mcp.workflows import WORKFLOWS

WORKFLOW_BY_NAME = {wf.name: wf for wf in WORKFLOWS}

__all__ = ["DEFAULT_DIR", "check", "render", "write"]

DEFAULT_DIR = Path("tool_manifests")
INDEX = "index.json"


def _listed_tools() -> list[MCPTool]:
    server = build_server(Settings())
    return anyio.run(server.list_tools)


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render() -> dict[str, str]:
    """File name -> content, for every manifest file."""
    tools = sorted(_listed_tools(), key=lambda tool: tool.name)
    files = {
        f"{tool.name}.json": _dump(tool.model_dump(mode="json", by_alias=True, exclude_none=True)) for tool in tools
    }
    index = []
    for tool in tools:
        op = OPERATIONS_BY_TOOL.get(tool.name)
        entry: dict[str, Any] = {"name": tool.name, "title": tool.title}
        if op is not None:
            entry |= {"safety": op.safety_class.value, "toolset": op.toolset.value, "verb": op.verb, "path": op.path}
        else:
            workflow = WORKFLOW_BY_NAME[tool.name]
            entry |= {"safety": "read", "toolset": workflow.toolset.value, "workflow": True}
        index.append(entry)
    files[INDEX] = _dump({"tools": index})
    return files


def write(directory: Path = DEFAULT_DIR) -> list[str]:
    """Write every manifest file and delete stale ones; return the names of files that changed."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = render()
    changed = []
    for name, content in wanted.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            changed.append(name)
    for path in directory.glob("*.json"):
        if path.name not in wanted:
            path.unlink()
            changed.append(path.name)
    return sorted(changed)


def check(directory: Path = DEFAULT_DIR) -> list[str]:
    """Names of manifest files that are missing, stale or left over; empty when the directory matches the code."""
    wanted = render()
    problems = []
    for name, content in wanted.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{name}: differs from the code")
    if directory.exists():
        problems += [f"{path.name}: no such tool" for path in directory.glob("*.json") if path.name not in wanted]
    return sorted(problems)
