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

The engine is four modules: ``csv_types`` (SQL types, value conversion), ``csv_settings`` (the import's settings),
``csv_reader`` (the files: records, layout, delimiter hints) and this one, the loader (the run, the table, the rows).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from civis_mcp.sandbox.csv_reader import GZIP_MAGIC, CsvReader, Record, SourceFile, check_unique
from civis_mcp.sandbox.csv_settings import read_settings
from civis_mcp.sandbox.csv_types import (
    BadValue,
    RunFailed,
    SqlType,
    TypeGuess,
    parse_sql_type,
    plural,
    quote_identifier,
    show_value,
)

__all__ = ["CsvJob", "CsvOutcome", "execute_csv_import", "warehouse_table_name"]

RunOutcomeState = Literal["succeeded", "failed", "cancelled"]

_CANCEL_CHECK_EVERY = 200  # rows between should_cancel() calls; also the insert batch size
_MAX_REJECT_LINES = 20


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


class _RunCancelled(Exception):
    pass


@dataclass(frozen=True)
class _Column:
    name: str
    sql_type: SqlType


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
        except RunFailed as failure:
            return self._failed(failure.message, started, shown_table)
        except sqlite3.Error as exc:
            return self._failed(f"Warehouse error while loading {shown_table}: {exc}.", started, shown_table)
        except Exception as exc:  # a sandbox bug must still end the run, not kill the caller's worker
            message = f"Internal sandbox error ({type(exc).__name__}: {exc}); this is a sandbox bug, not your settings."
            return self._failed(message, started, shown_table)
        elapsed = time.monotonic() - started
        suffix = ""
        if self.rejected:
            suffix = f" ({plural(self.rejected, 'rejected row')} skipped, within max_errors)"
        self.log("info", f"Run succeeded: loaded {plural(loaded, 'row')} into {shown_table} in {elapsed:.2f}s{suffix}")
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
        settings = read_settings(self.job.settings)
        self.settings = settings
        self.reader = CsvReader(settings)
        self.shown_table = f"{settings.schema}.{settings.table}"
        self.table = warehouse_table_name(settings.schema, settings.table)
        self._log_settings()
        files = self._resolve_files()
        self.multiple_files = len(files) > 1
        self.reader.check_compression(files)

        header, width = self.reader.read_layout(files)
        exists = self._table_exists()
        if exists and settings.mode == "fail":
            raise RunFailed(
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

    # -- settings, files and columns -----------------------------------------------------------------------------------

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

    def _resolve_files(self) -> list[SourceFile]:
        files: list[SourceFile] = []
        for file_id in self.settings.file_ids:
            content = self.job.files.get(file_id)
            if content is None:
                raise RunFailed(f"File {file_id} not found: no Civis file with that ID is visible to this user.")
            gzipped = content[:2] == GZIP_MAGIC
            self.log(
                "info",
                f"File {file_id}: {plural(len(content), 'byte')}"
                + (" (gzip signature found)" if gzipped else " (no gzip signature)"),
            )
            if not content:
                raise RunFailed(f"File {file_id} is empty (0 bytes); upload a file with rows.")
            files.append(SourceFile(file_id, content))
        return files

    def _file_column_names(self, header: list[str] | None) -> list[str] | None:
        """The columns the file's fields are named as, or None when only their position is known."""
        if self.settings.table_columns is not None:
            return [column.name for column in self.settings.table_columns]
        return header

    def _new_columns(self, files: Sequence[SourceFile], header: list[str] | None, width: int) -> list[_Column]:
        names = self._file_column_names(header)
        if names is None:
            names = [f"col{position}" for position in range(1, width + 1)]
        else:
            names = [name or f"col{position}" for position, name in enumerate(names, start=1)]
            check_unique(names)
        declared: list[SqlType | None] = (
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

    def _infer_types(self, files: Sequence[SourceFile], width: int) -> list[SqlType]:
        guesses = [TypeGuess() for _ in range(width)]
        rows = 0
        for source in files:
            for record in self._data_records(source):
                fields = record.fields
                if record.problem is not None or len(fields) != width:
                    continue  # rejected later, with its row number
                rows += 1
                for guess, value in zip(guesses, fields, strict=True):
                    guess.see(value)
        self.log("info", f"Inferred column types from {plural(rows, 'row')}.")
        return [guess.result() for guess in guesses]

    def _existing_columns(self, header: list[str] | None, width: int) -> list[_Column]:
        """The existing table's columns, in the order the file's fields map onto them."""
        existing: list[_Column] = []
        for row in self.db.execute(f"PRAGMA table_info({quote_identifier(self.table)})"):
            name, declared = str(row[1]), str(row[2] or "")
            try:
                sql_type = parse_sql_type(declared)
            except ValueError:
                sql_type = SqlType("any", declared or "ANY")  # a table made outside the engine: load as given
            existing.append(_Column(name, sql_type))
        shown_existing = ", ".join(column.name for column in existing)
        names = self._file_column_names(header)
        if names is None:
            if width != len(existing):
                raise RunFailed(
                    f"Column count mismatch: the file has {width} column(s) per row but table {self.shown_table} "
                    f"has {len(existing)} ({shown_existing}).{self.reader.delimiter_hint(self.first_file)}"
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
            raise RunFailed(
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
                raise RunFailed(message)
            self.log("warn", message)  # only upsert uses the keys, so other modes load anyway

    @property
    def first_file(self) -> SourceFile:
        return SourceFile(self.settings.file_ids[0], self.job.files[self.settings.file_ids[0]])

    # -- the table -----------------------------------------------------------------------------------------------------

    def _table_exists(self) -> bool:
        found = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", (self.table,)
        ).fetchone()
        return found is not None

    def _prepare_table(self, exists: bool, columns: Sequence[_Column]) -> None:
        mode = self.settings.mode
        quoted = quote_identifier(self.table)
        if exists and mode == "drop":
            self.log("info", f"Dropping table {self.shown_table} (existing_table_rows=drop).")
            self.db.execute(f"DROP TABLE {quoted}")
        if not exists or mode == "drop":
            self.log("info", f"Creating table {self.shown_table}.")
            definition = ", ".join(f"{quote_identifier(column.name)} {column.sql_type.declared}" for column in columns)
            self.db.execute(f"CREATE TABLE {quoted} ({definition})")
        elif mode == "truncate":
            (count,) = self.db.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()
            self.log("info", f"Truncating table {self.shown_table} ({plural(int(count), 'existing row')}).")
            self.db.execute(f"DELETE FROM {quoted}")
        else:
            (count,) = self.db.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()
            verb = "Upserting into" if mode == "upsert" else "Appending to"
            self.log("info", f"{verb} table {self.shown_table} ({plural(int(count), 'existing row')}).")

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

    def _data_records(self, source: SourceFile) -> Iterator[Record]:
        records = self.reader.records(source)
        if self.settings.first_row_is_header:
            next(records, None)
        for record in records:
            self._tick()
            yield record

    def _reject(self, source: SourceFile, line: int, detail: str) -> None:
        self.rejected += 1
        where = f"file {source.file_id} row {line}" if self.multiple_files else f"row {line}"
        message = f"{where}{detail}."
        if self.first_error is None:
            self.first_error = message
        if self.rejected <= _MAX_REJECT_LINES:
            self.log("warn", f"Rejected {message}")

    def _load(self, files: Sequence[SourceFile], columns: Sequence[_Column]) -> int:
        s = self.settings
        started = time.monotonic()
        quoted = quote_identifier(self.table)
        names = ", ".join(quote_identifier(column.name) for column in columns)
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
            self.log("info", f"Read {plural(rows_in_file, 'data row')} from file {source.file_id}.")
        if batch and self.rejected <= s.max_errors:
            self.db.executemany(insert, batch)
            loaded += len(batch)

        if self.rejected > _MAX_REJECT_LINES:
            self.log("warn", f"... and {plural(self.rejected - _MAX_REJECT_LINES, 'more rejected row')} not shown.")
        if self.rejected:
            self.log("warn", f"{plural(self.rejected, 'row')} rejected (max_errors={s.max_errors}).")
        if self.rejected > s.max_errors:
            hint = f" Fix the rows, or set max_errors to {self.rejected} or more to load the others without them."
            if self.first_rejected_looks_like_header:
                hint = " The first row looks like a header; set first_row_is_header=true."
            elif self.first_rejected_unparseable:
                hint = self.reader.parse_hint() + hint
            raise RunFailed(
                f"{self.rejected:,} row(s) failed to load (max_errors={s.max_errors}). "
                f"First error: {self.first_error}{hint}"
            )
        if upsert is not None:
            loaded = upsert.written
            self.log(
                "info",
                f"Upsert: {plural(upsert.replaced, 'existing row')} replaced by key, "
                f"{plural(upsert.written - upsert.replaced, 'new row')} added"
                + (f", {plural(upsert.kept, 'file row')} skipped (existing row is newer)" if upsert.kept else "")
                + ".",
            )
        elapsed = time.monotonic() - started
        (total,) = self.db.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()
        now = plural(int(total), "row")
        self.log("info", f"Loaded {plural(loaded, 'row')} in {elapsed:.2f}s; {self.shown_table} now has {now}.")
        return loaded

    def _convert(
        self, source: SourceFile, line: int, fields: list[str], columns: Sequence[_Column], width: int
    ) -> tuple[object, ...] | None:
        if len(fields) != width:
            self._reject(source, line, f": has {len(fields)} column(s) but {width} were expected")
            return None
        values: list[object] = []
        for column, raw in zip(columns, fields, strict=True):
            try:
                values.append(column.sql_type.convert(raw))
            except BadValue as bad:
                self._reject(source, line, f", column {column.name!r}: {show_value(raw)} {bad}")
                return None
        return tuple(values)


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
        where = " AND ".join(f"{quote_identifier(columns[i].name)} = ?" for i in self.keys)
        modified = ", ".join(quote_identifier(columns[i].name) for i in self.modified)
        self.select = f"SELECT {modified} FROM {quoted_table} WHERE {where}" if self.modified else ""
        self.delete = f"DELETE FROM {quoted_table} WHERE {where}"
        names = ", ".join(quote_identifier(column.name) for column in columns)
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
