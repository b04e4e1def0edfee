"""Adds ONE throw-away entry to ``OPERATIONS`` (with its models, assessor and sandbox handler), then reports what the
rest of civis-mcp made of it. Run by ``tests/test_one_table.py`` in a fresh interpreter (``main(DIR)``
prints a JSON report); imported under its own name, so that the sandbox finds the handler in this same module.

The entry is appended to the table before any other module of civis-mcp reads it, exactly as if it had been written
in ``civis_mcp/operations.py``; nothing else is declared anywhere. The manifests and the catalog are regenerated into
DIR, as ``civis-mcp manifest`` would write them into the repository.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from pydantic import Field

import civis_mcp.operations as table
from civis_mcp.effects import Assessment, Effect, Guard
from civis_mcp.models.base import RequestModel, ResponseModel
from civis_mcp.models.common import ImportId
from civis_mcp.vocabulary import Role, Toolset

TOOL = "imports_post_batches_halt"
HANDLED: list[int] = []
"""The IDs the sandbox handler was called with: what reached the sandbox."""


class HaltBatchParams(RequestModel):
    """Arguments of the throw-away operation."""

    id: ImportId
    reason: str | None = Field(default=None, description="Why it is halted.")


class HaltedBatch(ResponseModel):
    """Its answer."""

    id: int | None = None
    state: str | None = None


async def assess_halt(live: Any, params: HaltBatchParams) -> Assessment:
    return Assessment(action=f"halt batch import #{params.id}", effects=frozenset({Effect.STOPS}))


def halt_batch(ctx: Any, params: HaltBatchParams) -> Any:
    from civis_mcp.sandbox.handlers import Reply

    HANDLED.append(params.id)
    return Reply(200, {"id": params.id, "state": "halted"})


THROWAWAY = table.Operation(
    method="post_batches_halt",
    verb="POST",
    path="/imports/batches/{id}/halt",
    params=HaltBatchParams,
    response=HaltedBatch,
    title="Halt a batch import",
    description="Halt a batch import (a throw-away operation of the tests).",
    toolset=Toolset.FILES,
    sandbox="tests.one_table_probe:halt_batch",
    role=Role.CANCEL,
    guard=Guard(effects=frozenset({Effect.STOPS}), rule="always: halts the batch", assess=assess_halt),
)
table.OPERATIONS = (*table.OPERATIONS, THROWAWAY)
table.OPERATIONS_BY_TOOL[THROWAWAY.tool_name] = THROWAWAY


async def _call_through_mcp(url: str, key: str, answer: str) -> dict[str, Any]:
    """List the tools and call the throw-away one over the SDK client, the human answering ``answer``."""
    from mcp import Client, types
    from pydantic import SecretStr

    from civis_mcp.config import Settings
    from civis_mcp.server import build_server

    questions: list[str] = []

    async def human(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        if answer == "yes":
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action="decline")

    settings = Settings(api_key=SecretStr(key), api_endpoint=url)
    async with Client(build_server(settings), elicitation_callback=human) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        before = len(HANDLED)
        result = await client.call_tool(TOOL, {"id": 4242})
        annotations = listed[TOOL].annotations if TOOL in listed else None
        return {
            "listed": TOOL in listed,
            "destructive_hint": None if annotations is None else annotations.destructive_hint,
            "questions": questions,
            "is_error": result.is_error,
            "structured": result.structured_content,
            "reached_sandbox": len(HANDLED) - before,
        }


def main(directory: str) -> None:
    print(json.dumps(probe(Path(directory))))


def probe(directory: Path) -> dict[str, Any]:
    from civis_mcp import catalog, manifest
    from civis_mcp.sandbox import SandboxConfig, running_sandbox
    from civis_mcp.vocabulary import Kind
    from civis_mcp.workflows.kinds import KIND_TOOLS

    catalog.CATALOG_PATH = directory / "catalog.json"
    manifest.write(directory / "manifests", catalog.CATALOG_PATH)
    entry = next((e for e in catalog.load_catalog() if e.name == TOOL), None)
    index = json.loads((directory / "manifests" / "index.json").read_text(encoding="utf-8"))
    report: dict[str, Any] = {
        "catalog": None if entry is None else {"safety": entry.safety, "toolset": entry.toolset},
        "manifest": (directory / "manifests" / f"{TOOL}.json").exists(),
        "index": next((item for item in index["tools"] if item["name"] == TOOL), None),
        "batch_cancel_tool": KIND_TOOLS[Kind.BATCH].cancel,
    }
    with running_sandbox(SandboxConfig(seed_demo_data=False)) as sandbox:
        report["declined"] = asyncio.run(_call_through_mcp(sandbox.url, sandbox.api_key, "no"))
        report["confirmed"] = asyncio.run(_call_through_mcp(sandbox.url, sandbox.api_key, "yes"))
    return report
