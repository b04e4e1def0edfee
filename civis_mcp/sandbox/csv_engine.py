"""The sandbox's CSV import engine: parse files per a CSV import's settings and load them into a SQLite "warehouse".

One call of :func:`execute_csv_import` is one run. It reads the import's stored settings (snake_case, the field names
of ``civis_mcp.models.csv.CsvImport``), checks them against the files the way a Civis import would, loads the rows and
writes log lines a person can act on: each failure names the setting that fixes it.

Warehouse naming: Civis table ``schema.table`` is the SQLite table ``warehouse_table_name(schema, table)``, which is
``f"{schema}__{table}"`` lower-cased, in the connection's ``main`` database. ATTACH per schema is avoided on purpose:
SQLite refuses ATTACH inside a transaction, and every load runs inside one. Lower-casing follows Redshift and
Postgres, which fold unquoted identifiers; SQLite compares names case-insensitively anyway. (``a.b__c`` and
``a__b.c`` share a name; the sandbox's demo schemas do not collide.) Columns are created with their declared SQL type
normalised (``VARCHAR(100)``, ``NUMERIC(10,2)``, ``DATE``...), so ``PRAGMA table_info`` shows the Civis types.

All or nothing: the whole load runs inside one SAVEPOINT. A failure or a cancellation rolls it back, so no half-made
table and no partial rows are left, and an existing table keeps its old rows. If the connection was not already in a
transaction, releasing the savepoint commits; if it was, the load nests inside it and the caller commits.

Values: empty fields load as NULL for every type. DATE is ``YYYY-MM-DD``; TIMESTAMP is ISO 8601 (``T`` or space);
both are stored as ISO text. BOOLEAN is stored as 1/0. VARCHAR(n) and CHAR(n) limits count UTF-8 bytes, as Redshift
does; VARCHAR without a length is VARCHAR(256) (the Redshift default) and TEXT is unlimited.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

__all__ = [
    "BadValue",
    "CsvJob",
    "CsvOutcome",
    "SqlType",
    "execute_csv_import",
    "parse_sql_type",
    "plural",
    "quote_identifier",
    "show_value",
    "warehouse_table_name",
]

RunOutcomeState = Literal["succeeded", "failed", "cancelled"]

_DELIMITERS: dict[str, str] = {"comma": ",", "tab": "\t", "pipe": "|"}
_DELIMITER_SHOWN: dict[str, str] = {",": "','", "\t": "tab", "|": "'|'"}
_COMPRESSIONS = ("gzip", "none")
_MODES = ("fail", "truncate", "append", "drop", "upsert")
_GZIP_MAGIC = b"\x1f\x8b"
_CANCEL_CHECK_EVERY = 200  # rows between should_cancel() calls; also the insert batch size
_MAX_REJECT_LINES = 20
_VALUE_SHOWN_CHARS = 40
_SNIFF_LINES = 5
_SNIFF_CHARS = 65536
_VARCHAR_MAX = 65535
_NUMERIC_MAX_PRECISION = 38


@dataclass(frozen=True)
class CsvJob:
    """One run of a CSV import: its stored settings, the visible files' raw bytes by file ID, and the run's ID."""

    settings: Mapping[str, Any]
    files: Mapping[int, bytes]
    run_id: int


@dataclass(frozen=True)
class CsvOutcome:
    """How a run ended. ``error`` is one line, like a Civis run's ``error``; None unless the run failed."""

    state: RunOutcomeState
    error: str | None
    rows_loaded: int
    rows_rejected: int
    table: str


def warehouse_table_name(schema: str, table: str) -> str:
    """The SQLite table (unquoted, in ``main``) that stands for the Civis table ``schema.table``."""
    return f"{schema}__{table}".lower()


# --- failures ---------------------------------------------------------------------------------------------------------


class _RunFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _RunCancelled(Exception):
    pass


# --- SQL types --------------------------------------------------------------------------------------------------------

_TypeKind = Literal["integer", "float", "numeric", "text", "boolean", "date", "timestamp", "any"]

_INT_BITS: dict[str, tuple[str, int]] = {
    "SMALLINT": ("SMALLINT", 16),
    "INT2": ("SMALLINT", 16),
    "INT": ("INTEGER", 32),
    "INTEGER": ("INTEGER", 32),
    "INT4": ("INTEGER", 32),
    "BIGINT": ("BIGINT", 64),
    "INT8": ("BIGINT", 64),
}
_FLOATS: dict[str, str] = {
    "FLOAT": "FLOAT",
    "FLOAT8": "DOUBLE PRECISION",
    "DOUBLE": "DOUBLE PRECISION",
    "DOUBLE PRECISION": "DOUBLE PRECISION",
    "REAL": "REAL",
    "FLOAT4": "REAL",
}
_VARCHARS = {"VARCHAR", "CHARACTER VARYING", "NVARCHAR"}
_CHARS = {"CHAR", "CHARACTER", "NCHAR", "BPCHAR"}
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE", "DATETIME"}
_TIMESTAMPTZS = {"TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"}
_SUPPORTED_TYPES = "SMALLINT, INTEGER, BIGINT, FLOAT, DOUBLE PRECISION, NUMERIC(p,s), VARCHAR(n), CHAR(n), TEXT, "
_SUPPORTED_TYPES += "BOOLEAN, DATE, TIMESTAMP"

_TYPE_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 ]*?)\s*(?:\(\s*(\d+|max)\s*(?:,\s*(\d+)\s*)?\))?\s*$", re.IGNORECASE)
_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:nan|inf|infinity)$", re.IGNORECASE)
_DECIMAL_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


class _BadValue(Exception):
    """A value that does not convert; the message completes "'<value>' ..."."""


