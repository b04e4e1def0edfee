"""How values cross the wire, exactly as civis-python 2.10.1 sends and reads them.

* Path values are URL-encoded; the path is joined to the base URL without its slashes at the ends (``/imports/``
  is requested as ``imports``), as civis-python does.
* Query strings: booleans as ``True``/``False``; lists as ``key[]=a&key[]=b``; absent values dropped.
* Response keys are converted from camelCase to snake_case recursively with civis-python's own rule, except the
  keys inside ``uploadFields``: those are the form fields of a presigned upload (``Content-Type``, ``X-Amz-Date``)
  and must be sent back exactly as given (civis-python mangles them to ``content-_type``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["TooDeep", "build_path", "camel_to_snake", "encode_query", "snake_keys", "snake_keys_within"]

# civis-python's rule (civis/_camel_to_snake.py), so that keys come out exactly as it returns them.
_UNDERSCORER1 = re.compile(r"(.)([A-Z][a-z]+)")
_UNDERSCORER2 = re.compile(r"([a-z0-9])([A-Z])")


@functools.lru_cache(maxsize=4096)
def camel_to_snake(word: str) -> str:
    """civis-python's conversion, cached: answers repeat the same few hundred keys, and two regex passes per key
    dominated the cost of converting a large answer."""
    word = _UNDERSCORER1.sub(r"\1_\2", word)
    return _UNDERSCORER2.sub(r"\1_\2", word).lower()


_VERBATIM_KEYS = frozenset({"uploadFields"})


def snake_keys(value: Any) -> Any:
    """Convert every dict key in a decoded JSON value from camelCase to snake_case (see the module docstring)."""
    if isinstance(value, dict):
        return {
            camel_to_snake(key): (item if key in _VERBATIM_KEYS else snake_keys(item)) for key, item in value.items()
        }
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


class TooDeep(ValueError):
    """A decoded JSON value nests deeper than allowed."""


def snake_keys_within(value: Any, limit: int) -> Any:
    """``snake_keys``, refusing (``TooDeep``) a value whose objects and arrays nest more than ``limit`` levels: one
    walk for both, which never recurses deeper than ``limit`` and makes no call for a scalar (most of an answer)."""
    return _snake_container(value, limit, 1) if isinstance(value, dict | list) else value


def _snake_container(value: dict[str, Any] | list[Any], limit: int, depth: int) -> Any:
    if depth > limit:
        raise TooDeep(f"deeper than {limit} levels")
    if isinstance(value, list):
        return [_snake_container(item, limit, depth + 1) if isinstance(item, dict | list) else item for item in value]
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict | list):
            item = (
                _verbatim_within(item, limit, depth + 1)
                if key in _VERBATIM_KEYS
                else _snake_container(item, limit, depth + 1)
            )
        out[camel_to_snake(key)] = item
    return out


def _verbatim_within(value: Any, limit: int, depth: int) -> Any:
    """``value`` unchanged, once its depth is checked."""
    if isinstance(value, dict | list):
        if depth > limit:
            raise TooDeep(f"deeper than {limit} levels")
        for item in value.values() if isinstance(value, dict) else value:
            _verbatim_within(item, limit, depth + 1)
    return value


def build_path(template: str, values: Mapping[str, Any]) -> str:
    """Fill a spec path template with URL-encoded values and drop the slashes at its ends."""
    filled = template.format(**{name: quote(str(value), safe="") for name, value in values.items()})
    return filled.strip("/")


QueryPairs = list[tuple[str, str | int | float | bool | None]]


def encode_query(params: Mapping[str, Any]) -> QueryPairs:
    """Encode query parameters as civis-python (through requests) does."""
    pairs: QueryPairs = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((f"{key}[]", _scalar(item)) for item in value)
        else:
            pairs.append((key, _scalar(value)))
    return pairs


def _scalar(value: Any) -> str:
    # str(True) is "True": the form requests gives Python booleans, which the Civis API accepts.
    return str(value)
