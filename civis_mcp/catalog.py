"""The tool catalog: every tool's exact ``tools/list`` entry, its safety class and toolset, pre-built.

``civis_mcp/catalog.json`` is generated from the code by ``civis-mcp manifest`` (with ``tool_manifests/``) and checked
by ``civis-mcp manifest --check``: the code stays the one source, the file is its compiled form. The server answers
``tools/list`` from it, so starting needs neither the models nor schema generation; a tool is built from the code
the first time it is called (the operation table and its models load in the background after the first listing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from civis_mcp.api.errors import ConfigurationError
from civis_mcp.config import Settings
from civis_mcp.profiles import gateway_shaped, parse_profile, reads_only
from civis_mcp.vocabulary import Toolset

__all__ = [
    "CATALOG_PATH",
    "TOOLSETS",
    "CatalogEntry",
    "check_settings",
    "load_catalog",
    "not_offered_reason",
    "offered",
    "profile_entries",
    "render_catalog",
    "selected_entries",
    "within_bounds",
]

CATALOG_PATH = Path(__file__).with_name("catalog.json")
TOOLSETS: tuple[str, ...] = tuple(toolset.value for toolset in Toolset)
"""The toolset names, for start-up checks (``vocabulary`` is light: the operations table is not loaded)."""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    safety: str
    toolset: str
    listing: dict[str, Any]
    """The exact ``tools/list`` entry (camelCase wire form)."""
    local_files: bool = False
    """Reads files on the server's own disk, so it is offered over stdio only."""
    kind: str = "operation"
    """``operation`` (one typed tool per entry of OPERATIONS), ``workflow`` or ``gateway`` (see ``profiles``)."""


@cache
def load_catalog() -> tuple[CatalogEntry, ...]:
    """The catalog as shipped with the package; a clear error when it is missing."""
    try:
        raw = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuntimeError(f"{CATALOG_PATH} is missing; run `civis-mcp manifest` to generate it.") from None
    return tuple(
        CatalogEntry(e["name"], e["safety"], e["toolset"], e["listing"], bool(e.get("local_files")), e["kind"])
        for e in raw["tools"]
    )


def render_catalog() -> dict[str, Any]:
    """Build every tool from the code and describe it; the content of ``catalog.json``."""
    from civis_mcp.gateway import GATEWAY
    from civis_mcp.operations import OPERATIONS
    from civis_mcp.tools import build_tools, listing_of
    from civis_mcp.workflows import WORKFLOWS

    meta = {op.tool_name: (op.safety_class.value, op.toolset.value, False, "operation") for op in OPERATIONS}
    meta |= {wf.name: (wf.safety.value, wf.toolset.value, wf.local_files, "workflow") for wf in WORKFLOWS}
    meta |= {wf.name: (wf.safety.value, wf.toolset.value, False, "gateway") for wf in GATEWAY}
    tools = sorted(build_tools(), key=lambda tool: tool.name)
    return {
        "tools": [
            {
                "name": tool.name,
                "safety": meta[tool.name][0],
                "toolset": meta[tool.name][1],
                **({"local_files": True} if meta[tool.name][2] else {}),
                "kind": meta[tool.name][3],
                "listing": listing_of(tool),
            }
            for tool in tools
        ]
    }


def check_settings(settings: Settings) -> None:
    """``ConfigurationError`` naming the valid choices when a profile, toolset or tool name in the settings is wrong."""
    try:
        parse_profile(settings.profile, "--profile (or CIVIS_MCP_PROFILE)")
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    entries = {entry.name: entry for entry in load_catalog()}
    unknown_sets = sorted((settings.toolsets or frozenset()) - set(TOOLSETS))
    if unknown_sets:
        raise ConfigurationError(f"Unknown toolset(s) {unknown_sets}; valid toolsets: {', '.join(TOOLSETS)}.")
    for option, names in (("--tools", settings.tools), ("--allow-unconfirmed", settings.allow_unconfirmed)):
        unknown = sorted((names or frozenset()) - set(entries))
        if unknown:
            raise ConfigurationError(f"{option}: unknown tool(s) {unknown}; `civis-mcp tools` lists the valid names.")
    not_guarded = sorted(
        name
        for name in settings.allow_unconfirmed
        if entries[name].safety != "destructive" or entries[name].kind == "gateway"
    )
    if not_guarded:
        raise ConfigurationError(
            f"--allow-unconfirmed: {not_guarded} never ask for confirmation (they have no effect policy); "
            "name only destructive tools."
        )
    if settings.audit_required and settings.audit_log is None:
        raise ConfigurationError("--audit-required needs an audit log: add --audit-log PATH (or CIVIS_MCP_AUDIT_LOG).")


def selected_entries(settings: Settings) -> list[CatalogEntry]:
    """The tools these settings list: the profile's shape (typed tools or the gateway), then the operator's bounds.
    Read-only wins over both lists; it filters on the safety class itself."""
    return [entry for entry in load_catalog() if offered(entry, settings)]


def offered(entry: CatalogEntry, settings: Settings) -> bool:
    """Whether these settings list ``entry``: the profile's shape, then the operator's bounds."""
    return _shape_offers(entry, settings) and within_bounds(entry, settings)


def profile_entries(settings: Settings) -> list[CatalogEntry]:
    """The tools of the profile's shape (the typed tools or the gateway, and the workflows) before the operator's
    bounds: what ``selected_entries`` picks from."""
    return [entry for entry in load_catalog() if _shape_offers(entry, settings)]


def within_bounds(entry: CatalogEntry, settings: Settings) -> bool:
    """The operator's bounds (--tools, --toolsets, read-only, no local files over HTTP); they also decide which
    operations the gateway reaches. The gateway's own three tools are bounded by what they reach instead."""
    if entry.kind == "gateway":
        return True
    return (
        (settings.tools is None or entry.name in settings.tools)
        and (settings.toolsets is None or entry.toolset in settings.toolsets)
        and (not reads_only(settings) or entry.safety == "read")
        and (settings.transport == "stdio" or not entry.local_files)
    )


def _shape_offers(entry: CatalogEntry, settings: Settings) -> bool:
    if entry.kind == "workflow":
        return True
    return (entry.kind == "gateway") == gateway_shaped(settings)


def not_offered_reason(name: str, settings: Settings) -> str | None:
    """Why a tool that exists is not offered under these settings; None when it does not exist or is offered."""
    entry = next((entry for entry in load_catalog() if entry.name == name), None)
    if entry is None:
        return None
    if not _shape_offers(entry, settings):
        if entry.kind == "gateway":
            return "the gateway belongs to the compact profile; this server lists the typed tools"
        if within_bounds(entry, settings):
            return (
                f"the server runs the compact profile; call it through imports_call with operation={name!r} "
                "(imports_describe_operation gives its arguments)"
            )
    if entry.local_files and settings.transport != "stdio":
        return "it reads files on the server's own disk, which is never offered over HTTP"
    if reads_only(settings) and entry.safety != "read":
        return "the server runs read-only (--read-only, the read-only profile, or CIVIS_MCP_READ_ONLY)"
    if settings.tools is not None and name not in settings.tools:
        return "it is not in the --tools allow-list"
    if settings.toolsets is not None and entry.toolset not in settings.toolsets:
        return f"its toolset {entry.toolset!r} is not in --toolsets"
    return None