@dataclass(frozen=True)
class _SqlType:
    kind: _TypeKind
    declared: str  # normalised spelling, used in CREATE TABLE and in messages
    length: int | None = None  # text: byte limit, None for unlimited
    precision: int = 18
    scale: int = 0
    bits: int = 64

    def loosened(self) -> _SqlType:
        """The wider type ``loosen_types`` creates the table with (lengths doubled, NUMERIC precision headroom)."""
        if self.kind == "text" and self.length is not None:
            length = min(self.length * 2, _VARCHAR_MAX)
            base = self.declared.split("(", 1)[0]
            return _SqlType("text", f"{base}({length})", length=length)
        if self.kind == "numeric":
            precision = min(self.precision * 2, _NUMERIC_MAX_PRECISION)
            return _SqlType("numeric", f"NUMERIC({precision},{self.scale})", precision=precision, scale=self.scale)
        return self

    def convert(self, raw: str) -> object:
        """The value to store for one field; raises _BadValue."""
        if self.kind == "text":
            if raw == "":
                return None
            if self.length is not None:
                size = len(raw.encode("utf-8"))
                if size > self.length:
                    raise _BadValue(f"is too long for {self.declared} ({size:,} bytes)")
            return raw
        if self.kind == "any":
            return raw if raw != "" else None
        value = raw.strip()
        if value == "":
            return None
        if self.kind == "integer":
            return self._integer(value)
        if self.kind == "float":
            if not _FLOAT_RE.match(value):
                raise _BadValue(f"is not a valid {self.declared}")
            return float(value)
        if self.kind == "numeric":
            return self._numeric(value)
        if self.kind == "boolean":
            lowered = value.lower()
            if lowered in _TRUE:
                return 1
            if lowered in _FALSE:
                return 0
            raise _BadValue("is not a valid BOOLEAN (expected true or false)")
        if self.kind == "date":
            return _parse_date(value).isoformat()
        return self._timestamp(value)

    def _integer(self, value: str) -> int:
        if not _INT_RE.match(value):
            raise _BadValue(f"is not a valid {self.declared}")
        number = int(value)
        limit = 2 ** (self.bits - 1)
        if not -limit <= number < limit:
            raise _BadValue(f"is out of range for {self.declared}")
        return number

    def _numeric(self, value: str) -> int | float:
        if not _DECIMAL_RE.match(value):
            raise _BadValue(f"is not a valid {self.declared}")
        try:
            number = Decimal(value).quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise _BadValue(f"is out of range for {self.declared}") from None
        whole_digits = len(str(abs(int(number)))) if int(number) else 0
        if whole_digits > self.precision - self.scale:
            raise _BadValue(f"is out of range for {self.declared}")
        return int(number) if self.scale == 0 else float(number)

    def _timestamp(self, value: str) -> str:
        if not _TIMESTAMP_RE.match(value):
            raise _BadValue(f"is not a valid {self.declared} (expected YYYY-MM-DD HH:MM:SS)")
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            raise _BadValue(f"is not a valid {self.declared} (no such date or time)") from None
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(UTC)
            if self.declared != "TIMESTAMPTZ":
                stamp = stamp.replace(tzinfo=None)
        elif self.declared == "TIMESTAMPTZ":
            stamp = stamp.replace(tzinfo=UTC)  # Redshift reads a zone-less TIMESTAMPTZ as UTC
        return stamp.isoformat(sep=" ")


def _parse_date(value: str) -> date:
    match = _DATE_RE.match(value)
    if not match:
        raise _BadValue("is not a valid DATE (expected YYYY-MM-DD)")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise _BadValue("is not a valid DATE (no such day)") from None


def _parse_sql_type(text: str) -> _SqlType:
    """The type a ``sql_type`` string names; raises ValueError for types the sandbox does not know."""
    match = _TYPE_RE.match(text)
    if not match:
        raise ValueError(text)
    base = " ".join(match[1].upper().split())
    first, second = match[2], match[3]
    has_args = first is not None
    if first is not None and first.lower() == "max":
        if base not in _VARCHARS or second is not None:
            raise ValueError(text)
        return _SqlType("text", f"VARCHAR({_VARCHAR_MAX})", length=_VARCHAR_MAX)
    if base in _VARCHARS or base in _CHARS:
        if second is not None:
            raise ValueError(text)
        name = "VARCHAR" if base in _VARCHARS else "CHAR"
        length = int(first) if first is not None else (256 if name == "VARCHAR" else 1)
        if not 1 <= length <= _VARCHAR_MAX:
            raise ValueError(text)
        return _SqlType("text", f"{name}({length})", length=length)
    if base in ("NUMERIC", "DECIMAL"):
        precision = int(first) if first is not None else 18
        scale = int(second) if second is not None else 0
        if not (1 <= precision <= _NUMERIC_MAX_PRECISION and 0 <= scale <= precision):
            raise ValueError(text)
        return _SqlType("numeric", f"NUMERIC({precision},{scale})", precision=precision, scale=scale)
    if base in _FLOATS and (not has_args or base == "FLOAT"):
        return _SqlType("float", _FLOATS[base])  # FLOAT(p) is legal SQL; p does not change how values parse
    if has_args:
        raise ValueError(text)
    if base in _INT_BITS:
        name, bits = _INT_BITS[base]
        return _SqlType("integer", name, bits=bits)
    if base == "TEXT":
        return _SqlType("text", "TEXT")
    if base in ("BOOLEAN", "BOOL"):
        return _SqlType("boolean", "BOOLEAN")
    if base == "DATE":
        return _SqlType("date", "DATE")
    if base in _TIMESTAMPS:
        return _SqlType("timestamp", "TIMESTAMP")
    if base in _TIMESTAMPTZS:
        return _SqlType("timestamp", "TIMESTAMPTZ")
    raise ValueError(text)


