"""The CSV engine's types: SQL column types and how a field converts to one, the run's failure, and the wording
helpers its log lines share with the Dbsync engine (``dbsync.py``), so a value that does not fit a column is refused,
and said, the same way whichever kind of import loads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

__all__ = [
    "SUPPORTED_TYPES",
    "VARCHAR_MAX",
    "BadValue",
    "RunFailed",
    "SqlType",
    "TypeGuess",
    "TypeKind",
    "parse_date",
    "parse_sql_type",
    "plural",
    "quote_identifier",
    "show_value",
]

VARCHAR_MAX = 65535
_NUMERIC_MAX_PRECISION = 38
_VALUE_SHOWN_CHARS = 40


class RunFailed(Exception):
    """Ends a run as failed; ``message`` is the run's one-line error, naming the setting that fixes it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- SQL types --------------------------------------------------------------------------------------------------------

TypeKind = Literal["integer", "float", "numeric", "text", "boolean", "date", "timestamp", "any"]

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
SUPPORTED_TYPES = "SMALLINT, INTEGER, BIGINT, FLOAT, DOUBLE PRECISION, NUMERIC(p,s), VARCHAR(n), CHAR(n), TEXT, "
SUPPORTED_TYPES += "BOOLEAN, DATE, TIMESTAMP"

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


class BadValue(Exception):
    """A value that does not convert; the message completes "'<value>' ..."."""


@dataclass(frozen=True)
class SqlType:
    kind: TypeKind
    declared: str  # normalised spelling, used in CREATE TABLE and in messages
    length: int | None = None  # text: byte limit, None for unlimited
    precision: int = 18
    scale: int = 0
    bits: int = 64

    def loosened(self) -> SqlType:
        """The wider type ``loosen_types`` creates the table with (lengths doubled, NUMERIC precision headroom)."""
        if self.kind == "text" and self.length is not None:
            length = min(self.length * 2, VARCHAR_MAX)
            base = self.declared.split("(", 1)[0]
            return SqlType("text", f"{base}({length})", length=length)
        if self.kind == "numeric":
            precision = min(self.precision * 2, _NUMERIC_MAX_PRECISION)
            return SqlType("numeric", f"NUMERIC({precision},{self.scale})", precision=precision, scale=self.scale)
        return self

    def convert(self, raw: str) -> object:
        """The value to store for one field; raises BadValue."""
        if self.kind == "text":
            if raw == "":
                return None
            if self.length is not None:
                size = len(raw.encode("utf-8"))
                if size > self.length:
                    raise BadValue(f"is too long for {self.declared} ({size:,} bytes)")
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
                raise BadValue(f"is not a valid {self.declared}")
            return float(value)
        if self.kind == "numeric":
            return self._numeric(value)
        if self.kind == "boolean":
            lowered = value.lower()
            if lowered in _TRUE:
                return 1
            if lowered in _FALSE:
                return 0
            raise BadValue("is not a valid BOOLEAN (expected true or false)")
        if self.kind == "date":
            return parse_date(value).isoformat()
        return self._timestamp(value)

    def _integer(self, value: str) -> int:
        if not _INT_RE.match(value):
            raise BadValue(f"is not a valid {self.declared}")
        number = int(value)
        limit = 2 ** (self.bits - 1)
        if not -limit <= number < limit:
            raise BadValue(f"is out of range for {self.declared}")
        return number

    def _numeric(self, value: str) -> int | float:
        if not _DECIMAL_RE.match(value):
            raise BadValue(f"is not a valid {self.declared}")
        try:
            number = Decimal(value).quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise BadValue(f"is out of range for {self.declared}") from None
        whole_digits = len(str(abs(int(number)))) if int(number) else 0
        if whole_digits > self.precision - self.scale:
            raise BadValue(f"is out of range for {self.declared}")
        return int(number) if self.scale == 0 else float(number)

    def _timestamp(self, value: str) -> str:
        if not _TIMESTAMP_RE.match(value):
            raise BadValue(f"is not a valid {self.declared} (expected YYYY-MM-DD HH:MM:SS)")
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            raise BadValue(f"is not a valid {self.declared} (no such date or time)") from None
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(UTC)
            if self.declared != "TIMESTAMPTZ":
                stamp = stamp.replace(tzinfo=None)
        elif self.declared == "TIMESTAMPTZ":
            stamp = stamp.replace(tzinfo=UTC)  # Redshift reads a zone-less TIMESTAMPTZ as UTC
        return stamp.isoformat(sep=" ")


