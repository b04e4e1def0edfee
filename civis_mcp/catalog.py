"""The tool catalog: every tool's exact ``tools/list`` entry, its safety class and toolset, pre-built.

``civis_mcp/catalog.json`` is generated from the code by ``civis-mcp manifest`` (with ``tool_manifests/``) and checked
by ``civis-mcp manifest --check``: the code stays the one source, the file is its compiled form. The server answers
``tools/list`` from it, so starting needs neither the models nor schema generation; a tool is built from the code
the first time it is called (or by a warm-up after the first listing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["CATALOG_PATH", "TOOLSETS", "CatalogEntry", "load_catalog", "render_catalog"]

CATALOG_PATH = Path(__file__).with_name("catalog.json")
TOOLSETS = ("imports", "csv", "files", "runs", "sharing", "projects")
"""The toolset names, for start-up checks without loading the table (a test checks them against ``Toolset``)."""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    safety: str
    toolset: str
    listing: dict[str, Any]
    """The exact ``tools/list`` entry (camelCase wire form)."""


@cache
def load_catalog() -> tuple[CatalogEntry, ...]:
    """The catalog as shipped with the package; a clear error when it is missing."""
    try:
        raw = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuntimeError(f"{CATALOG_PATH} is missing; run `civis-mcp manifest` to generate it.") from None
    return tuple(CatalogEntry(e["name"], e["safety"], e["toolset"], e["listing"]) for e in raw["tools"])


def render_catalog() -> dict[str, Any]:
    """Build every tool from the code and describe it; the content of ``catalog.json``."""
    from civis_mcp.operations import OPERATIONS
    from civis_mcp.tools import build_tools, listing_of
    from civis_mcp.workflows import WORKFLOWS

    meta = {op.tool_name: (op.safety_class.value, op.toolset.value) for op in OPERATIONS}
    meta |= {wf.name: ("read", wf.toolset.value) for wf in WORKFLOWS}
    tools = sorted(build_tools(), key=lambda tool: tool.name)
    return {
        "tools": [
            {
                "name": tool.name,
                "safety": meta[tool.name][0],
                "toolset": meta[tool.name][1],
                "listing": listing_of(tool),
            }
            for tool in tools
        ]
    }