class _TypeGuess:
    """Narrows one column's type over the values seen, for files loaded without declared types."""

    def __init__(self) -> None:
        self.integer = self.floating = self.date = self.timestamp = self.boolean = True
        self.big = False
        self.seen = False
        self.max_bytes = 0

    def see(self, raw: str) -> None:
        self.max_bytes = max(self.max_bytes, len(raw.encode("utf-8")))
        value = raw.strip()
        if value == "":
            return
        self.seen = True
        if self.integer:
            if _INT_RE.match(value):
                number = int(value)
                if not -(2**63) <= number < 2**63:
                    self.integer = False
                elif not -(2**31) <= number < 2**31:
                    self.big = True
            else:
                self.integer = False
        if self.floating and not _FLOAT_RE.match(value):
            self.floating = False
        if self.date:
            try:
                _parse_date(value)
            except _BadValue:
                self.date = False
        if self.timestamp and not _TIMESTAMP_RE.match(value):
            self.timestamp = False
        if self.boolean and value.lower() not in ("true", "false"):
            self.boolean = False  # 0/1 columns stay integers

    def result(self) -> _SqlType:
        if not self.seen:
            return _SqlType("text", "VARCHAR(256)", length=256)
        if self.integer:
            return _SqlType("integer", "BIGINT", bits=64) if self.big else _SqlType("integer", "INTEGER", bits=32)
        if self.floating:
            return _SqlType("float", "FLOAT")
        if self.date:
            return _SqlType("date", "DATE")
        if self.timestamp:
            return _SqlType("timestamp", "TIMESTAMP")
        if self.boolean:
            return _SqlType("boolean", "BOOLEAN")
        length = min(max(self.max_bytes, 1), _VARCHAR_MAX)
        return _SqlType("text", f"VARCHAR({length})", length=length)


# --- settings ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DeclaredColumn:
    name: str
    sql_type: _SqlType | None


@dataclass(frozen=True)
class _Settings:
    schema: str
    table: str
    delimiter_name: str
    delimiter: str
    compression: str
    first_row_is_header: bool
    escaped: bool
    mode: str
    max_errors: int
    table_columns: list[_DeclaredColumn] | None
    primary_keys: list[str]
    last_modified_keys: list[str]
    loosen_types: bool
    file_ids: list[int]
    defaulted: frozenset[str]  # settings left unset, so the log can say "(default)"


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
        raise _RunFailed(f"{field} must be a list of column names.")
    return list(value)


