"""Suite-wide test settings.

The MCP SDK's client checks each tool's output schema against the JSON Schema meta-schema the first time a session
sees the tool (about 10 ms a schema), and the tests open a new session for nearly every test: the same few dozen
schemas were checked tens of thousands of times. ``check_schema`` is a pure function of the schema, so the suite
remembers which schemas passed; a schema that fails is checked (and fails) every time, and every result is still
validated against its schema by the client.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema.validators import Draft202012Validator

_passed: set[str] = set()
_check_schema = Draft202012Validator.check_schema


def _check_schema_once(cls: type[Draft202012Validator], schema: Any, format_checker: Any = None) -> None:
    key = json.dumps(schema, sort_keys=True)
    if key in _passed:
        return
    _check_schema(schema) if format_checker is None else _check_schema(schema, format_checker=format_checker)
    _passed.add(key)


Draft202012Validator.check_schema = classmethod(_check_schema_once)  # type: ignore[method-assign,assignment]
