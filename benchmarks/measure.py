"""What the benchmarks count, in one place: the footprint benchmark and ``tests/test_footprint.py`` both import it.

No civis_mcp import here: the same functions count the bridge's listing and ours.

* **Model view** of a tool: what a model is given to choose and call it, the compact JSON of its ``name``,
  ``description`` and ``inputSchema`` (title, annotations, output schema and ``_meta`` left out). Counted in
  o200k_base tokens (``bpe_openai``).
* **tools/list bytes**: the JSON-RPC answer to ``tools/list`` as a stdio server writes it (compact JSON, UTF-8),
  output schemas and everything else included.
* **Typed and described**: every input field, nested ones included, says its type and has a description.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

__all__ = [
    "BRIDGE_TOOLS_LIST_BYTES",
    "OPERATION_TOKENS_TARGET",
    "compact",
    "count_tokens",
    "model_tokens",
    "model_view",
    "percentile",
    "tools_list_bytes",
    "untyped_or_undescribed",
]

OPERATION_TOKENS_TARGET = 9_000
"""Target: the 46 operation tools' model view, in o200k tokens, at most this."""
BRIDGE_TOOLS_LIST_BYTES = 263_546
"""The bridge's tools/list bytes as the issue measured them (benchmarks/footprint.py re-measures: 263,550)."""


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@cache
def _encoding() -> Any:
    with warnings.catch_warnings():  # bpe_openai 0.1.4 loads its data with a deprecated importlib.resources call
        warnings.simplefilter("ignore", DeprecationWarning)
        from bpe_openai import get_encoding

        return get_encoding("o200k_base")


_CHUNK = 500_000


def count_tokens(text: str) -> int:
    """o200k_base tokens of ``text``. bpe_openai refuses a text of a million characters or more, so a long text is
    counted in pieces cut after a newline (exact for every text under 500,000 characters, which covers all tool
    listings; for a long log answer within a few tokens)."""
    encoding = _encoding()
    total, start = 0, 0
    while len(text) - start > _CHUNK:
        cut = text.rfind("\n", start, start + _CHUNK) + 1 or start + _CHUNK
        total += len(encoding.encode(text[start:cut]))
        start = cut
    return total + len(encoding.encode(text[start:]))


def model_view(tool: dict[str, Any]) -> str:
    """The part of a ``tools/list`` entry (wire form) a model reads: name, description, input schema."""
    return compact(
        {"name": tool["name"], "description": tool.get("description", ""), "inputSchema": tool["inputSchema"]}
    )


def model_tokens(tool: dict[str, Any]) -> int:
    return count_tokens(model_view(tool))


def tools_list_bytes(tools: Sequence[dict[str, Any]], request_id: int = 2) -> int:
    """Bytes of the ``tools/list`` JSON-RPC answer carrying ``tools`` (one line on stdio, newline not counted)."""
    message = {"jsonrpc": "2.0", "id": request_id, "result": {"tools": list(tools)}}
    return len(compact(message).encode("utf-8"))


def _typed(schema: dict[str, Any], defs: dict[str, Any]) -> bool:
    if "$ref" in schema:
        target = defs.get(schema["$ref"].rsplit("/", 1)[-1])
        return target is not None and _typed(target, defs)
    if "type" in schema or "enum" in schema or "const" in schema:
        return True
    branches = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    return bool(branches) and all(_typed(branch, defs) for branch in branches)


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _nested(schema: dict[str, Any], defs: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The object schemas inside a field: itself, its array items, its anyOf branches."""
    schema = _resolve(schema, defs)
    if "properties" in schema:
        yield schema
    if isinstance(schema.get("items"), dict):
        yield from _nested(schema["items"], defs)
    for branch in schema.get("anyOf") or schema.get("oneOf") or []:
        yield from _nested(branch, defs)


def untyped_or_undescribed(input_schema: dict[str, Any]) -> list[str]:
    """Paths of the input fields (nested included) that lack a type or a description; empty when all have both."""
    defs = {**input_schema.get("$defs", {}), **input_schema.get("definitions", {})}
    problems: list[str] = []

    def walk(obj: dict[str, Any], prefix: str) -> None:
        for name, field in obj.get("properties", {}).items():
            path = f"{prefix}{name}"
            resolved = _resolve(field, defs)
            if not _typed(field, defs):
                problems.append(f"{path}: no type")
            if not (field.get("description") or resolved.get("description")):
                problems.append(f"{path}: no description")
            for inner in _nested(field, defs):
                walk(inner, f"{path}.")

    walk(_resolve(input_schema, defs), "")
    return problems


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear between the closest ranks; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