def _read_settings(settings: Mapping[str, Any]) -> _Settings:
    defaulted: set[str] = set()
    destination = settings.get("destination")
    if not isinstance(destination, Mapping) or not destination.get("schema") or not destination.get("table"):
        raise _RunFailed("destination.schema and destination.table are required; set both.")

    delimiter_name = _setting(settings, "column_delimiter", "comma", defaulted)
    if delimiter_name not in _DELIMITERS:
        raise _RunFailed(f'column_delimiter {delimiter_name!r} is not supported; use "comma", "tab" or "pipe".')
    compression = _setting(settings, "compression", "none", defaulted)
    if compression not in _COMPRESSIONS:
        raise _RunFailed(f'compression {compression!r} is not supported; use "gzip" or "none".')
    mode = _setting(settings, "existing_table_rows", "fail", defaulted)
    if mode not in _MODES:
        raise _RunFailed(
            f'existing_table_rows {mode!r} is not supported; use "fail", "truncate", "append", "drop" or "upsert".'
        )
    max_errors = _setting(settings, "max_errors", 0, defaulted)
    if isinstance(max_errors, bool) or not isinstance(max_errors, int) or max_errors < 0:
        raise _RunFailed(f"max_errors must be a whole number of rows, 0 or more (got {max_errors!r}).")

    primary_keys = _names(destination.get("primary_keys"), "destination.primary_keys")
    if mode == "upsert" and not primary_keys:
        raise _RunFailed(
            'existing_table_rows is "upsert" but destination.primary_keys is not set; set it to the column(s) that '
            'identify a row (e.g. ["id"]), or use existing_table_rows="append".'
        )

    source = settings.get("source")
    if not isinstance(source, Mapping):
        raise _RunFailed("source is required; set source.file_ids to the Civis file IDs to import.")
    if source.get("storage_path") is not None:
        raise _RunFailed(
            "Storage path imports are not available in the sandbox: it cannot reach external storage hosts. "
            "Upload the file to Civis and set source.file_ids instead."
        )
    file_ids = source.get("file_ids")
    if not isinstance(file_ids, list) or not file_ids:
        raise _RunFailed("source.file_ids is empty; set it to the Civis file IDs to import.")
    if not all(isinstance(file_id, int) and not isinstance(file_id, bool) for file_id in file_ids):
        raise _RunFailed("source.file_ids must be a list of Civis file IDs (integers).")

    return _Settings(
        schema=str(destination["schema"]),
        table=str(destination["table"]),
        delimiter_name=delimiter_name,
        delimiter=_DELIMITERS[delimiter_name],
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


def _read_table_columns(value: Any) -> list[_DeclaredColumn] | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise _RunFailed('table_columns must be a list of {"name", "sql_type"} objects.')
    columns: list[_DeclaredColumn] = []
    seen: set[str] = set()
    for position, item in enumerate(value, start=1):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name.strip():
            raise _RunFailed(f"table_columns[{position}] has no name; every column needs a name.")
        name = name.strip()
        if name.casefold() in seen:
            raise _RunFailed(f"table_columns lists column {name!r} twice; column names must be unique.")
        seen.add(name.casefold())
        raw_type = item.get("sql_type")
        sql_type: _SqlType | None = None
        if raw_type is not None and str(raw_type).strip():
            try:
                sql_type = _parse_sql_type(str(raw_type))
            except ValueError:
                raise _RunFailed(
                    f"table_columns[{position}] ({name!r}): sql_type {raw_type!r} is not supported in the sandbox; "
                    f"use one of {_SUPPORTED_TYPES}."
                ) from None
        columns.append(_DeclaredColumn(name, sql_type))
    return columns


# --- helpers ----------------------------------------------------------------------------------------------------------


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _show(value: str) -> str:
    """A field value for a log line: quoted, one line, at most ~40 characters."""
    shown = value.replace("\r", "\\r").replace("\n", "\\n")
    if len(shown) > _VALUE_SHOWN_CHARS:
        shown = shown[: _VALUE_SHOWN_CHARS - 3] + "..."
    return f"'{shown}'"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _same_name(left: str, right: str) -> bool:
    return left.strip().casefold() == right.strip().casefold()


@dataclass(frozen=True)
class _SourceFile:
    file_id: int
    content: bytes


@dataclass(frozen=True)
class _Record:
    line: int  # the line the record starts on, counting the header as line 1
    fields: list[str]
    problem: str | None = None  # why the row could not be parsed; fields is then empty


@dataclass(frozen=True)
class _Column:
    name: str
    sql_type: _SqlType


# --- the run ----------------------------------------------------------------------------------------------------------


class _Run:
    def __init__(
        self,
        job: CsvJob,
        warehouse: sqlite3.Connection,
        log: Callable[[str, str], None],
        should_cancel: Callable[[], bool],
    ) -> None:
        self.job = job
        self.db = warehouse
        self.log = log
        self.should_cancel = should_cancel
        self.savepoint = f"csv_import_run_{abs(job.run_id)}"
        self.savepoint_open = False
        self.rows_seen = 0
        self.rejected = 0
        self.first_error: str | None = None
        self.first_rejected_looks_like_header = False
        self.first_rejected_unparseable = False
        self.multiple_files = False

    # -- entry point ---------------------------------------------------------------------------------------------------

    def execute(self) -> CsvOutcome:
        started = time.monotonic()
        destination = self.job.settings.get("destination")
        shown_table = ""
        if isinstance(destination, Mapping):
            shown_table = f"{destination.get('schema') or ''}.{destination.get('table') or ''}"
        self.log("info", f"Starting CSV import run {self.job.run_id} into {shown_table}")
        try:
            loaded = self._run()
        except _RunCancelled:
            self._rollback()
            self.log("warn", "Run cancelled by user; no rows were loaded.")
            return CsvOutcome("cancelled", None, 0, self.rejected, shown_table)
        except _RunFailed as failure:
            return self._failed(failure.message, started, shown_table)
        except sqlite3.Error as exc:
            return self._failed(f"Warehouse error while loading {shown_table}: {exc}.", started, shown_table)
        except Exception as exc:  # a sandbox bug must still end the run, not kill the caller's worker
            message = f"Internal sandbox error ({type(exc).__name__}: {exc}); this is a sandbox bug, not your settings."
            return self._failed(message, started, shown_table)
        elapsed = time.monotonic() - started
        suffix = ""
        if self.rejected:
            suffix = f" ({_plural(self.rejected, 'rejected row')} skipped, within max_errors)"
        self.log("info", f"Run succeeded: loaded {_plural(loaded, 'row')} into {shown_table} in {elapsed:.2f}s{suffix}")
        return CsvOutcome("succeeded", None, loaded, self.rejected, shown_table)

    def _failed(self, message: str, started: float, shown_table: str) -> CsvOutcome:
        self._rollback()
        message = " ".join(message.split())  # a run's error is one line
        self.log("error", message)
        elapsed = time.monotonic() - started
        changed = (
            "" if shown_table.startswith(".") or shown_table.endswith(".") else f" and {shown_table} was not changed"
        )
        self.log("fatal", f"Run failed after {elapsed:.2f}s: no rows were loaded{changed}.")
        return CsvOutcome("failed", message, 0, self.rejected, shown_table)

    def _run(self) -> int:
        settings = _read_settings(self.job.settings)
        self.settings = settings
        self.shown_table = f"{settings.schema}.{settings.table}"
        self.table = warehouse_table_name(settings.schema, settings.table)
        self._log_settings()
        files = self._resolve_files()
        self.multiple_files = len(files) > 1
        self._check_compression(files)

        header, width = self._read_layout(files)
        exists = self._table_exists()
        if exists and settings.mode == "fail":
            raise _RunFailed(
                f'Table {self.shown_table} already exists and existing_table_rows is "fail"; '
                'set it to "append", "truncate", "drop" or "upsert".'
            )
        reuse = exists and settings.mode in ("append", "truncate", "upsert")
        columns = self._existing_columns(header, width) if reuse else self._new_columns(files, header, width)
        self._check_keys(columns)
        self.log("info", f"Columns ({len(columns)}): " + ", ".join(f"{c.name} {c.sql_type.declared}" for c in columns))

        self._begin()
        self._prepare_table(exists, columns)
        loaded = self._load(files, columns)
        if self.should_cancel():
            raise _RunCancelled
        self._commit()
        return loaded

    # -- settings and files --------------------------------------------------------------------------------------------

    def _log_settings(self) -> None:
        s = self.settings

        def shown(key: str, value: object) -> str:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            return f"{key}={text}" + (" (default)" if key in s.defaulted else "")

        parts = [
            shown("column_delimiter", s.delimiter_name),
            shown("compression", s.compression),
            shown("first_row_is_header", s.first_row_is_header),
            shown("escaped", s.escaped),
            shown("existing_table_rows", s.mode),
            shown("max_errors", s.max_errors),
        ]
        if s.primary_keys:
            parts.append("primary_keys=" + ",".join(s.primary_keys))
        if s.last_modified_keys:
            parts.append("last_modified_keys=" + ",".join(s.last_modified_keys))
        self.log("info", "Settings: " + ", ".join(parts))

    def _resolve_files(self) -> list[_SourceFile]:
        files: list[_SourceFile] = []
        for file_id in self.settings.file_ids:
            content = self.job.files.get(file_id)
            if content is None:
                raise _RunFailed(f"File {file_id} not found: no Civis file with that ID is visible to this user.")
            gzipped = content[:2] == _GZIP_MAGIC
            self.log(
                "info",
                f"File {file_id}: {_plural(len(content), 'byte')}"
                + (" (gzip signature found)" if gzipped else " (no gzip signature)"),
            )
            if not content:
                raise _RunFailed(f"File {file_id} is empty (0 bytes); upload a file with rows.")
            files.append(_SourceFile(file_id, content))
        return files

    def _check_compression(self, files: Sequence[_SourceFile]) -> None:
        for source in files:
            gzipped = source.content[:2] == _GZIP_MAGIC
            if gzipped and self.settings.compression == "none":
                raise _RunFailed(
                    f"File {source.file_id} is gzip-compressed (it starts with the gzip signature 1f 8b) but "
                    f'compression is "none"; set compression="gzip".'
                )
            if not gzipped and self.settings.compression == "gzip":
                raise _RunFailed(
                    f"File {source.file_id} is not gzip-compressed (no gzip signature 1f 8b) but compression is "
                    f'"gzip"; set compression="none".'
                )

    def _text(self, source: _SourceFile) -> io.TextIOWrapper[Any]:
        # Streams: the bytes are decompressed and decoded as the csv reader pulls lines, never all at once.
        raw = io.BytesIO(source.content)
        if self.settings.compression == "gzip":
            return io.TextIOWrapper(gzip.GzipFile(fileobj=raw, mode="rb"), encoding="utf-8-sig", newline="")
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")

    def _records(self, source: _SourceFile) -> Iterator[_Record]:
        """Each non-blank record of one file, with the line it starts on; unparseable rows carry the reason."""
        s = self.settings
        where = f"File {source.file_id}"
        line = 0
        with self._text(source) as text:
            # strict: a stray quote or an unterminated quoted field is a bad row, as in a warehouse COPY, rather
            # than silently merged into a mangled value.
            if s.escaped:
                reader = csv.reader(
                    text, delimiter=s.delimiter, quotechar='"', escapechar="\\", doublequote=False, strict=True
                )
            else:
                reader = csv.reader(text, delimiter=s.delimiter, quotechar='"', doublequote=True, strict=True)
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    start, line = line + 1, max(reader.line_num, line + 1)
                    yield _Record(start, [], f"the row could not be parsed ({exc})")
                    continue  # the reader resumes at the next line
                except UnicodeDecodeError as exc:
                    raise _RunFailed(
                        f"{where} is not UTF-8 text (bad byte 0x{exc.object[exc.start]:02x}); save it as UTF-8."
                    ) from None
                except (OSError, EOFError, zlib.error) as exc:
                    raise _RunFailed(f"{where}: the gzip data is corrupt or truncated ({exc}); re-upload it.") from None
                start, line = line + 1, reader.line_num
                if fields:
                    yield _Record(start, fields)

    def _parse_hint(self) -> str:
        if self.settings.escaped:
            return ' If quotes in the file are doubled ("") rather than backslash-escaped, set escaped=false.'
        return " If quotes in the file are escaped with a backslash, set escaped=true."

    def _sniff(self, source: _SourceFile) -> str | None:
        """The delimiter the first lines of a file appear to use: one that splits them all into the same 2+ fields."""
        try:
            with self._text(source) as text:
                sample = text.read(_SNIFF_CHARS)
        except (OSError, EOFError, zlib.error, UnicodeDecodeError):
            return None
        lines = [line for line in sample.splitlines() if line.strip()][:_SNIFF_LINES]
        if len(lines) > 1 and len(sample) == _SNIFF_CHARS:
            lines = lines[:-1]  # the last line may be cut off by the sample
        best: tuple[int, str] | None = None
        for char in ("\t", "|", ","):
            widths = {len(next(csv.reader([line], delimiter=char))) for line in lines}
            if len(widths) == 1 and (width := widths.pop()) > 1 and (best is None or width > best[0]):
                best = (width, char)
        return None if best is None else best[1]

    def _delimiter_hint(self, source: _SourceFile) -> str:
        sniffed = self._sniff(source)
        if sniffed is None or sniffed == self.settings.delimiter:
            return ""
        name = next(key for key, value in _DELIMITERS.items() if value == sniffed)
        where = "the header" if self.settings.first_row_is_header else "the first row"
        return (
            f' The file looks {name}-delimited ({_DELIMITER_SHOWN[sniffed]} in {where}); set column_delimiter="{name}".'
        )

    # -- columns -------------------------------------------------------------------------------------------------------

    def _read_layout(self, files: Sequence[_SourceFile]) -> tuple[list[str] | None, int]:
        """The header (if the first row is one) and the number of fields per row, checked across files."""
        s = self.settings
        header: list[str] | None = None
        width = 0
        for index, source in enumerate(files):
            first = next(self._records(source), None)
            if first is None:
                raise _RunFailed(f"File {source.file_id} has no rows (only blank lines); upload a file with rows.")
            if first.problem is not None:
                raise _RunFailed(f"File {source.file_id}, row {first.line}: {first.problem}.{self._parse_hint()}")
            fields = first.fields
            if index == 0:
                width = len(fields)
                if s.first_row_is_header:
                    header = [name.strip() for name in fields]
            elif header is not None and [n.casefold() for n in header] != [f.strip().casefold() for f in fields]:
                raise _RunFailed(
                    f"The header of file {source.file_id} differs from the header of file {files[0].file_id}; "
                    "all files of one import must have the same columns in the same order."
                )
        first_file = files[0]
        declared = s.table_columns
        if declared is not None and len(declared) != width:
            raise _RunFailed(
                f"Column count mismatch: the file has {width} column(s) per row but table_columns lists "
                f"{len(declared)}.{self._delimiter_hint(first_file)}"
                + ("" if self._sniff_differs(first_file) else " Make table_columns list every column, in file order.")
            )
        if declared is None and width == 1 and self._sniff_differs(first_file):
            raise _RunFailed(
                f"The file has 1 column per row with column_delimiter={s.delimiter_name}."
                f"{self._delimiter_hint(first_file)}"
            )
        if declared is None and header is not None:
            _check_unique([name for name in header if name])
        if declared is not None and header is not None:
            differing = [
                f"column {position}: {found!r} in the file, {column.name!r} in table_columns"
                for position, (found, column) in enumerate(zip(header, declared, strict=True), start=1)
                if not _same_name(found, column.name)
            ]
            if differing:
                raise _RunFailed(
                    f"Header mismatch: the header of file {first_file.file_id} does not match table_columns ("
                    + "; ".join(differing)
                    + "). Rename the table_columns entries to match the header (or fix the header); if the first "
                    "row is data rather than a header, set first_row_is_header=false."
                )
        return header, width

    def _sniff_differs(self, source: _SourceFile) -> bool:
        sniffed = self._sniff(source)
        return sniffed is not None and sniffed != self.settings.delimiter

    def _file_column_names(self, header: list[str] | None) -> list[str] | None:
        """The columns the file's fields are named as, or None when only their position is known."""
        if self.settings.table_columns is not None:
            return [column.name for column in self.settings.table_columns]
        return header

    def _new_columns(self, files: Sequence[_SourceFile], header: list[str] | None, width: int) -> list[_Column]:
        names = self._file_column_names(header)
        if names is None:
            names = [f"col{position}" for position in range(1, width + 1)]
        else:
            names = [name or f"col{position}" for position, name in enumerate(names, start=1)]
            _check_unique(names)
        declared: list[_SqlType | None] = (
            [column.sql_type for column in self.settings.table_columns]
            if self.settings.table_columns is not None
            else [None] * width
        )
        if any(sql_type is None for sql_type in declared):
            missing = [name for name, sql_type in zip(names, declared, strict=True) if sql_type is None]
            self.log("info", f"No sql_type given for {', '.join(missing)}; inferring types from the data.")
            guessed = self._infer_types(files, width)
            declared = [sql_type or guess for sql_type, guess in zip(declared, guessed, strict=True)]
        types = [sql_type for sql_type in declared if sql_type is not None]
        if self.settings.loosen_types:
            types = [sql_type.loosened() for sql_type in types]
        return [_Column(name, sql_type) for name, sql_type in zip(names, types, strict=True)]

    def _infer_types(self, files: Sequence[_SourceFile], width: int) -> list[_SqlType]:
        guesses = [_TypeGuess() for _ in range(width)]
        rows = 0
        for source in files:
            for record in self._data_records(source):
                fields = record.fields
                if record.problem is not None or len(fields) != width:
                    continue  # rejected later, with its row number
                rows += 1
                for guess, value in zip(guesses, fields, strict=True):
                    guess.see(value)
        self.log("info", f"Inferred column types from {_plural(rows, 'row')}.")
        return [guess.result() for guess in guesses]

    def _existing_columns(self, header: list[str] | None, width: int) -> list[_Column]:
        """The existing table's columns, in the order the file's fields map onto them."""
        existing: list[_Column] = []
        for row in self.db.execute(f"PRAGMA table_info({_quote(self.table)})"):
            name, declared = str(row[1]), str(row[2] or "")
            try:
                sql_type = _parse_sql_type(declared)
            except ValueError:
                sql_type = _SqlType("any", declared or "ANY")  # a table made outside the engine: load as given
            existing.append(_Column(name, sql_type))
        shown_existing = ", ".join(column.name for column in existing)
        names = self._file_column_names(header)
        if names is None:
            if width != len(existing):
                raise _RunFailed(
                    f"Column count mismatch: the file has {width} column(s) per row but table {self.shown_table} "
                    f"has {len(existing)} ({shown_existing}).{self._delimiter_hint(self.first_file)}"
                )
            return existing
        by_name = {column.name.casefold(): column for column in existing}
        extra = [name for name in names if name.strip().casefold() not in by_name]
        missing = [column.name for column in existing if column.name.casefold() not in {n.casefold() for n in names}]
        if extra or missing:
            parts = []
            if extra:
                parts.append("in the file but not the table: " + ", ".join(extra))
            if missing:
                parts.append("in the table but not the file: " + ", ".join(missing))
            raise _RunFailed(
                f"The file's columns do not match the existing table {self.shown_table} ({'; '.join(parts)}). "
                'Fix table_columns to name the table\'s columns, or set existing_table_rows="drop" to replace the '
                "table with the file's columns."
            )
        columns = [by_name[name.strip().casefold()] for name in names]
        for given, column in zip(self.settings.table_columns or [], columns, strict=False):
            if given.sql_type is not None and given.sql_type.declared != column.sql_type.declared:
                self.log(
                    "warn",
                    f"table_columns gives {given.name} as {given.sql_type.declared} but the existing column is "
                    f"{column.sql_type.declared}; loading as {column.sql_type.declared}.",
                )
        return columns

    def _check_keys(self, columns: Sequence[_Column]) -> None:
        names = {column.name.casefold() for column in columns}
        shown = ", ".join(column.name for column in columns)
        for field, keys in (
            ("destination.primary_keys", self.settings.primary_keys),
            ("destination.last_modified_keys", self.settings.last_modified_keys),
        ):
            unknown = [key for key in keys if key.casefold() not in names]
            if not unknown:
                continue
            message = f"{field} names {', '.join(repr(k) for k in unknown)}, not a column of {self.shown_table} "
            message += f"(columns: {shown})."
            if self.settings.mode == "upsert":
                raise _RunFailed(message)
            self.log("warn", message)  # only upsert uses the keys, so other modes load anyway

    @property
    def first_file(self) -> _SourceFile:
        return _SourceFile(self.settings.file_ids[0], self.job.files[self.settings.file_ids[0]])

    # -- the table -----------------------------------------------------------------------------------------------------

    def _table_exists(self) -> bool:
        found = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", (self.table,)
        ).fetchone()
        return found is not None

    def _prepare_table(self, exists: bool, columns: Sequence[_Column]) -> None:
        mode = self.settings.mode
        quoted = _quote(self.table)
        if exists and mode == "drop":
            self.log("info", f"Dropping table {self.shown_table} (existing_table_rows=drop).")
            self.db.execute(f"DROP TABLE {quoted}")
        if not exists or mode == "drop":
            self.log("info", f"Creating table {self.shown_table}.")
            definition = ", ".join(f"{_quote(column.name)} {column.sql_type.declared}" for column in columns)
            self.db.execute(f"CREATE TABLE {quoted} ({definition})")
        elif mode == "truncate":
            (count,) = self.db.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()
            self.log("info", f"Truncating table {self.shown_table} ({_plural(int(count), 'existing row')}).")
            self.db.execute(f"DELETE FROM {quoted}")
        else:
            (count,) = self.db.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()
            verb = "Upserting into" if mode == "upsert" else "Appending to"
            self.log("info", f"{verb} table {self.shown_table} ({_plural(int(count), 'existing row')}).")

    def _begin(self) -> None:
        self.db.execute(f"SAVEPOINT {self.savepoint}")
        self.savepoint_open = True

    def _commit(self) -> None:
        self.db.execute(f"RELEASE SAVEPOINT {self.savepoint}")
        self.savepoint_open = False

    def _rollback(self) -> None:
        if not self.savepoint_open:
            return
        self.savepoint_open = False
        try:
            self.db.execute(f"ROLLBACK TO SAVEPOINT {self.savepoint}")
            self.db.execute(f"RELEASE SAVEPOINT {self.savepoint}")
        except sqlite3.Error as exc:
            self.log("error", f"Rolling back the load failed: {exc}.")

    # -- rows ----------------------------------------------------------------------------------------------------------

    def _tick(self) -> None:
        self.rows_seen += 1
        if self.rows_seen % _CANCEL_CHECK_EVERY == 0 and self.should_cancel():
            raise _RunCancelled

    def _data_records(self, source: _SourceFile) -> Iterator[_Record]:
        records = self._records(source)
        if self.settings.first_row_is_header:
            next(records, None)
        for record in records:
            self._tick()
            yield record

    def _reject(self, source: _SourceFile, line: int, detail: str) -> None:
        self.rejected += 1
        where = f"file {source.file_id} row {line}" if self.multiple_files else f"row {line}"
        message = f"{where}{detail}."
        if self.first_error is None:
            self.first_error = message
        if self.rejected <= _MAX_REJECT_LINES:
            self.log("warn", f"Rejected {message}")

    def _load(self, files: Sequence[_SourceFile], columns: Sequence[_Column]) -> int:
        s = self.settings
        started = time.monotonic()
        quoted = _quote(self.table)
        names = ", ".join(_quote(column.name) for column in columns)
        insert = f"INSERT INTO {quoted} ({names}) VALUES ({', '.join('?' for _ in columns)})"
        upsert = _Upsert(self.db, quoted, columns, s.primary_keys, s.last_modified_keys) if s.mode == "upsert" else None
        batch: list[tuple[object, ...]] = []
        loaded = 0
        width = len(columns)
        first_record = True
        for source in files:
            rows_in_file = 0
            for record in self._data_records(source):
                line, fields = record.line, record.fields
                rows_in_file += 1
                is_first, first_record = first_record, False
                if record.problem is not None:
                    if self.rejected == 0:
                        self.first_rejected_unparseable = True
                    self._reject(source, line, f": {record.problem}")
                    continue
                values = self._convert(source, line, fields, columns, width)
                if values is None:
                    if is_first and not s.first_row_is_header and _looks_like_header(fields, columns):
                        self.first_rejected_looks_like_header = True
                    continue
                if self.rejected > s.max_errors:
                    continue  # the run will fail; keep reading only to count and report the bad rows
                if upsert is not None:
                    problem = upsert.apply(values)
                    if problem is not None:
                        self._reject(source, line, problem)
                    continue
                batch.append(values)
                if len(batch) >= _CANCEL_CHECK_EVERY:
                    self.db.executemany(insert, batch)
                    loaded += len(batch)
                    batch.clear()
            self.log("info", f"Read {_plural(rows_in_file, 'data row')} from file {source.file_id}.")
        if batch and self.rejected <= s.max_errors:
            self.db.executemany(insert, batch)
            loaded += len(batch)

        if self.rejected > _MAX_REJECT_LINES:
            self.log("warn", f"... and {_plural(self.rejected - _MAX_REJECT_LINES, 'more rejected row')} not shown.")
        if self.rejected:
            self.log("warn", f"{_plural(self.rejected, 'row')} rejected (max_errors={s.max_errors}).")
        if self.rejected > s.max_errors:
            hint = f" Fix the rows, or set max_errors to {self.rejected} or more to load the others without them."
            if self.first_rejected_looks_like_header:
                hint = " The first row looks like a header; set first_row_is_header=true."
            elif self.first_rejected_unparseable:
                hint = self._parse_hint() + hint
            raise _RunFailed(
                f"{self.rejected:,} row(s) failed to load (max_errors={s.max_errors}). "
                f"First error: {self.first_error}{hint}"
            )
        if upsert is not None:
            loaded = upsert.written
            self.log(
                "info",
                f"Upsert: {_plural(upsert.replaced, 'existing row')} replaced by key, "
                f"{_plural(upsert.written - upsert.replaced, 'new row')} added"
                + (f", {_plural(upsert.kept, 'file row')} skipped (existing row is newer)" if upsert.kept else "")
                + ".",
            )
        elapsed = time.monotonic() - started
        (total,) = self.db.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()
        now = _plural(int(total), "row")
        self.log("info", f"Loaded {_plural(loaded, 'row')} in {elapsed:.2f}s; {self.shown_table} now has {now}.")
        return loaded

    def _convert(
        self, source: _SourceFile, line: int, fields: list[str], columns: Sequence[_Column], width: int
    ) -> tuple[object, ...] | None:
        if len(fields) != width:
            self._reject(source, line, f": has {len(fields)} column(s) but {width} were expected")
            return None
        values: list[object] = []
        for column, raw in zip(columns, fields, strict=True):
            try:
                values.append(column.sql_type.convert(raw))
            except _BadValue as bad:
                self._reject(source, line, f", column {column.name!r}: {_show(raw)} {bad}")
                return None
        return tuple(values)