def parse_date(value: str) -> date:
    match = _DATE_RE.match(value)
    if not match:
        raise BadValue("is not a valid DATE (expected YYYY-MM-DD)")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise BadValue("is not a valid DATE (no such day)") from None


def parse_sql_type(text: str) -> SqlType:
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
        return SqlType("text", f"VARCHAR({VARCHAR_MAX})", length=VARCHAR_MAX)
    if base in _VARCHARS or base in _CHARS:
        if second is not None:
            raise ValueError(text)
        name = "VARCHAR" if base in _VARCHARS else "CHAR"
        length = int(first) if first is not None else (256 if name == "VARCHAR" else 1)
        if not 1 <= length <= VARCHAR_MAX:
            raise ValueError(text)
        return SqlType("text", f"{name}({length})", length=length)
    if base in ("NUMERIC", "DECIMAL"):
        precision = int(first) if first is not None else 18
        scale = int(second) if second is not None else 0
        if not (1 <= precision <= _NUMERIC_MAX_PRECISION and 0 <= scale <= precision):
            raise ValueError(text)
        return SqlType("numeric", f"NUMERIC({precision},{scale})", precision=precision, scale=scale)
    if base in _FLOATS and (not has_args or base == "FLOAT"):
        return SqlType("float", _FLOATS[base])  # FLOAT(p) is legal SQL; p does not change how values parse
    if has_args:
        raise ValueError(text)
    if base in _INT_BITS:
        name, bits = _INT_BITS[base]
        return SqlType("integer", name, bits=bits)
    if base == "TEXT":
        return SqlType("text", "TEXT")
    if base in ("BOOLEAN", "BOOL"):
        return SqlType("boolean", "BOOLEAN")
    if base == "DATE":
        return SqlType("date", "DATE")
    if base in _TIMESTAMPS:
        return SqlType("timestamp", "TIMESTAMP")
    if base in _TIMESTAMPTZS:
        return SqlType("timestamp", "TIMESTAMPTZ")
    raise ValueError(text)


class TypeGuess:
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
                parse_date(value)
            except BadValue:
                self.date = False
        if self.timestamp and not _TIMESTAMP_RE.match(value):
            self.timestamp = False
        if self.boolean and value.lower() not in ("true", "false"):
            self.boolean = False  # 0/1 columns stay integers

    def result(self) -> SqlType:
        if not self.seen:
            return SqlType("text", "VARCHAR(256)", length=256)
        if self.integer:
            return SqlType("integer", "BIGINT", bits=64) if self.big else SqlType("integer", "INTEGER", bits=32)
        if self.floating:
            return SqlType("float", "FLOAT")
        if self.date:
            return SqlType("date", "DATE")
        if self.timestamp:
            return SqlType("timestamp", "TIMESTAMP")
        if self.boolean:
            return SqlType("boolean", "BOOLEAN")
        length = min(max(self.max_bytes, 1), VARCHAR_MAX)
        return SqlType("text", f"VARCHAR({length})", length=length)


# --- wording ----------------------------------------------------------------------------------------------------------


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def show_value(value: str) -> str:
    """A field value for a log line: quoted, one line, at most ~40 characters."""
    shown = value.replace("\r", "\\r").replace("\n", "\\n")
    if len(shown) > _VALUE_SHOWN_CHARS:
        shown = shown[: _VALUE_SHOWN_CHARS - 3] + "..."
    return f"'{shown}'"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
