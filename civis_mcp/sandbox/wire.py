"""Keys across the wire: requests arrive in snake_case or camelCase; answers leave in camelCase, shaped by our models.

Every answer body passes through ``shape``: the response model of the operation decides which keys are sent (all of
them, ``null`` when unknown, as Civis does), nested objects are shaped by their own models, and the snake_case
field names become camelCase. Internal bookkeeping in the stored documents never leaks, and an answer cannot drift
from the models that ``tests/test_spec_agreement.py`` checks against the official spec.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from functools import cache
from typing import Any, Union, get_args, get_origin

from civis_mcp.api.wire import camel_to_snake
from civis_mcp.models.base import ResponseModel

__all__ = ["OPAQUE_KEYS", "camel", "shape", "snake_body"]

OPAQUE_KEYS = frozenset({"column_overrides", "file", "upload_fields"})
"""Fields whose own keys are data (column names, form fields), never renamed in either direction."""


@cache
def camel(name: str) -> str:
    """``remote_host_id`` -> ``remoteHostId``: the inverse of civis-python's camel_to_snake on every spec name."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake_body(value: Any) -> Any:
    """A decoded JSON request body with every key in snake_case (keys of opaque fields kept as sent)."""
    if isinstance(value, dict):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            name = camel_to_snake(key) if isinstance(key, str) else key
            converted[name] = item if name in OPAQUE_KEYS else snake_body(item)
        return converted
    if isinstance(value, list):
        return [snake_body(item) for item in value]
    return value


def shape(model: type[ResponseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """The camelCase answer for ``data`` (snake_case) as ``model`` describes it: every model field, nothing else."""
    return {camel(name): _shape_value(annotation, data.get(name)) for name, annotation in _fields(model)}


@cache
def _fields(model: type[ResponseModel]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, info.annotation) for name, info in model.model_fields.items())


def _shape_value(annotation: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _shape_value(options[0], value) if len(options) == 1 else value
    if isinstance(annotation, type) and issubclass(annotation, ResponseModel):
        return shape(annotation, value) if isinstance(value, Mapping) else value
    if origin is list and isinstance(value, list):
        (item,) = get_args(annotation)
        return [_shape_value(item, element) for element in value]
    if origin is dict and isinstance(value, Mapping):
        _, item = get_args(annotation)
        return {key: _shape_value(item, element) for key, element in value.items()}
    return value