def _check_unique(names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise _RunFailed(
                f"The header repeats column name {name!r}; set table_columns to give every column a unique name."
            )
        seen.add(name.casefold())


def _looks_like_header(fields: Sequence[str], columns: Sequence[_Column]) -> bool:
    """Whether a rejected first row is probably a header (so the fix is first_row_is_header=true)."""
    if [field.strip().casefold() for field in fields] == [column.name.casefold() for column in columns]:
        return True
    return all(re.match(r"^[A-Za-z_][A-Za-z0-9_ ]*$", field.strip()) for field in fields)


class _Upsert:
    """Replaces rows by primary key; with last-modified keys, an existing row that is newer is kept."""

    def __init__(
        self,
        db: sqlite3.Connection,
        quoted_table: str,
        columns: Sequence[_Column],
        primary_keys: Sequence[str],
        last_modified_keys: Sequence[str],
    ) -> None:
        positions = {column.name.casefold(): index for index, column in enumerate(columns)}
        self.db = db
        self.columns = columns
        self.keys = [positions[key.casefold()] for key in primary_keys]
        self.modified = [positions[key.casefold()] for key in last_modified_keys]
        where = " AND ".join(f"{_quote(columns[i].name)} = ?" for i in self.keys)
        modified = ", ".join(_quote(columns[i].name) for i in self.modified)
        self.select = f"SELECT {modified} FROM {quoted_table} WHERE {where}" if self.modified else ""
        self.delete = f"DELETE FROM {quoted_table} WHERE {where}"
        names = ", ".join(_quote(column.name) for column in columns)
        self.insert = f"INSERT INTO {quoted_table} ({names}) VALUES ({', '.join('?' for _ in columns)})"
        self.written = 0  # rows inserted, including those that replaced a row with the same key
        self.replaced = 0
        self.kept = 0

    def apply(self, values: tuple[object, ...]) -> str | None:
        """Upserts one row; returns why it was rejected, or None."""
        key = tuple(values[i] for i in self.keys)
        for index, value in zip(self.keys, key, strict=True):
            if value is None:
                return f", column {self.columns[index].name!r}: a primary key column is empty (keys must not be NULL)"
        if self.modified:
            incoming = tuple(values[i] for i in self.modified)
            if any(_newer(tuple(existing), incoming) for existing in self.db.execute(self.select, key)):
                self.kept += 1
                return None
        self.replaced += self.db.execute(self.delete, key).rowcount
        self.db.execute(self.insert, values)
        self.written += 1
        return None


def _newer(existing: tuple[object, ...], incoming: tuple[object, ...]) -> bool:
    """Whether the stored last-modified values are later than the incoming row's (unknown counts as not newer)."""
    if any(value is None for value in (*existing, *incoming)):
        return False
    try:
        return bool(existing > incoming)
    except TypeError:
        return False


def execute_csv_import(
    job: CsvJob,
    warehouse: sqlite3.Connection,
    log: Callable[[str, str], None],
    should_cancel: Callable[[], bool],
) -> CsvOutcome:
    """Run one CSV import: load ``job``'s files into ``warehouse`` per its settings, all or nothing.

    ``log(level, message)`` receives the run's log lines (level: unknown, fatal, error, warn, info or debug).
    ``should_cancel()`` is polled every ~200 rows and before commit; when it returns True the load is rolled back
    and the outcome is "cancelled".
    """
    return _Run(job, warehouse, log, should_cancel).execute()


# The SQL types, value conversion and log wording are shared with the Dbsync engine (``dbsync.py``), so a value that
# does not fit a column is refused, and said, the same way whichever kind of import loads it.
SqlType = _SqlType
BadValue = _BadValue
parse_sql_type = _parse_sql_type
quote_identifier = _quote
show_value = _show
plural = _plural
