"""Every published schema is portable: the checks ``mcp-inspector --cli --strict`` makes on a ``tools/list``, in Python.

The inspector warns about a ``type`` written as an array (``["string", "null"]``), which clients that map schemas onto
a single-``type`` dialect reject; it errors on boolean schemas (a bare ``true``), which some clients refuse outright.
This lint checks those on the listing the server really answers with, plus what makes a schema unreadable to a
client at all: a ``$ref`` that does not resolve, a union branch with no type, ``required`` naming no property. A
result must also validate against its (compacted) output schema, which the SDK client checks on every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from pydantic import SecretStr

from civis_mcp.catalog import load_catalog
from civis_mcp.config import Settings
from civis_mcp.schema import compact_output
from civis_mcp.server import build_server

_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains")


def lint(schema: Any) -> list[str]:
    """Portability problems of one tool schema, each as ``path: problem``; empty when it is clean."""
    if not isinstance(schema, dict):
        return [f"(root): the schema is {schema!r}, not an object"]
    defs = schema.get("$defs", {})
    return [f"{path or '(root)'}: {problem}" for path, problem in _walk(schema, "", defs)]


def _walk(node: Any, path: str, defs: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if isinstance(node, bool):
        yield path, f"a boolean schema ({str(node).lower()}); write an object schema"
        return
    if not isinstance(node, dict):
        yield path, f"{node!r} is not a schema"
        return
    declared = node.get("type")
    if isinstance(declared, list):
        yield path, f"`type` is an array {declared}; split it into anyOf branches with one type each"
    ref = node.get("$ref")
    if ref is not None and not (isinstance(ref, str) and ref.removeprefix("#/$defs/") in defs):
        yield path, f"$ref {ref!r} does not resolve to a local definition"
    for key in ("anyOf", "oneOf"):
        for index, branch in enumerate(node.get(key, [])):
            target = defs.get(str(branch.get("$ref", "")).removeprefix("#/$defs/"), branch)
            if isinstance(target, dict) and "type" not in target and "enum" not in target and "const" not in target:
                yield f"{path}.{key}[{index}]", "a union branch with no type"
    if isinstance(node.get("properties"), dict):
        if node.get("type") != "object":
            yield path, "properties without `type: object`"
        missing = sorted(set(node.get("required", [])) - set(node["properties"]))
        if missing:
            yield path, f"required names {missing}, which are not properties"
    for key in _SCHEMA_MAPS:
        for name, sub in (node.get(key) or {}).items():
            yield from _walk(sub, f"{path}.{key}.{name}".lstrip("."), defs)
    for key in _SCHEMA_LISTS:
        for index, sub in enumerate(node.get(key) or []):
            yield from _walk(sub, f"{path}.{key}[{index}]".lstrip("."), defs)
    for key in _SCHEMA_VALUES:
        if key in node and not (key == "additionalProperties" and isinstance(node[key], bool)):
            yield from _walk(node[key], f"{path}.{key}".lstrip("."), defs)


@pytest.fixture(scope="module")
def listing() -> list[dict[str, Any]]:
    import anyio

    async def tools() -> list[dict[str, Any]]:
        """Every tool of every profile: the full listing, and the gateway of the compact one."""
        found: dict[str, dict[str, Any]] = {}
        for profile in ("full", "compact"):
            settings = Settings(api_key=SecretStr("lint-key"), api_endpoint="http://127.0.0.1:9/", profile=profile)
            for tool in await build_server(settings).list_tools():
                found[tool.name] = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        return list(found.values())

    return anyio.run(tools)


def test_the_lint_finds_what_the_inspector_warns_about() -> None:
    assert lint({"type": "object", "properties": {"a": {"type": ["string", "null"]}}}) == [
        "properties.a: `type` is an array ['string', 'null']; split it into anyOf branches with one type each"
    ]
    assert lint({"type": "object", "properties": {"a": True}}) == [
        "properties.a: a boolean schema (true); write an object schema"
    ]
    assert lint({"type": "object", "properties": {"a": {"$ref": "#/$defs/gone"}}}) == [
        "properties.a: $ref '#/$defs/gone' does not resolve to a local definition"
    ]
    assert lint({"type": "object", "properties": {"a": {"anyOf": [{"description": "?"}, {"type": "null"}]}}}) == [
        "properties.a.anyOf[0]: a union branch with no type"
    ]
    assert lint({"type": "object", "properties": {}, "required": ["x"]}) == [
        "(root): required names ['x'], which are not properties"
    ]
    assert lint({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}) == []


def test_every_published_input_and_output_schema_is_clean(listing: list[dict[str, Any]]) -> None:
    assert len(listing) == len(load_catalog())
    problems = {
        f"{tool['name']}.{part}": found
        for tool in listing
        for part in ("inputSchema", "outputSchema")
        if part in tool and (found := lint(tool[part]))
    }
    assert problems == {}


def test_nullable_output_fields_accept_null_and_their_type_but_nothing_else(listing: list[dict[str, Any]]) -> None:
    schema = next(tool for tool in listing if tool["name"] == "imports_get_files_csv")["outputSchema"]
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"id": 1, "name": None, "hidden": None, "destination": None, "column_delimiter": None})
    assert validator.is_valid({"id": 1, "name": "n", "hidden": False, "destination": {}, "column_delimiter": "pipe"})
    assert not validator.is_valid({"hidden": "no"})
    assert not validator.is_valid({"destination": "s3://somewhere"})
    assert not validator.is_valid({"id": "1"})


def test_compact_output_spells_nullable_fields_as_single_type_branches_and_shares_repeated_ones() -> None:
    schema = {
        "type": "object",
        "properties": {
            "state": {"anyOf": [{"type": "null"}, {"enum": ["a", "b"], "type": "string"}], "default": None},
            **{name: {"anyOf": [{"type": "integer"}, {"type": "null"}]} for name in ("n1", "n2", "n3")},
            "one": {"anyOf": [{"type": "boolean"}, {"type": "null"}], "description": "dropped"},
        },
    }
    assert compact_output(schema) == {
        "type": "object",
        "properties": {
            "state": {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}]},
            **{name: {"$ref": "#/$defs/integer?"} for name in ("n1", "n2", "n3")},
            "one": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        },
        "$defs": {"integer?": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
    }
