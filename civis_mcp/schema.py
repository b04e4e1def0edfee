"""Compact JSON schemas: what a model is shown for every tool on every turn, so every byte is paid for.

pydantic's schemas carry things a model does not need: a ``title`` on every property, ``anyOf [X, null]`` plus
``default: null`` for every optional argument (optional already means "leave it out"), and ``$defs`` indirection
for objects used once. ``compact_input`` removes them without changing what a caller who leaves optional arguments
out may send. ``compact_output`` keeps nulls allowed (Civis does return nulls, and a client may validate results
against the schema), spelled ``anyOf [X, {"type": "null"}]`` with one ``type`` per branch (the portable form; a
nullable type used three times or more is defined once in ``$defs`` as ``"X?"``), and drops descriptions and
``additionalProperties: true``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

__all__ = ["compact_input", "compact_output"]

_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def compact_input(schema: dict[str, Any]) -> dict[str, Any]:
    """The published input schema. Beyond ``_compact``: a string ``enum`` or ``const`` needs no ``type``; the
    server checks list lengths (``minItems``, ``maxItems``) and ``exclusiveMinimum`` (a description says a bound
    that matters) and refuses unknown fields at every level naming the valid ones (``arguments.validate_arguments``),
    so writing ``additionalProperties: false`` on every object only cost tokens (about 230 over the 46 operation
    tools); the schema of an array's items or a map's values
    needs no description of its own (its field has one); a description's closing period and a shared definition's
    own description (the property that uses it has one) say nothing a model needs. Each is a few tokens, paid on
    every turn."""
    result: dict[str, Any] = _tighten(_compact(schema, output=False))
    for definition in result.get("$defs", {}).values():
        definition.pop("description", None)
    return _short_definition_names(result)


def _short_definition_names(schema: dict[str, Any]) -> dict[str, Any]:
    """``#/$defs/DatabaseTableInput`` -> ``#/$defs/DatabaseTable``: the strictness suffix of the model names says
    nothing in a schema that has one of the two (``required`` says it); kept when both are in one schema."""
    defs = schema.get("$defs")
    if not defs:
        return schema
    short = {name: name.removesuffix("Input").removesuffix("Patch") for name in defs}
    if len(set(short.values())) < len(short):
        return schema
    text = json.dumps(schema)
    for name, new in short.items():
        text = text.replace(f'"#/$defs/{name}"', f'"#/$defs/{new}"')
    result: dict[str, Any] = json.loads(text)
    result["$defs"] = {short[name]: definition for name, definition in result["$defs"].items()}
    return result


def compact_output(schema: dict[str, Any]) -> dict[str, Any]:
    """The published output schema: the fields of the returned object (of each item, for a list) with their types and
    known values; objects nested deeper, including the items of a nullable list field, are declared as objects without
    their fields.

    Output schemas are what clients check results against, not what a model reads to call a tool, and the nested ones
    repeat across tools (an import job's schema is in six of them): describing them in full doubled the size of
    ``tools/list``. The results themselves are complete; only the schema stops at the first level.
    """
    compacted = _compact(schema, output=True)
    defs: dict[str, Any] = compacted.pop("$defs", {})

    def resolve(node: Any) -> Any:
        ref = node.get("$ref") if isinstance(node, dict) else None
        return defs[ref.removeprefix("#/$defs/")] if isinstance(ref, str) else node

    def types(node: dict[str, Any]) -> list[Any]:
        declared = node.get("type")
        return declared if isinstance(declared, list) else [declared]

    def walk(node: Any, top: bool) -> Any:
        node = resolve(node)
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("anyOf"), list):
            return {**node, "anyOf": [walk(branch, top) for branch in node["anyOf"]]}
        if "object" in types(node) and "properties" in node:
            if not top:
                return {"type": node["type"]}
            return {**node, "properties": {name: field(value) for name, value in node["properties"].items()}}
        if "array" in types(node) and "items" in node:
            return {**node, "items": walk(node["items"], top)}
        return node

    def field(node: Any) -> Any:
        node = resolve(node)
        if isinstance(node, dict) and "array" in types(node) and "items" in node:
            return {**node, "items": walk(node["items"], True)}  # a top-level list's items are what is returned
        return walk(node, False)

    return _share_nullable_types(walk(compacted, True))


_SHARED_FROM = 3
"""Uses of one nullable type from which a shared definition is shorter than writing it out each time."""


def _share_nullable_types(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"anyOf": [{"type": "string"}, {"type": "null"}]}`` used three times or more in one schema becomes
    ``{"$ref": "#/$defs/string?"}``, defined once: the portable spelling of a nullable field (see
    ``_null_branch_last``) is 45 characters, and an import job has twenty such fields."""
    counts: dict[str, int] = {}

    def nullable_type(node: Any) -> str | None:
        branches = node.get("anyOf") if isinstance(node, dict) and len(node) == 1 else None
        if not isinstance(branches, list) or len(branches) != 2 or branches[1] != {"type": "null"}:
            return None
        first = branches[0]
        only = first.get("type") if isinstance(first, dict) and len(first) == 1 else None
        return only if isinstance(only, str) else None

    def count(node: Any) -> None:
        if (name := nullable_type(node)) is not None:
            counts[name] = counts.get(name, 0) + 1
        elif isinstance(node, dict):
            for value in node.values():
                count(value)
        elif isinstance(node, list):
            for value in node:
                count(value)

    def replace(node: Any) -> Any:
        name = nullable_type(node)
        if name is not None and counts[name] >= _SHARED_FROM:
            return {"$ref": f"#/$defs/{name}?"}
        if isinstance(node, dict):
            return {key: replace(value) for key, value in node.items()}
        if isinstance(node, list):
            return [replace(value) for value in node]
        return node

    count(schema)
    shared = sorted(name for name, uses in counts.items() if uses >= _SHARED_FROM)
    if not shared:
        return schema
    result: dict[str, Any] = replace(schema)
    result["$defs"] = {f"{name}?": {"anyOf": [{"type": name}, {"type": "null"}]} for name in shared}
    return result


def _compact(schema: dict[str, Any], *, output: bool) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    defs: dict[str, Any] = schema.pop("$defs", {})
    uses = _count_refs(schema, defs)
    inline = {name for name, count in uses.items() if count <= 1}
    result: dict[str, Any] = _walk(schema, defs, inline, output)
    kept = {
        name: _walk(defs[name], defs, inline, output) for name in sorted(defs) if name not in inline and uses.get(name)
    }
    if kept:
        result["$defs"] = kept
    return result


def _count_refs(node: Any, defs: dict[str, Any], counts: dict[str, int] | None = None) -> dict[str, int]:
    counts = {} if counts is None else counts
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            counts[name] = counts.get(name, 0) + 1
            if counts[name] == 1:
                _count_refs(defs.get(name), defs, counts)
        for value in node.values():
            _count_refs(value, defs, counts)
    elif isinstance(node, list):
        for value in node:
            _count_refs(value, defs, counts)
    return counts


def _walk(node: Any, defs: dict[str, Any], inline: set[str], output: bool) -> Any:
    if isinstance(node, list):
        return [_walk(item, defs, inline, output) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.removeprefix("#/$defs/") in inline:
        target = copy.deepcopy(defs[ref.removeprefix("#/$defs/")])
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return _walk({**target, **siblings}, defs, inline, output)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" or (key == "description" and output):
            continue
        if key == "default" and value is None:
            continue
        if key == "additionalProperties" and value is True:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _walk(sub, defs, inline, output) for name, sub in value.items()}
        else:
            out[key] = _walk(value, defs, inline, output)
    return _null_branch_last(out) if output else _drop_null_branch(out)


def _drop_null_branch(node: dict[str, Any]) -> dict[str, Any]:
    """``{"anyOf": [X, {"type": "null"}], ...}`` -> ``{**X, ...}``: optional arguments are simply left out."""
    branches = node.get("anyOf")
    if not isinstance(branches, list):
        return node
    rest = [branch for branch in branches if branch != {"type": "null"}]
    if len(rest) == len(branches):
        return node
    siblings = {key: value for key, value in node.items() if key != "anyOf"}
    if len(rest) == 1 and isinstance(rest[0], dict):
        return {**rest[0], **siblings}
    return {**siblings, "anyOf": rest}


def _null_branch_last(node: dict[str, Any]) -> dict[str, Any]:
    """Nullable output fields stay ``{"anyOf": [X, {"type": "null"}]}``, every branch with one ``type``.

    The shorter ``{"type": [X, "null"]}`` means the same, but clients that map schemas onto a single-``type`` dialect
    (the OpenAPI subset of Gemini function declarations, for one) reject or loosen it, and ``mcp-inspector --strict``
    warns about every one. The null branch goes last, so X reads first."""
    branches = node.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2 or {"type": "null"} not in branches:
        return node
    other = branches[0] if branches[1] == {"type": "null"} else branches[1]
    return {**node, "anyOf": [other, {"type": "null"}]}


def _tighten(node: Any) -> Any:
    if isinstance(node, list):
        return [_tighten(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            # A map of names to schemas: a field may be called "type" or "enum", so only its values are schemas.
            out[key] = {name: _tighten(sub) for name, sub in value.items()}
        elif key == "enum":
            out[key] = value
        elif key in _VALUE_SCHEMAS and isinstance(value, dict):
            # An array's items, a map's values: the field that holds them already says what they are.
            out[key] = {name: sub for name, sub in _tighten(value).items() if name != "description"}
        else:
            out[key] = _tighten(value)
    enum = out.get("enum")
    if isinstance(enum, list) and out.get("type") == "string" and all(isinstance(item, str) for item in enum):
        del out["type"]
    if isinstance(out.get("const"), str) and out.get("type") == "string":
        del out["type"]
    for bound in _SERVER_CHECKED:  # the server refuses a value out of these bounds and says the bound
        out.pop(bound, None)
    if out.get("additionalProperties") is False:
        del out["additionalProperties"]
    description = out.get("description")
    if isinstance(description, str) and description.endswith(".") and not description.endswith(".."):
        out["description"] = description[:-1]
    return _description_and_type_first(out)


_VALUE_SCHEMAS = ("items", "additionalProperties")
_SERVER_CHECKED = ("minItems", "maxItems", "exclusiveMinimum")
_FIRST = ("description", "type")


def _description_and_type_first(node: dict[str, Any]) -> dict[str, Any]:
    """The same schema with ``description`` and ``type`` written first: o200k merges ``"type":"array"`` with what
    follows better than with ``"items":{...}`` before it, about 70 tokens over the 46 operation tools. (The catalog
    keeps this order; the manifests are written with sorted keys for review.)"""
    return {key: node[key] for key in _FIRST if key in node} | {k: v for k, v in node.items() if k not in _FIRST}
