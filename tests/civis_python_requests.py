"""The request civis-python sends for a call of ``client.imports.<method>(**arguments)``, derived by its own rules.

The contract cases (``tests/contract_cases.py``) write down a tool call's arguments, not the request it must send:
the request is derived here, from civis-python alone (never from civis-mcp, or the contract test would be circular).
civis-python (``civis.resources._resources``, ``civis.base.Endpoint``) builds its methods from its bundled API spec:

* an operation whose summary says deprecated gets no method; the method name is ``parse_method_name`` (without the
  legacy ``list_`` names);
* each parameter in the path or the query, and each property of the body schema, is an argument named by
  ``camel_to_snake``; a call sends the arguments given, each where the spec puts it, under that snake_case name;
* the path template is filled in; the query goes through ``requests`` (None left out, other values written with
  ``str``: ``True`` -> ``"True"``); the body is the body arguments as given (``{}`` when there are none), and GET and
  DELETE carry ``{}`` too (``Wire.body`` is None for them).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civis._camel_to_snake import camel_to_snake as _civis_camel_to_snake
from civis.resources import API_SPEC_PATH
from civis.resources._resources import parse_method_name as _civis_parse_method_name

__all__ = ["Json", "Wire", "camel_to_snake", "civis_python_request"]

Json = Any
# civis-python's own rules (civis is untyped)
camel_to_snake: Callable[[str], str] = _civis_camel_to_snake
parse_method_name: Callable[..., str] = _civis_parse_method_name
BODYLESS_VERBS = frozenset({"GET", "DELETE"})


@dataclass(frozen=True)
class Wire:
    """A request as Civis receives it: ``query`` as decoded ``(key, value)`` pairs, ``body`` None for GET/DELETE."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: dict[str, Any] | None


@dataclass(frozen=True)
class SpecOperation:
    """One operation of civis-python's bundled API spec, as civis-python turns it into a method."""

    method: str
    template: str
    """The path with ``{name}`` fields, as in the spec (``/imports/{id}/syncs/{sync_id}``)."""
    placement: Mapping[str, str]
    """Argument name (snake_case, as civis-python names it) -> ``path``, ``query`` or ``body``."""


@functools.cache
def civis_python_operations() -> dict[str, SpecOperation]:
    """The Imports operations of civis-python's bundled spec by civis-python method name (``client.imports.<name>``)."""
    spec = json.loads(Path(API_SPEC_PATH).read_text(encoding="utf-8"))
    found: dict[str, SpecOperation] = {}
    for template, item in spec["paths"].items():
        if not template.startswith("/imports"):
            continue
        for verb, operation in item.items():
            if "deprecated" in operation["summary"].lower():
                continue
            placement: dict[str, str] = {}
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "body":
                    placement[camel_to_snake(parameter["name"])] = parameter["in"]
                    continue
                schema = parameter["schema"]
                if "$ref" in schema:
                    schema = spec["definitions"][schema["$ref"].rsplit("/", 1)[1]]
                placement.update((camel_to_snake(name), "body") for name in schema["properties"])
            name = parse_method_name(verb, template.strip("/"), operation, use_legacy_names=False)
            assert name not in found, f"two operations are named {name}"
            found[name] = SpecOperation(verb.upper(), template, placement)
    return found


def civis_python_request(civis_method: str, arguments: Mapping[str, Any]) -> Wire:
    """The request civis-python sends for ``client.imports.<civis_method>(**arguments)``."""
    operation = civis_python_operations()[civis_method]
    unplaced = sorted(set(arguments) - set(operation.placement))
    assert not unplaced, f"{civis_method}: civis-python has no argument {unplaced}"
    placed: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "body": {}}
    for name, value in arguments.items():
        placed[operation.placement[name]][name] = value
    query: list[tuple[str, str]] = []
    for name, value in placed["query"].items():
        # requests leaves out None and writes the rest with str() (True -> "True"). civis-python would send a list
        # as repeated ``name[]`` pairs; no Imports query parameter is an array, so a list here is a mistake in a case.
        assert not isinstance(value, list | dict), f"{civis_method}: {name} is not a scalar"
        if value is not None:
            query.append((name, str(value)))
    path = "/" + operation.template.strip("/").format(**placed["path"])
    body = None if operation.method in BODYLESS_VERBS else placed["body"]
    return Wire(operation.method, path, query, body)
