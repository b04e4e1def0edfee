"""The tool catalog as a client sees it: names, titles, annotations, schemas, argument errors, manifests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from pydantic import SecretStr

from civis_mcp import manifest
from civis_mcp.catalog import TOOLSETS, load_catalog
from civis_mcp.config import Settings
from civis_mcp.gateway import GATEWAY
from civis_mcp.operations import OPERATIONS, OPERATIONS_BY_TOOL, Safety
from civis_mcp.schema import compact_input
from civis_mcp.server import build_server
from civis_mcp.tools import build_tools, listing_of
from civis_mcp.workflows import WORKFLOWS

REFERENCE = Path(__file__).parent / "reference" / "civis_imports_swagger.json"
DOC_METHODS_41 = {
    "delete_files_csv_runs",
    "delete_files_runs",
    "delete_projects",
    "delete_shares_groups",
    "delete_shares_users",
    "get",
    "get_batches",
    "get_files_csv",
    "get_files_csv_runs",
    "get_files_runs",
    "list",
    "list_batches",
    "list_dependencies",
    "list_files_csv_runs",
    "list_files_csv_runs_logs",
    "list_files_runs",
    "list_files_runs_logs",
    "list_projects",
    "list_runs",
    "list_runs_logs",
    "list_shares",
    "patch_files_csv",
    "post",
    "post_batches",
    "post_cancel",
    "post_files",
    "post_files_csv",
    "post_files_csv_runs",
    "post_files_runs",
    "post_runs",
    "post_syncs",
    "put",
    "put_archive",
    "put_files_csv",
    "put_files_csv_archive",
    "put_projects",
    "put_shares_groups",
    "put_shares_users",
    "put_syncs",
    "put_syncs_archive",
    "put_transfer",
}
NEW_IN_CURRENT_API = {"patch", "patch_syncs", "post_clone", "get_files_runs_inputs", "get_files_csv_runs_inputs"}
DESTRUCTIVE_12 = {
    "imports_delete_files_runs",
    "imports_delete_files_csv_runs",
    "imports_delete_projects",
    "imports_delete_shares_users",
    "imports_delete_shares_groups",
    "imports_post_cancel",
    "imports_put_transfer",
    "imports_put_shares_users",
    "imports_put_shares_groups",
    "imports_put_archive",
    "imports_put_files_csv_archive",
    "imports_put_syncs_archive",
}


WORKFLOW_NAMES = {wf.name for wf in WORKFLOWS}


@pytest.fixture
async def everything() -> dict[str, Any]:
    async with Client(build_server(Settings())) as client:
        result = await client.list_tools()
    return {tool.name: tool for tool in result.tools}


@pytest.fixture
async def listed(everything: dict[str, Any]) -> dict[str, Any]:
    """The 46 operation tools."""
    return {name: tool for name, tool in everything.items() if name not in WORKFLOW_NAMES}


async def test_server_lists_the_operations_and_the_workflows(everything: dict[str, Any]) -> None:
    assert set(everything) == set(OPERATIONS_BY_TOOL) | WORKFLOW_NAMES
    for wf in WORKFLOWS:
        hints = everything[wf.name].annotations
        assert hints.read_only_hint is (wf.safety is Safety.READ), wf.name
        assert hints.destructive_hint is (wf.safety is Safety.DESTRUCTIVE), wf.name
    # The one workflow that writes can drop a table, so clients must see it as destructive.
    assert everything["imports_load_file"].annotations.destructive_hint is True


def test_one_tool_per_civis_python_method() -> None:
    methods = {op.method for op in OPERATIONS}
    assert len(OPERATIONS) == 46
    assert methods == DOC_METHODS_41 | NEW_IN_CURRENT_API
    assert all(op.tool_name == f"imports_{op.method}" for op in OPERATIONS)


def test_titles_are_unique_and_descriptions_start_with_a_verb() -> None:
    titles = [op.title for op in OPERATIONS]
    assert len(set(titles)) == len(titles)
    verbs = {
        "List",
        "Get",
        "Create",
        "Replace",
        "Update",
        "Copy",
        "Archive",
        "Add",
        "Change",
        "Start",
        "Cancel",
        "Read",
        "Remove",
        "Give",
        "Make",
        "Load",
    }
    for op in OPERATIONS:
        assert op.description.split()[0] in verbs, op.tool_name
        assert len(op.description) <= 200, op.tool_name


def test_safety_classes_match_the_policy() -> None:
    destructive = {op.tool_name for op in OPERATIONS if op.safety_class is Safety.DESTRUCTIVE}
    assert destructive >= DESTRUCTIVE_12  # the twelve of the first guard, and every tool whose effect depends on state
    assert destructive == {op.tool_name for op in OPERATIONS if op.guard is not None}
    for op in OPERATIONS:
        if op.verb == "GET":
            assert op.safety_class is Safety.READ
            assert op.guard is None, op.tool_name


async def test_every_tool_has_every_annotation_following_the_rule(listed: dict[str, Any]) -> None:
    for name, tool in listed.items():
        op = OPERATIONS_BY_TOOL[name]
        hints = tool.annotations
        assert hints is not None, name
        assert hints.read_only_hint is (op.safety_class is Safety.READ), name
        assert hints.destructive_hint is (op.safety_class is Safety.DESTRUCTIVE), name
        assert hints.idempotent_hint is not None and hints.open_world_hint is not None, name
    assert listed["imports_post_runs"].annotations.idempotent_hint is False
    assert listed["imports_post_cancel"].annotations.idempotent_hint is True  # the override
    assert listed["imports_put"].annotations.idempotent_hint is True


async def test_input_schemas_are_typed_described_and_closed(listed: dict[str, Any]) -> None:
    def check(schema: dict[str, Any], where: str) -> None:
        # Closed by the server's validation, not by the schema (see schema.compact_input and the test below).
        assert "additionalProperties" not in schema, where
        for name, prop in schema.get("properties", {}).items():
            assert prop.get("description"), f"{where}.{name} has no description"
            typed = ("type", "enum", "const", "anyOf", "$ref")
            assert any(key in prop for key in typed), f"{where}.{name} untyped"
            assert "title" not in prop, f"{where}.{name}"
            nested = prop.get("items", prop) if prop.get("type") == "array" else prop
            if nested.get("type") == "object" and "properties" in nested:
                check(nested, f"{where}.{name}")

    for name, tool in listed.items():
        assert tool.input_schema["type"] == "object"
        check(tool.input_schema, name)
        op = OPERATIONS_BY_TOOL[name]
        required = {n for n, f in op.params.model_fields.items() if f.is_required()}
        assert set(tool.input_schema.get("required", [])) == required, name


async def test_output_schemas_are_objects_and_lists_are_wrapped(listed: dict[str, Any]) -> None:
    for name, tool in listed.items():
        op = OPERATIONS_BY_TOOL[name]
        assert tool.output_schema is not None and tool.output_schema.get("type") == "object", name
        if op.returns_list:
            assert set(tool.output_schema["properties"]) == {"items", "pagination", "truncated"}, name


def test_limits_follow_the_api_maxima() -> None:
    def maximum(tool: str) -> int:
        schema = compact_input(OPERATIONS_BY_TOOL[tool].params.model_json_schema())
        return int(schema["properties"]["limit"]["maximum"])

    assert maximum("imports_list") == 50
    assert maximum("imports_list_batches") == 50
    for runs in ("imports_list_runs", "imports_list_files_runs", "imports_list_files_csv_runs"):
        assert maximum(runs) == 100


def test_compact_input_drops_noise_but_keeps_meaning() -> None:
    schema = {
        "title": "X",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": {
                "title": "Title",
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "description": "A property that happens to be called title.",
            },
            "n": {"$ref": "#/$defs/N"},
        },
        "$defs": {"N": {"title": "N", "type": "integer", "description": "A number."}},
    }
    assert compact_input(schema) == {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "A property that happens to be called title"},
            "n": {"type": "integer", "description": "A number"},
        },
    }


async def call_with(handler: Any, tool: str, arguments: dict[str, Any]) -> Any:
    settings = Settings(api_key=SecretStr("k"), api_endpoint="http://127.0.0.1:9/")
    server = build_server(settings, transport=httpx.MockTransport(handler))
    async with Client(server) as client:
        return await client.call_tool(tool, arguments)


async def test_unknown_argument_names_the_valid_ones_and_sends_nothing() -> None:
    sent: list[httpx.Request] = []
    result = await call_with(
        lambda r: sent.append(r) or httpx.Response(200, json={}), "imports_patch_files_csv", {"id": 3, "escpaed": True}
    )
    text = result.content[0].text
    assert result.is_error and sent == []
    assert "'escpaed'" in text and "did you mean 'escaped'" in text
    assert "id (required)" in text and "column_delimiter" in text


async def test_unknown_nested_field_is_rejected_with_the_valid_names() -> None:
    sent: list[httpx.Request] = []
    result = await call_with(
        lambda r: sent.append(r) or httpx.Response(200, json={}),
        "imports_post_files_csv",
        {
            "source": {"file_ids": [1]},
            "first_row_is_header": True,
            "destination": {"schema": "s", "tabel": "t", "remote_host_id": 1, "credential_id": 2},
        },
    )
    text = result.content[0].text
    assert result.is_error and sent == []
    assert "destination.tabel" in text and "did you mean 'table'" in text


async def test_bad_enum_value_names_the_field_and_the_choices() -> None:
    result = await call_with(
        lambda r: httpx.Response(200, json={}), "imports_patch_files_csv", {"id": 3, "column_delimiter": "semicolon"}
    )
    text = result.content[0].text
    assert result.is_error
    assert "column_delimiter" in text and "'comma'" in text and "semicolon" in text


async def test_missing_required_argument_is_named() -> None:
    result = await call_with(lambda r: httpx.Response(200, json={}), "imports_put_projects", {"id": 3})
    assert result.is_error and "project_id: required, but missing" in result.content[0].text


async def test_limit_over_the_maximum_is_refused_before_sending() -> None:
    sent: list[httpx.Request] = []
    result = await call_with(lambda r: sent.append(r) or httpx.Response(200, json=[]), "imports_list", {"limit": 500})
    assert result.is_error and sent == []
    assert "limit" in result.content[0].text and "50" in result.content[0].text


async def test_object_argument_sent_as_a_json_string_is_accepted() -> None:
    seen: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method != "GET":  # the GET is the guard reading the import; changing its source has no effect
            seen.append(json.loads(request.content))
        return httpx.Response(200, json={"id": 3})

    result = await call_with(handler, "imports_patch_files_csv", {"id": 3, "source": '{"file_ids": [9]}'})
    assert not result.is_error
    assert seen == [{"source": {"file_ids": [9]}}]


def test_manifest_files_match_the_code() -> None:
    directory = Path(__file__).parent.parent / "tool_manifests"
    assert manifest.check(directory) == []
    index = json.loads((directory / "index.json").read_text())
    assert len(index["tools"]) == 46 + len(WORKFLOWS) + len(GATEWAY)
    entry = next(t for t in index["tools"] if t["name"] == "imports_delete_shares_users")
    assert entry == {
        "name": "imports_delete_shares_users",
        "title": "Revoke a user's access to an import",
        "safety": "destructive",
        "toolset": "sharing",
        "verb": "DELETE",
        "path": "/imports/{id}/shares/users/{user_id}",
        "profiles": ["full"],  # destructive, so not read-only; and a typed tool, so not compact
    }


def test_manifest_check_reports_drift(tmp_path: Path) -> None:
    catalog = tmp_path / "package" / "catalog.json"
    catalog.parent.mkdir()
    tmp_path = tmp_path / "manifests"
    manifest.write(tmp_path, catalog)
    assert manifest.check(tmp_path, catalog) == []
    (tmp_path / "imports_get.json").write_text("{}\n")
    (tmp_path / "imports_gone.json").write_text("{}\n")
    (tmp_path / "imports_list.json").unlink()
    catalog.write_text("{}")
    assert manifest.check(tmp_path, catalog) == [
        "catalog.json: differs from the code",
        "imports_get.json: differs from the code",
        "imports_gone.json: no such tool",
        "imports_list.json: missing",
    ]


def test_every_toolset_an_operator_can_name_offers_tools() -> None:
    # TOOLSETS is derived from the Toolset enum; a toolset no entry uses would be a name that selects nothing.
    assert {entry.toolset for entry in load_catalog()} == set(TOOLSETS)


def test_starting_the_server_loads_no_model_and_builds_no_tool() -> None:
    """The first tools/list is answered from the catalog: start-up must not pay for the models or the schemas."""
    probe = (
        "import sys, anyio\n"
        "from civis_mcp.server import build_server\n"
        "from civis_mcp.config import Settings\n"
        "server = build_server(Settings())\n"
        "server._warmed = True  # keep the background warm-up out of this check\n"
        "tools = anyio.run(server.list_tools)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('civis_mcp.models', 'civis_mcp.operations')))\n"
        "print(len(tools), loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == f"{46 + len(WORKFLOWS)} []"


async def test_lazily_built_tools_equal_the_catalog(everything: dict[str, Any]) -> None:
    """What a client is shown (the catalog) is exactly what the code builds."""
    built = {tool.name: listing_of(tool) for tool in build_tools()}
    for name, tool in everything.items():
        assert tool.model_dump(mode="json", by_alias=True, exclude_none=True) == built[name], name
