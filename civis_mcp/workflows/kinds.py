"""The four kinds of import and the tools that read each one's runs and logs.

Import jobs, CSV imports, file imports and batch imports have different endpoints for the same questions ("what is
run 5's state", "show its logs"); each entry of ``OPERATIONS`` says its role for its kind, and ``KIND_TOOLS`` is
derived from them, so the workflows are written once.

``read`` and ``read_list`` are the workflows' typed reads: the answer of a read tool, validated with the response
model the workflow needs (``ResponseModel``s keep unknown fields and make every field optional), so the workflows
read attributes, not dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from civis_mcp.api.client import ApiResult, CivisClient
from civis_mcp.api.errors import CivisTransportError, NotFoundError, PermissionDeniedError
from civis_mcp.execution import read_operation
from civis_mcp.models.base import ResponseModel
from civis_mcp.operations import Operation, kind_tool
from civis_mcp.state import AppState
from civis_mcp.untrusted import fence_inline
from civis_mcp.vocabulary import Kind, Role

__all__ = [
    "KIND_TOOLS",
    "Kind",
    "KindTools",
    "Listed",
    "as_model",
    "counterpart",
    "find_kind",
    "kind_tools",
    "read",
    "read_list",
]

M = TypeVar("M", bound=ResponseModel)


@dataclass(frozen=True)
class KindTools:
    """The tool of each role for one kind of import (None where the kind has none); fields are named after ``Role``."""

    get: str | None
    list_runs: str | None
    get_run: str | None
    logs: str | None
    fix: str | None
    start: str | None
    cancel: str | None
    fix_sync: str | None

    def family(self) -> str:
        """Its tools, for a sentence that says which to use."""
        return ", ".join(dict.fromkeys(tool for tool in vars(self).values() if tool is not None))


def kind_tools(kind: Kind) -> KindTools:
    """The tools of ``kind``, by role, from the operations table."""
    return KindTools(**{field.name: kind_tool(kind, Role(field.name)) for field in fields(KindTools)})


KIND_TOOLS: dict[Kind, KindTools] = {kind: kind_tools(kind) for kind in Kind}


@dataclass(frozen=True)
class Listed(Generic[M]):
    """The items of a list read, and the answer they came in (pagination, log cursor headers)."""

    items: list[M]
    answer: ApiResult

    @property
    def answered(self) -> int:
        """How many rows the answer held, the left-out ones included (to tell a full page from the last one)."""
        return len(self.answer.data) if isinstance(self.answer.data, list) else 0


def _not_as_documented(tool: str, problem: str) -> CivisTransportError:
    return CivisTransportError(
        f"{tool}: Civis answered, but the answer does not match the documented response ({problem}). It only reads, "
        "so nothing changed.",
        reason="the answer does not match the documented response",
    )


async def read(client: CivisClient, tool: str, model: type[M], **arguments: Any) -> M:
    """The object a read tool answers with, as ``model``; an empty answer is an object with no fields."""
    return as_model(tool, model, (await read_operation(client, tool, **arguments)).data)


def as_model(tool: str, model: type[M], data: Any) -> M:
    """An answer of ``tool`` (already read) as ``model``; a clear error naming the tool when it does not fit."""
    if data is not None and not isinstance(data, dict):
        raise _not_as_documented(tool, f"a JSON {type(data).__name__} instead of an object")
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        fields_named = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        # Field paths can hold Civis's own keys: fenced as its words.
        raise _not_as_documented(tool, f"fields: {fence_inline(', '.join(fields_named))}") from None


async def read_list(client: CivisClient, tool: str, model: type[M], **arguments: Any) -> Listed[M]:
    """The items of a list a read tool answers with, as ``model``. An item that is not an object, or does not match
    the model, is left out: one odd item does not hide the others."""
    answer = await read_operation(client, tool, **arguments)
    rows = answer.data if isinstance(answer.data, list) else []
    items: list[M] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        try:
            items.append(model.model_validate(row))
        except ValidationError:
            continue
    return Listed(items, answer)


class _Exists(ResponseModel):
    """Just enough of an import's object to know it exists (its other fields are kept: ``extra="allow"``)."""

    id: int | None = None


async def _exists(state: AppState, kind: Kind, import_id: int) -> dict[str, Any] | None:
    tools = KIND_TOOLS[kind]
    try:
        if tools.get is not None:
            return (await read(state.client, tools.get, _Exists, id=import_id)).model_dump()
        assert tools.list_runs is not None
        await read_list(state.client, tools.list_runs, _Exists, id=import_id, limit=1)
        return {"id": import_id}
    except (NotFoundError, PermissionDeniedError):
        return None


async def find_kind(state: AppState, import_id: int, kind: Kind | None) -> tuple[Kind, dict[str, Any]] | None:
    """Which kind of import ``import_id`` is (trying the most specific first), and its object; None if none."""
    for candidate in [kind] if kind is not None else [Kind.CSV, Kind.IMPORT, Kind.BATCH, Kind.FILE]:
        found = await _exists(state, candidate, import_id)
        if found is not None:
            return candidate, found
    return None


def counterpart(op: Operation, other: Kind) -> str | None:
    """The tool of kind ``other`` that does what ``op`` does for its own kind (get, list runs, start, ...), if any."""
    return None if op.role is None else kind_tool(other, op.role)
