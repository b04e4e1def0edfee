"""Shapes of tool results that are not a single Civis object, and the size budget every result keeps to.

MCP structured content must be a JSON object, so arrays are wrapped as ``{"items": [...]}``; paged lists add where the
page sits. Operations that Civis answers with no body (HTTP 202/204) return a short acknowledgement.

Every result stays within a budget of JSON characters (``Settings.result_budget``): a list keeps the items that fit
and says how many it left out and how to get them (a cursor or a page); an object has its longest strings cut.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from civis_mcp.api.client import Pagination
from civis_mcp.models.base import ResponseModel

__all__ = [
    "Acknowledgement",
    "ListResult",
    "MoreHint",
    "Pagination",
    "Truncation",
    "bound",
    "bound_items",
    "compact_json",
]

ItemT = TypeVar("ItemT", bound=ResponseModel)
_MIN_STRING = 80


class Truncation(BaseModel):
    """What a result left out to stay within the size budget, and how to get it."""

    returned: int
    omitted: int
    how_to_get_more: str


class ListResult(BaseModel, Generic[ItemT]):
    """A list answer; ``pagination`` is set for paged lists, ``truncated`` when items were left out for size."""

    items: list[ItemT]
    pagination: Pagination | None = None
    truncated: Truncation | None = None


class Acknowledgement(BaseModel):
    """Civis accepted the request and answered with no body."""

    status_code: int = Field(description="HTTP status Civis answered with (202 or 204).")
    message: str


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""One encoder for every result: ``json.dumps`` with these options builds a new one per call, which cost more than
encoding a small item."""


def compact_json(value: Any) -> str:
    """The JSON text a result is measured by and written as (what ``json.dumps(value, ensure_ascii=False,
    separators=(",", ":"))`` gives)."""
    return _ENCODER.encode(value)


def _size(value: Any) -> int:
    return len(compact_json(value))


MoreHint = Callable[[ListResult[Any], int], str]
"""Given the full list result and how many items were kept, says how to get the rest."""


@dataclass(frozen=True, slots=True)
class _Unshown:
    """An item a cut list leaves out, as far as a ``MoreHint`` reads it: its id."""

    id: int | None


def bound(result: BaseModel, budget: int, more: MoreHint) -> tuple[dict[str, Any], str]:
    """The JSON data of ``result`` cut to ``budget`` characters, and its compact JSON text (measured once here, so the
    text form of the result is not serialised a second time); ``more`` says how to get what a list leaves out.

    A list answer keeps the items that fit and says what it left out in ``truncated``. Any other result has its longest
    strings shortened, then its longest inner lists, then its largest optional fields left out, and names each field
    it cut, with what it cut, in ``truncated_fields``.
    """
    data = result.model_dump(mode="json")
    text = compact_json(data)
    if len(text) <= budget:
        return data, text
    cut = (
        _bound_list(result, data, budget, more)
        if isinstance(result, ListResult)
        else _bound_object(result, data, budget)
    )
    return cut, compact_json(cut)


def bound_items(
    item_model: type[ResponseModel],
    raw_items: list[Any],
    pagination: Pagination | None,
    budget: int,
    more: MoreHint,
) -> tuple[dict[str, Any], str]:
    """What ``bound`` gives for ``ListResult[item_model](items=raw_items, pagination=pagination)``, item by item:
    each item is validated, dumped and serialised once, the text is joined from the pieces, and the items past the
    budget are not validated at all (a malformed one among them goes unnoticed, as it is never shown).
    ``tests/test_results.py`` checks that both give the same data and text."""
    page = pagination.model_dump(mode="json") if pagination is not None else None
    tail = f'],"pagination":{compact_json(page)},"truncated":'
    shell = len('{"items":[') + len(tail) + len("null}")
    room = budget - shell - 300  # as _bound_list: the truncation note itself needs a little room
    models: list[ResponseModel] = []
    dumps: list[Any] = []
    texts: list[str] = []
    used = kept = 0
    for raw in raw_items:
        model = item_model.model_validate(raw)
        dumped = model.model_dump(mode="json")
        text = compact_json(dumped)
        models.append(model)
        dumps.append(dumped)
        texts.append(text)
        used += len(text) + 1
        if used <= room and kept == len(models) - 1:
            kept += 1
        if shell + used - 1 > budget:
            break
    else:
        data = {"items": dumps, "pagination": page, "truncated": None}
        return data, '{"items":[' + ",".join(texts) + tail + "null}"
    # Only what the hint reads of the items left out is kept (its id): they were never validated, and a model per
    # item (even unvalidated) cost more than the rest of the call for a log of tens of thousands of lines.
    unshown = [
        _Unshown(raw["id"] if isinstance(raw, dict) and isinstance(raw.get("id"), int) else None)
        for raw in raw_items[len(models) :]
    ]
    whole = ListResult[Any].model_construct(items=[*models, *unshown], pagination=pagination)
    while True:  # a long hint can outgrow the room kept for the note: then one item fewer
        note = Truncation(returned=kept, omitted=len(raw_items) - kept, how_to_get_more=more(whole, kept)).model_dump(
            mode="json"
        )
        text = '{"items":[' + ",".join(texts[:kept]) + tail + compact_json(note) + "}"
        if kept == 0 or len(text) <= budget:
            return {"items": dumps[:kept], "pagination": page, "truncated": note}, text
        kept -= 1


