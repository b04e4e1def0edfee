"""A CSV import's stored settings, read and checked the way a Civis import checks them: ``read_settings`` turns the
snake_case settings (the field names of ``civis_mcp.models.csv.CsvImport``) into one ``CsvSettings``, or fails the
run with a message naming the setting to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from civis_mcp.csv_dialect import DELIMITERS
from civis_mcp.sandbox.csv_types import SUPPORTED_TYPES, RunFailed, SqlType, parse_sql_type

__all__ = ["COMPRESSIONS", "MODES", "CsvSettings", "DeclaredColumn", "read_settings"]

COMPRESSIONS = ("gzip", "none")
MODES = ("fail", "truncate", "append", "drop", "upsert")


@dataclass(frozen=True)
class DeclaredColumn:
    name: str
    sql_type: SqlType | None


@dataclass(frozen=True)
class CsvSettings:
    schema: str
    table: str
    delimiter_name: str
    delimiter: str
    compression: str
    first_row_is_header: bool
    escaped: bool
    mode: str
    max_errors: int
    table_columns: list[DeclaredColumn] | None
    primary_keys: list[str]
    last_modified_keys: list[str]
    loosen_types: bool
    file_ids: list[int]
    defaulted: frozenset[str]  # settings left unset, so the log can say "(default)"


def _either(choices: Iterable[str]) -> str:
    """'"a", "b" or "c"': the values a setting accepts, as an error message names them."""
    *rest, last = (f'"{choice}"' for choice in choices)
    return f"{', '.join(rest)} or {last}" if rest else last


def _setting(settings: Mapping[str, Any], key: str, default: Any, defaulted: set[str]) -> Any:
    value = settings.get(key)
    if value is None:
        defaulted.add(key)
        return default
    return value


def _names(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise RunFailed(f"{field} must be a list of column names.")
    return list(value)


def read_settings(settings: Mapping[str, Any]) -> CsvSettings:
    defaulted: set[str] = set()
    destination = settings.get("destination")
    if not isinstance(destination, Mapping) or not destination.get("schema") or not destination.get("table"):
        raise RunFailed("destination.schema and destination.table are required; set both.")

    delimiter_name = _setting(settings, "column_delimiter", "comma", defaulted)
    if delimiter_name not in DELIMITERS:
        raise RunFailed(f"column_delimiter {delimiter_name!r} is not supported; use {_either(DELIMITERS)}.")
    compression = _setting(settings, "compression", "none", defaulted)
    if compression not in COMPRESSIONS:
        raise RunFailed(f"compression {compression!r} is not supported; use {_either(COMPRESSIONS)}.")
    mode = _setting(settings, "existing_table_rows", "fail", defaulted)
    if mode not in MODES:
        raise RunFailed(f"existing_table_rows {mode!r} is not supported; use {_either(MODES)}.")
    max_errors = _setting(settings, "max_errors", 0, defaulted)
    if isinstance(max_errors, bool) or not isinstance(max_errors, int) or max_errors < 0:
        raise RunFailed(f"max_errors must be a whole number of rows, 0 or more (got {max_errors!r}).")

    primary_keys = _names(destination.get("primary_keys"), "destination.primary_keys")
    if mode == "upsert" and not primary_keys:
        raise RunFailed(
            'existing_table_rows is "upsert" but destination.primary_keys is not set; set it to the column(s) that '
            'identify a row (e.g. ["id"]), or use existing_table_rows="append".'
        )

    source = settings.get("source")
    if not isinstance(source, Mapping):
        raise RunFailed("source is required; set source.file_ids to the Civis file IDs to import.")
    if source.get("storage_path") is not None:
        raise RunFailed(
            "Storage path imports are not available in the sandbox: it cannot reach external storage hosts. "
            "Upload the file to Civis and set source.file_ids instead."
        )
    file_ids = source.get("file_ids")
    if not isinstance(file_ids, list) or not file_ids:
        raise RunFailed("source.file_ids is empty; set it to the Civis file IDs to import.")
    if not all(isinstance(file_id, int) and not isinstance(file_id, bool) for file_id in file_ids):
        raise RunFailed("source.file_ids must be a list of Civis file IDs (integers).")

    return CsvSettings(
        schema=str(destination["schema"]),
        table=str(destination["table"]),
        delimiter_name=delimiter_name,
        delimiter=DELIMITERS[delimiter_name],
        compression=compression,
        first_row_is_header=bool(_setting(settings, "first_row_is_header", False, defaulted)),
        escaped=bool(_setting(settings, "escaped", False, defaulted)),
        mode=mode,
        max_errors=max_errors,
        table_columns=_read_table_columns(settings.get("table_columns")),
        primary_keys=primary_keys,
        last_modified_keys=_names(destination.get("last_modified_keys"), "destination.last_modified_keys"),
        loosen_types=bool(_setting(settings, "loosen_types", False, defaulted)),
        file_ids=list(file_ids),
        defaulted=frozenset(defaulted),
    )


def _read_table_columns(value: Any) -> list[DeclaredColumn] | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise RunFailed('table_columns must be a list of {"name", "sql_type"} objects.')
    columns: list[DeclaredColumn] = []
    seen: set[str] = set()
    for position, item in enumerate(value, start=1):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name.strip():
            raise RunFailed(f"table_columns[{position}] has no name; every column needs a name.")
        name = name.strip()
        if name.casefold() in seen:
            raise RunFailed(f"table_columns lists column {name!r} twice; column names must be unique.")
        seen.add(name.casefold())
        raw_type = item.get("sql_type")
        sql_type: SqlType | None = None
        if raw_type is not None and str(raw_type).strip():
            try:
                sql_type = parse_sql_type(str(raw_type))
            except ValueError:
                raise RunFailed(
                    f"table_columns[{position}] ({name!r}): sql_type {raw_type!r} is not supported in the sandbox; "
                    f"use one of {SUPPORTED_TYPES}."
                ) from None
        columns.append(DeclaredColumn(name, sql_type))
    return columns
