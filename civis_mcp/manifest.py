"""``tool_manifests/`` and ``civis_mcp/catalog.json``: the exact ``tools/list`` entry of every tool, generated.

``civis-mcp manifest`` writes both from the code; ``civis-mcp manifest --check`` fails when either differs (CI runs
it). The manifests are for review (one sorted-key file per tool, so a schema change shows in a diff); the catalog is
what the server lists from at start-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from civis_mcp.catalog import CATALOG_PATH, CatalogEntry, offered, render_catalog
from civis_mcp.config import Settings
from civis_mcp.profiles import Profile

__all__ = ["DEFAULT_DIR", "check", "render", "write"]

DEFAULT_DIR = Path("tool_manifests")
INDEX = "index.json"


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render() -> tuple[dict[str, str], str]:
    """(manifest file name -> content, catalog content), both from one build of the tools."""
    from civis_mcp.operations import OPERATIONS_BY_TOOL

    catalog = render_catalog()
    # Which profiles list each tool (stdio, no --tools or --toolsets), so that a change of profile shows in a diff.
    entries = [
        CatalogEntry(e["name"], e["safety"], e["toolset"], e["listing"], bool(e.get("local_files")), e["kind"])
        for e in catalog["tools"]
    ]
    listed = {profile: {e.name for e in entries if offered(e, Settings(profile=profile.value))} for profile in Profile}
    files = {f"{entry['name']}.json": _dump(entry["listing"]) for entry in catalog["tools"]}
    index = []
    for entry in catalog["tools"]:
        item: dict[str, Any] = {
            "name": entry["name"],
            "title": entry["listing"].get("title"),
            "safety": entry["safety"],
            "toolset": entry["toolset"],
        }
        item["profiles"] = [profile.value for profile in Profile if entry["name"] in listed[profile]]
        op = OPERATIONS_BY_TOOL.get(entry["name"])
        item |= {"verb": op.verb, "path": op.path} if op is not None else {entry["kind"]: True}
        index.append(item)
    files[INDEX] = _dump({"tools": index})
    # The catalog keeps the key order the code gives (schema.compact_input orders keys for fewer tokens).
    return files, json.dumps(catalog, ensure_ascii=False, separators=(",", ":")) + "\n"


def write(directory: Path = DEFAULT_DIR, catalog_path: Path = CATALOG_PATH) -> list[str]:
    """Write every manifest file and the catalog, delete stale manifests; return what changed."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted, catalog = render()
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
    if not catalog_path.exists() or catalog_path.read_text(encoding="utf-8") != catalog:
        catalog_path.write_text(catalog, encoding="utf-8")
        changed.append(str(catalog_path.name))
    return sorted(changed)


def check(directory: Path = DEFAULT_DIR, catalog_path: Path = CATALOG_PATH) -> list[str]:
    """What is missing, stale or left over; empty when the manifests and the catalog match the code."""
    wanted, catalog = render()
    problems = []
    for name, content in wanted.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{name}: differs from the code")
    if directory.exists():
        problems += [f"{path.name}: no such tool" for path in directory.glob("*.json") if path.name not in wanted]
    if not catalog_path.exists() or catalog_path.read_text(encoding="utf-8") != catalog:
        problems.append(f"{catalog_path.name}: differs from the code")
    return sorted(problems)
