"""Base classes every Civis model derives from.

Two kinds of model, with opposite attitudes to unknown keys:

* ``RequestModel``: what the assistant sends. Unknown keys are an error (a misspelt optional argument must never
  be silently dropped), values are strict (``true``, ``"5"`` and ``1.0`` are not the integer 5, ``"true"`` is not a
  boolean: a value that needs guessing is refused rather than guessed), and only the fields the caller actually set
  are sent upstream (``exclude_unset``), exactly as civis-python sends only the arguments given.
* ``ResponseModel``: what Civis returns (already converted to snake_case by the HTTP client). Unknown keys are kept,
  so a field the API adds later still reaches the caller, and every field is optional, because the API omits and
  nulls fields freely.
"""

from __future__ import annotations

import warnings
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# Database tables have a field named ``schema``, as in the API and civis-python. It shadows the deprecated
# ``BaseModel.schema()`` classmethod: harmless for instances (the field value wins), but pydantic warns at class
# creation and mypy sees an incompatible override, hence this filter (installed here, before any model module defines
# such a field) and the ``type: ignore[assignment]`` beside each of those fields.
warnings.filterwarnings(
    "ignore", message='Field name "schema" in ".*" shadows an attribute in parent', category=UserWarning
)


class RequestModel(BaseModel):
    """Arguments the assistant supplies: strict about names and types, sends only what was given."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, use_enum_values=True, strict=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict of the fields the caller set, nested models included, snake_case as civis-python."""
        return self.model_dump(mode="json", exclude_unset=True)


class ResponseModel(BaseModel):
    """An object returned by the Civis API: lenient, keeps fields it does not know."""

    model_config = ConfigDict(extra="allow")


class KnownValues:
    """Marks a response field whose values Civis documents as a closed set, without rejecting a new one.

    Used as ``Annotated[str, KnownValues(RunState)]``: any string validates (a value Civis adds later must not turn a
    read into an error), and the output schema lists the documented values as ``examples``. Arguments, by contrast,
    use the ``Literal`` itself: what we send must be one of the documented values.
    """

    def __init__(self, closed_set: Any) -> None:
        self.values = list(get_args(closed_set))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["examples"] = self.values
        return json_schema
