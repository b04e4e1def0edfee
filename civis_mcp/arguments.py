"""Validation of tool arguments, with errors that name the field and say how to fix it.

The SDK would validate against the argument model too, but its errors neither list the valid names nor suggest the
intended one; a model that misspells ``column_delimter`` must learn at once that the argument was not applied.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from civis_mcp.models.base import RequestModel

__all__ = ["ArgumentError", "validate_arguments"]

_MAX_SHOWN_VALUE = 60


class ArgumentError(ValueError):
    """The arguments do not fit the tool; the message says which and how to fix them. Nothing was sent."""


def validate_arguments(tool: str, model: type[RequestModel], arguments: dict[str, Any]) -> RequestModel:
    """Validate ``arguments`` for ``tool`` against ``model``; raise ``ArgumentError`` with a readable message."""
    unknown = [name for name in arguments if name not in model.model_fields]
    if unknown:
        raise ArgumentError(f"{tool} was not called: {_unknown_message(model, unknown, 'argument')}")
    try:
        return model.model_validate(_decode_json_strings(model, arguments))
    except ValidationError as exc:
        problems = "; ".join(_describe(model, error) for error in exc.errors(include_url=False))
        raise ArgumentError(f"{tool} was not called: invalid arguments: {problems}.") from None


def _decode_json_strings(model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any]:
    """Accept an object or list argument sent as a JSON string, as some clients do."""
    decoded = dict(arguments)
    for name, value in arguments.items():
        annotation = model.model_fields[name].annotation
        if isinstance(value, str) and _structured(annotation):
            try:
                parsed = json.loads(value)
            except ValueError:
                continue
            if isinstance(parsed, dict | list):
                decoded[name] = parsed
    return decoded


def _structured(annotation: Any) -> bool:
    for arm in _arms(annotation):
        origin = typing.get_origin(arm) or arm
        if origin in (list, dict) or (isinstance(origin, type) and issubclass(origin, BaseModel)):
            return True
    return False


def _arms(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _unknown_message(model: type[BaseModel], unknown: list[str], kind: str) -> str:
    valid = list(model.model_fields)
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=1)
        parts.append(f"unknown {kind} {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    listing = ", ".join(f"{name} (required)" if model.model_fields[name].is_required() else name for name in valid)
    return f"{'; '.join(parts)}. Valid {kind}s: {listing or 'none'}."


def _describe(model: type[BaseModel], error: ErrorDetails) -> str:
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        owner = _model_at(model, error["loc"][:-1])
        if owner is not None:
            return f"{location}: {_unknown_message(owner, [str(error['loc'][-1])], 'field').rstrip('.')}"
    if error["type"] == "missing":
        return f"{location}: required, but missing"
    shown = json.dumps(error.get("input"), default=str)
    if len(shown) > _MAX_SHOWN_VALUE:
        shown = shown[:_MAX_SHOWN_VALUE] + "..."
    return f"{location}: {error['msg']} (got {shown})"


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The nested model class that a validation location points into, if any."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        current = _nested_model(current.model_fields[part].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _nested_model(annotation: Any) -> Any:
    for arm in _arms(annotation):
        if typing.get_origin(arm) is list:
            arm = typing.get_args(arm)[0]
        if isinstance(arm, type) and issubclass(arm, BaseModel):
            return arm
    return None
