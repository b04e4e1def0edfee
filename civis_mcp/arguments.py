"""Validation of tool arguments, with errors that name the field and say how to fix it.

The SDK would validate against the argument model too, but its errors neither list the valid names nor suggest the
intended one; a model that misspells ``column_delimter`` must learn at once that the argument was not applied.

Before any model sees them, arguments are held to bounds (``MAX_NAME``, ``MAX_STRING``, ``MAX_DEPTH``, ``MAX_VALUES``)
by a loop that cannot overflow the stack, so a 10 MB argument name gets a short answer and a deeply nested value a
clear error, not a ``RecursionError``. Values are then validated strictly: ``true``, ``"5"`` and ``1.0`` are not the
integer 5 (see ``RequestModel``).
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

__all__ = ["MAX_DEPTH", "MAX_NAME", "MAX_STRING", "MAX_VALUES", "ArgumentError", "validate_arguments"]

MAX_NAME = 100
"""Characters in an argument or field name; the longest real one has under 40."""
MAX_STRING = 100_000
"""Characters in one string value (an SQL query or an e-mail body fits many times over)."""
MAX_DEPTH = 16
"""Levels of objects and lists; the deepest argument nests four."""
MAX_VALUES = 10_000
"""Values (strings, numbers, objects, list items...) in all the arguments of one call."""
_MAX_SHOWN_VALUE = 60
_MAX_SHOWN_NAME = 40
_HINTS = {
    "int_type": "send a whole number without quotes, e.g. 5",
    "bool_type": "send true or false without quotes",
    "float_type": "send a number without quotes",
    "string_type": "send a string in quotes",
}


class ArgumentError(ValueError):
    """The arguments do not fit the tool; the message says which and how to fix them. Nothing was sent."""


def validate_arguments(tool: str, model: type[RequestModel], arguments: dict[str, Any]) -> RequestModel:
    """Validate ``arguments`` for ``tool`` against ``model``; raise ``ArgumentError`` with a readable message."""
    _check_bounds(tool, model, arguments)
    unknown = [name for name in arguments if name not in model.model_fields]
    if unknown:
        raise ArgumentError(f"{tool} was not called: {_unknown_message(model, unknown, 'argument')}")
    decoded = _decode_json_strings(model, arguments)
    if decoded != arguments:
        _check_bounds(tool, model, decoded)
    try:
        return model.model_validate(decoded)
    except ValidationError as exc:
        problems = "; ".join(_describe(model, error) for error in exc.errors(include_url=False))
        raise ArgumentError(f"{tool} was not called: invalid arguments: {problems}.") from None


def _check_bounds(tool: str, model: type[BaseModel], arguments: dict[str, Any]) -> None:
    """Raise ``ArgumentError`` when a name, a string, the nesting or the number of values is out of bounds."""
    stack: list[tuple[str, Any, int]] = [("", arguments, 0)]
    count = 0
    while stack:
        where, value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ArgumentError(f"{tool} was not called: the arguments hold more than {MAX_VALUES:,} values.")
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise ArgumentError(
                f"{tool} was not called: {where} is {len(value):,} characters long; at most {MAX_STRING:,} are "
                "accepted."
            )
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise ArgumentError(
                f"{tool} was not called: {where} nests deeper than {MAX_DEPTH} levels of objects and lists; no "
                "argument of this tool nests that deep."
            )
        if isinstance(value, list):
            stack.extend((f"{where}[{index}]", item, depth + 1) for index, item in enumerate(value))
            continue
        for name, item in value.items():
            if not isinstance(name, str) or len(name) > MAX_NAME:
                kind = "an argument" if depth == 0 else f"a field of {where}"
                valid = f" Valid arguments: {_listing(model)}." if depth == 0 else ""
                raise ArgumentError(
                    f"{tool} was not called: {kind} has a name of {len(str(name)):,} characters "
                    f"({_shown_name(str(name))}); names have at most {MAX_NAME}.{valid}"
                )
            stack.append((f"{where}.{name}" if where else name, item, depth + 1))


def _shown_name(name: str) -> str:
    """A name as an error quotes it: in quotes, and cut when long, so an error never echoes a huge input."""
    return repr(name) if len(name) <= _MAX_SHOWN_NAME else repr(name[:_MAX_SHOWN_NAME]) + "..."


def _decode_json_strings(model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any]:
    """Accept an object or list argument sent as a JSON string, as some clients do."""
    decoded = dict(arguments)
    for name, value in arguments.items():
        annotation = model.model_fields[name].annotation
        if isinstance(value, str) and _structured(annotation):
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):  # not JSON, or nested past the parser: validated as the string
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
        parts.append(f"unknown {kind} {_shown_name(name)}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"{'; '.join(parts)}. Valid {kind}s: {_listing(model)}."


def _listing(model: type[BaseModel]) -> str:
    fields = model.model_fields
    return ", ".join(f"{name} (required)" if fields[name].is_required() else name for name in fields) or "none"


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
    hint = _HINTS.get(error["type"])
    return f"{location}: {error['msg']} (got {shown}{'; ' + hint if hint else ''})"


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