def _bound_list(result: ListResult[Any], data: dict[str, Any], budget: int, more: MoreHint) -> dict[str, Any]:
    room = budget - _size({**data, "items": []}) - 300  # the truncation note itself needs a little room
    kept = 0
    for item in data["items"]:
        room -= _size(item) + 1
        if room < 0:
            break
        kept += 1
    while True:  # a long hint can outgrow the room kept for the note: then one item fewer
        note = Truncation(returned=kept, omitted=len(result.items) - kept, how_to_get_more=more(result, kept))
        bounded = {**data, "items": data["items"][:kept], "truncated": note.model_dump(mode="json")}
        if kept == 0 or _size(bounded) <= budget:
            return bounded
        kept -= 1


def _bound_object(result: BaseModel, data: dict[str, Any], budget: int) -> dict[str, Any]:
    def fits(value: dict[str, Any], cut: list[str]) -> bool:
        return _size({**value, "truncated_fields": cut}) <= budget

    def shorten_strings(value: dict[str, Any], cut: list[str]) -> tuple[dict[str, Any], list[str]]:
        """The longest strings, to 4,000 characters, then 2,000, ... until it fits or they reach _MIN_STRING."""
        shortened, named, limit = value, cut, 4_000
        while not fits(shortened, named) and limit >= _MIN_STRING:
            named = list(cut)
            shortened = _cut_strings(value, limit, "", named)
            limit //= 2
        return shortened, named

    # 1. Long strings.
    shortened, cut = shorten_strings(data, [])
    # 2. Inner lists, to their first 64 items, then 32, ... down to none, each counted against its whole length; the
    # strings of what is kept are shortened again only as far as they must be.
    keep = 64
    while not fits(shortened, cut) and keep >= 0:
        listed_cut: list[str] = []
        shortened, cut = shorten_strings(_cut_lists(data, keep, "", listed_cut), listed_cut)
        keep = keep // 2 if keep > 1 else keep - 1
    # 3. The largest fields the result may do without, whole.
    required = {name for name, info in type(result).model_fields.items() if info.is_required()}
    optional = sorted((name for name in shortened if name not in required), key=lambda name: -_size(shortened[name]))
    for name in optional:
        if fits(shortened, cut):
            break
        cut = [entry for entry in cut if not entry.startswith((f"{name}.", f"{name}[", f"{name} ("))]
        cut.append(f"{name} (left out: {_size(shortened[name])} characters)")
        shortened = {key: value for key, value in shortened.items() if key != name}
    return {**shortened, "truncated_fields": sorted(set(cut))}


def _cut_strings(value: Any, limit: int, path: str, cut: list[str]) -> Any:
    if isinstance(value, str) and len(value) > limit:
        cut.append(path)
        return value[:limit] + f"…[{len(value) - limit} characters cut]"
    if isinstance(value, dict):
        return {key: _cut_strings(item, limit, f"{path}.{key}".lstrip("."), cut) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut_strings(item, limit, f"{path}[{index}]", cut) for index, item in enumerate(value)]
    return value


def _cut_lists(value: Any, keep: int, path: str, cut: list[str]) -> Any:
    if isinstance(value, list):
        if len(value) > keep:
            cut.append(f"{path} (first {keep} of {len(value)} items)" if keep else f"{path} (all {len(value)} items)")
            value = value[:keep]
        return [_cut_lists(item, keep, f"{path}[{index}]", cut) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _cut_lists(item, keep, f"{path}.{key}".lstrip("."), cut) for key, item in value.items()}
    return value
