"""The databases behind the sandbox's hosts: the warehouse (Redshift's stand-in) and the remote databases Dbsync
imports read from and export to.

Every database is real. The warehouse and, by default, each remote host are SQLite databases (files beside the state
database, or in memory); a remote host can instead be a PostgreSQL database (``SandboxConfig.postgres_url``). Tables
are reached as Civis names them, ``schema.table``: PostgreSQL has real schemas; SQLite keeps ``schema.table`` as the
table ``schema__table`` (``csv_engine.warehouse_table_name``), and a remote SQLite database lists its schemas in
``civis_sandbox_schemas``.

Credentials carry grants: per host, per schema, "read" or "write" (write includes read). On PostgreSQL a credential is
a role (``civis_credential_<id>``, made when the demo data is seeded) with those privileges, and a session runs ``SET
ROLE`` to it, so the server itself refuses what the credential may not do; SQLite has no roles, so its sessions check
the grants and refuse with the server's words ("permission denied for schema finance"). The warehouse takes every
credential the API accepted.

A session is one transaction: leaving it normally commits, an exception rolls everything back, so a failed or
cancelled copy leaves nothing half-written.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, Literal

from civis_mcp.sandbox.csv_engine import warehouse_table_name
from civis_mcp.sandbox.csv_types import SqlType, parse_sql_type, quote_identifier

__all__ = [
    "Access",
    "Column",
    "Condition",
    "Database",
    "DatabaseError",
    "Grants",
    "Hosts",
    "PermissionDenied",
    "PostgresDatabase",
    "Session",
    "SqliteDatabase",
    "Warehouse",
    "column_type",
    "role_name",
]

Access = Literal["read", "write"]
Grants = Mapping[str, Access]
"""Schema -> the most a credential may do in it."""
Condition = tuple[str, Literal[">", ">="], Any]
"""``column > value`` or ``column >= value``: the rows an incremental sync reads."""

_SCHEMAS_TABLE = "civis_sandbox_schemas"
_FALLBACK_TYPE = SqlType("text", "TEXT")
_savepoints = count(1)


class DatabaseError(Exception):
    """The database refused a statement; the message is its own words, on one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermissionDenied(DatabaseError):
    """The credential may not read or write there."""


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: SqlType

    @property
    def declared(self) -> str:
        return self.sql_type.declared


def column_type(declared: str) -> SqlType:
    """The type a database reports for a column, as the engines know it (unknown types load as TEXT)."""
    try:
        return parse_sql_type(declared)
    except ValueError:
        return _FALLBACK_TYPE


def role_name(credential_id: int) -> str:
    """The PostgreSQL role that stands for a Civis credential."""
    return f"civis_credential_{int(credential_id)}"


class Session(ABC):
    """One transaction on one database, as one credential."""

    @abstractmethod
    def schemas(self) -> list[str]: ...

    @abstractmethod
    def schema_exists(self, schema: str) -> bool: ...

    @abstractmethod
    def tables(self, schema: str) -> list[str]: ...

    @abstractmethod
    def columns(self, schema: str, table: str) -> list[Column] | None:
        """The table's columns in order, or None when there is no such table."""

    @abstractmethod
    def primary_key(self, schema: str, table: str) -> list[str]: ...

    @abstractmethod
    def count(self, schema: str, table: str) -> int: ...

    @abstractmethod
    def max_of(self, schema: str, table: str, column: str) -> Any: ...

    @abstractmethod
    def select(
        self,
        schema: str,
        table: str,
        columns: Sequence[str],
        where: Condition | None,
        order_by: Sequence[str],
        chunk: int,
    ) -> Generator[list[tuple[Any, ...]], None, None]:
        """The rows, ``chunk`` at a time."""

    @abstractmethod
    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a read-only query."""

    @abstractmethod
    def create_schema(self, schema: str) -> None: ...

    @abstractmethod
    def create_table(self, schema: str, table: str, columns: Sequence[Column], primary_key: Sequence[str] = ()) -> None:
        """Create the table (the schema must exist)."""

    @abstractmethod
    def drop_table(self, schema: str, table: str) -> None: ...

    @abstractmethod
    def delete_keys(self, schema: str, table: str, key_columns: Sequence[str], keys: Sequence[tuple[Any, ...]]) -> int:
        """Delete the rows with these keys; how many went."""

    @abstractmethod
    def insert(self, schema: str, table: str, columns: Sequence[Column], rows: Sequence[tuple[Any, ...]]) -> None: ...


class Database(ABC):
    """A database a host stands for."""

    label: str
    kind: str
    """What it really is, for the log: "SQLite" or "PostgreSQL"."""

    @abstractmethod
    def session(self, grants: Grants | None, credential_id: int | None) -> Any:
        """A context manager giving a :class:`Session`: commit on normal exit, roll back on an exception.
        ``grants`` None: unrestricted (the warehouse, or seeding)."""

    def table_rows(self, schema: str, table: str) -> int | None:
        """Rows in ``schema.table``, or None when it does not exist (read with no credential's restrictions)."""
        with self.session(None, None) as session:
            return None if session.columns(schema, table) is None else session.count(schema, table)

    @abstractmethod
    def apply_grants(self, credential_id: int, grants: Grants) -> None:
        """Make the database itself enforce a credential's grants, where it can (PostgreSQL roles)."""

    @abstractmethod
    def close(self) -> None: ...


class Hosts:
    """Which database each remote host of the sandbox is: the warehouse, or a remote database."""

    def __init__(
        self, warehouse: Warehouse, remotes: Mapping[int, Database], warehouse_host_ids: Sequence[int]
    ) -> None:
        self.warehouse = warehouse
        self._databases: dict[int, Database] = {host_id: warehouse for host_id in warehouse_host_ids}
        self._databases.update(remotes)
        self.remotes = dict(remotes)

    def database(self, host_id: int | None) -> Database | None:
        return None if host_id is None else self._databases.get(host_id)

    def close(self) -> None:
        for database in {id(db): db for db in self._databases.values()}.values():
            database.close()


# --- SQLite -----------------------------------------------------------------------------------------------------------


class SqliteDatabase(Database):
    """A SQLite database: one connection, one re-entrant lock held for a whole session."""

    kind = "SQLite"
    implicit_schemas = False
    """True for the warehouse: a load may name any schema (the sandbox does not make people create them)."""

    def __init__(self, path: str, label: str) -> None:
        self.path = path
        self.label = label
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: a session's SAVEPOINT is the transaction, and releasing it commits.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return [tuple(row) for row in self._conn.execute(sql, params).fetchall()]

    @contextmanager
    def session(self, grants: Grants | None, credential_id: int | None) -> Iterator[Session]:
        with self._lock:
            name = f"civis_session_{next(_savepoints)}"
            self._conn.execute(f"SAVEPOINT {name}")
            try:
                yield _SqliteSession(self._conn, grants, implicit_schemas=self.implicit_schemas)
            except BaseException:
                self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self._conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            self._conn.execute(f"RELEASE SAVEPOINT {name}")

    def apply_grants(self, credential_id: int, grants: Grants) -> None:
        """SQLite has no roles: each session checks the grants it is given."""

    def copy_into(self, other: SqliteDatabase) -> None:
        """Make ``other`` hold exactly this database's tables and rows (SQLite's online backup)."""
        with self._lock, other._lock:
            self._conn.backup(other._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Warehouse(SqliteDatabase):
    """The SQLite database standing in for Redshift, which CSV, file, batch, Sheets and Dbsync imports load into."""

    implicit_schemas = True

    def __init__(self, path: str, label: str = "Civis Redshift") -> None:
        super().__init__(path, label)


class _SqliteSession(Session):
    def __init__(self, conn: sqlite3.Connection, grants: Grants | None, *, implicit_schemas: bool) -> None:
        self.conn = conn
        self.grants = grants
        self.implicit_schemas = implicit_schemas

    def _check(self, schema: str, need: Access) -> None:
        if self.grants is None:
            return
        has = self.grants.get(schema) or self.grants.get(schema.lower())
        if has is None or (need == "write" and has != "write"):
            raise PermissionDenied(f"permission denied for schema {schema}")

    def _run(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, tuple(params))
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from None

    @staticmethod
    def _name(schema: str, table: str) -> str:
        return quote_identifier(warehouse_table_name(schema, table))

    def _has_schema_table(self) -> bool:
        found = self._run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_SCHEMAS_TABLE,))
        return found.fetchone() is not None

    def schemas(self) -> list[str]:
        found: set[str] = set()
        if self._has_schema_table():
            found.update(str(name) for (name,) in self._run(f"SELECT name FROM {_SCHEMAS_TABLE}").fetchall())
        for (name,) in self._run("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            head, separator, _ = str(name).partition("__")
            if separator and head:
                found.add(head)
        return sorted(found)

    def schema_exists(self, schema: str) -> bool:
        if self.implicit_schemas:
            return True
        if self._has_schema_table():
            listed = self._run(f"SELECT 1 FROM {_SCHEMAS_TABLE} WHERE name = ? COLLATE NOCASE", (schema,)).fetchone()
            if listed is not None:
                return True
        return bool(self.tables(schema))

    def tables(self, schema: str) -> list[str]:
        prefix = f"{schema}__".lower()
        rows = self._run("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
        return [str(name)[len(prefix) :] for (name,) in rows if str(name).lower().startswith(prefix)]

    def columns(self, schema: str, table: str) -> list[Column] | None:
        rows = self._run(f"PRAGMA table_info({self._name(schema, table)})").fetchall()
        if not rows:
            return None
        return [Column(str(row[1]), column_type(str(row[2] or ""))) for row in rows]

    def primary_key(self, schema: str, table: str) -> list[str]:
        rows = self._run(f"PRAGMA table_info({self._name(schema, table)})").fetchall()
        return [str(row[1]) for row in sorted(rows, key=lambda row: int(row[5])) if int(row[5]) > 0]

    def count(self, schema: str, table: str) -> int:
        self._check(schema, "read")
        (total,) = self._run(f"SELECT COUNT(*) FROM {self._name(schema, table)}").fetchone()
        return int(total)

    def max_of(self, schema: str, table: str, column: str) -> Any:
        self._check(schema, "read")
        return self._run(f"SELECT MAX({quote_identifier(column)}) FROM {self._name(schema, table)}").fetchone()[0]

    def select(
        self,
        schema: str,
        table: str,
        columns: Sequence[str],
        where: Condition | None,
        order_by: Sequence[str],
        chunk: int,
    ) -> Generator[list[tuple[Any, ...]], None, None]:
        self._check(schema, "read")
        sql = f"SELECT {', '.join(quote_identifier(c) for c in columns)} FROM {self._name(schema, table)}"
        params: list[Any] = []
        if where is not None:
            sql += f" WHERE {quote_identifier(where[0])} {where[1]} ?"
            params.append(where[2])
        if order_by:
            sql += " ORDER BY " + ", ".join(quote_identifier(c) for c in order_by)
        cursor = self._run(sql, params)
        while rows := cursor.fetchmany(chunk):
            yield [tuple(row) for row in rows]

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self._run(sql)
        names = [str(item[0]) for item in cursor.description or ()]
        return names, [tuple(row) for row in cursor.fetchall()]

    def create_schema(self, schema: str) -> None:
        self._run(f"CREATE TABLE IF NOT EXISTS {_SCHEMAS_TABLE} (name TEXT PRIMARY KEY)")
        self._run(f"INSERT OR IGNORE INTO {_SCHEMAS_TABLE} (name) VALUES (?)", (schema,))

    def create_table(self, schema: str, table: str, columns: Sequence[Column], primary_key: Sequence[str] = ()) -> None:
        self._check(schema, "write")
        if not self.schema_exists(schema):
            raise DatabaseError(f'schema "{schema}" does not exist')
        definition = ", ".join(f"{quote_identifier(c.name)} {c.declared}" for c in columns)
        if primary_key:
            definition += f", PRIMARY KEY ({', '.join(quote_identifier(k) for k in primary_key)})"
        self._run(f"CREATE TABLE {self._name(schema, table)} ({definition})")

    def drop_table(self, schema: str, table: str) -> None:
        self._check(schema, "write")
        self._run(f"DROP TABLE {self._name(schema, table)}")

    def delete_keys(self, schema: str, table: str, key_columns: Sequence[str], keys: Sequence[tuple[Any, ...]]) -> int:
        self._check(schema, "write")
        where = " AND ".join(f"{quote_identifier(c)} = ?" for c in key_columns)
        deleted = 0
        for key in keys:
            deleted += self._run(f"DELETE FROM {self._name(schema, table)} WHERE {where}", key).rowcount
        return deleted

    def insert(self, schema: str, table: str, columns: Sequence[Column], rows: Sequence[tuple[Any, ...]]) -> None:
        self._check(schema, "write")
        names = ", ".join(quote_identifier(c.name) for c in columns)
        sql = f"INSERT INTO {self._name(schema, table)} ({names}) VALUES ({', '.join('?' for _ in columns)})"
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from None


# --- PostgreSQL -------------------------------------------------------------------------------------------------------


class PostgresDatabase(Database):
    """A PostgreSQL database, reached with psycopg (3); a connection per session."""

    kind = "PostgreSQL"

    def __init__(self, url: str, label: str) -> None:
        import psycopg  # the optional dependency civis-mcp[sandbox-postgres]; only needed when configured

        self._psycopg = psycopg
        self.url = url
        self.label = label

    @contextmanager
    def session(self, grants: Grants | None, credential_id: int | None) -> Iterator[Session]:
        try:
            conn = self._psycopg.connect(self.url, connect_timeout=10)
        except self._psycopg.Error as exc:
            raise DatabaseError(_pg_message(exc)) from None
        try:
            with conn.transaction():
                if grants is not None and credential_id is not None:
                    conn.execute(f"SET LOCAL ROLE {role_name(credential_id)}")
                yield _PostgresSession(conn, self._psycopg)
        except self._psycopg.Error as exc:
            raise _pg_error(self._psycopg, exc) from None
        finally:
            conn.close()

    def apply_grants(self, credential_id: int, grants: Grants) -> None:
        """The credential's role, with the privileges of its grants (made once; granting again changes nothing)."""
        sql = self._psycopg.sql
        role = sql.Identifier(role_name(credential_id))
        with self.session(None, None) as session:
            assert isinstance(session, _PostgresSession)
            exists = session._run("SELECT 1 FROM pg_roles WHERE rolname = %s", (role_name(credential_id),)).fetchone()
            if exists is None:
                session._run(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
            for schema, access in grants.items():
                name = sql.Identifier(schema)
                schema_privileges = "USAGE, CREATE" if access == "write" else "USAGE"
                table_privileges = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE" if access == "write" else "SELECT"
                session._run(sql.SQL(f"GRANT {schema_privileges} ON SCHEMA {{}} TO {{}}").format(name, role))
                session._run(
                    sql.SQL(f"GRANT {table_privileges} ON ALL TABLES IN SCHEMA {{}} TO {{}}").format(name, role)
                )

    def close(self) -> None:
        """Nothing stays open between sessions."""


def _pg_message(exc: BaseException) -> str:
    """The server's primary message, without the LINE/caret lines psycopg adds."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary:
        return str(primary)
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _pg_error(psycopg: Any, exc: BaseException) -> DatabaseError:
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return PermissionDenied(_pg_message(exc))
    return DatabaseError(_pg_message(exc))


class _PostgresSession(Session):
    def __init__(self, conn: Any, psycopg: Any) -> None:
        self.conn = conn
        self.sql = psycopg.sql
        self.psycopg = psycopg

    def _run(self, statement: Any, params: Sequence[Any] = ()) -> Any:
        try:
            return self.conn.execute(statement, tuple(params))
        except self.psycopg.Error as exc:
            raise _pg_error(self.psycopg, exc) from None

    def _table(self, schema: str, table: str) -> Any:
        return self.sql.Identifier(schema, table)

    def schemas(self) -> list[str]:
        rows = self._run(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' "
            "ORDER BY nspname"
        ).fetchall()
        return [str(name) for (name,) in rows]

    def schema_exists(self, schema: str) -> bool:
        return self._run("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None

    def tables(self, schema: str) -> list[str]:
        rows = self._run(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v') ORDER BY c.relname",
            (schema,),
        ).fetchall()
        return [str(name) for (name,) in rows]

    def columns(self, schema: str, table: str) -> list[Column] | None:
        # The catalog, not information_schema: it shows a table's columns whatever the role may do with it, so a
        # missing privilege fails at the read with the server's own "permission denied", as it does on Civis.
        rows = self._run(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (schema, table),
        ).fetchall()
        return [Column(str(name), column_type(str(declared))) for name, declared in rows] or None

    def primary_key(self, schema: str, table: str) -> list[str]:
        rows = self._run(
            "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
            "WHERE n.nspname = %s AND c.relname = %s AND i.indisprimary ORDER BY a.attnum",
            (schema, table),
        ).fetchall()
        return [str(name) for (name,) in rows]

    def count(self, schema: str, table: str) -> int:
        (total,) = self._run(self.sql.SQL("SELECT COUNT(*) FROM {}").format(self._table(schema, table))).fetchone()
        return int(total)

    def max_of(self, schema: str, table: str, column: str) -> Any:
        statement = self.sql.SQL("SELECT MAX({}) FROM {}").format(
            self.sql.Identifier(column), self._table(schema, table)
        )
        return self._run(statement).fetchone()[0]

    def select(
        self,
        schema: str,
        table: str,
        columns: Sequence[str],
        where: Condition | None,
        order_by: Sequence[str],
        chunk: int,
    ) -> Generator[list[tuple[Any, ...]], None, None]:
        statement = self.sql.SQL("SELECT {} FROM {}").format(
            self.sql.SQL(", ").join(self.sql.Identifier(c) for c in columns), self._table(schema, table)
        )
        params: list[Any] = []
        if where is not None:
            operator = self.sql.SQL(">=" if where[1] == ">=" else ">")
            statement += self.sql.SQL(" WHERE {} {} %s").format(self.sql.Identifier(where[0]), operator)
            params.append(where[2])
        if order_by:
            statement += self.sql.SQL(" ORDER BY {}").format(
                self.sql.SQL(", ").join(self.sql.Identifier(c) for c in order_by)
            )
        cursor = self._run(statement, params)
        while rows := cursor.fetchmany(chunk):
            yield [tuple(row) for row in rows]

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self._run(sql)
        names = [str(item.name) for item in cursor.description or ()]
        return names, [tuple(row) for row in cursor.fetchall()]

    def create_schema(self, schema: str) -> None:
        self._run(self.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(self.sql.Identifier(schema)))

    def create_table(self, schema: str, table: str, columns: Sequence[Column], primary_key: Sequence[str] = ()) -> None:
        parts = [
            self.sql.SQL("{} {}").format(self.sql.Identifier(c.name), self.sql.SQL(_pg_type(c.sql_type)))
            for c in columns
        ]
        if primary_key:
            parts.append(
                self.sql.SQL("PRIMARY KEY ({})").format(
                    self.sql.SQL(", ").join(self.sql.Identifier(k) for k in primary_key)
                )
            )
        statement = self.sql.SQL("CREATE TABLE {} ({})").format(
            self._table(schema, table), self.sql.SQL(", ").join(parts)
        )
        self._run(statement)

    def drop_table(self, schema: str, table: str) -> None:
        self._run(self.sql.SQL("DROP TABLE {}").format(self._table(schema, table)))

    def delete_keys(self, schema: str, table: str, key_columns: Sequence[str], keys: Sequence[tuple[Any, ...]]) -> int:
        where = self.sql.SQL(" AND ").join(self.sql.SQL("{} = %s").format(self.sql.Identifier(c)) for c in key_columns)
        statement = self.sql.SQL("DELETE FROM {} WHERE {}").format(self._table(schema, table), where)
        return sum(int(self._run(statement, key).rowcount) for key in keys)

    def insert(self, schema: str, table: str, columns: Sequence[Column], rows: Sequence[tuple[Any, ...]]) -> None:
        statement = self.sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            self._table(schema, table),
            self.sql.SQL(", ").join(self.sql.Identifier(c.name) for c in columns),
            self.sql.SQL(", ").join(self.sql.Placeholder() for _ in columns),
        )
        booleans = [index for index, column in enumerate(columns) if column.sql_type.kind == "boolean"]
        adapted = [_with_booleans(row, booleans) for row in rows]
        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(statement, adapted)
        except self.psycopg.Error as exc:
            raise _pg_error(self.psycopg, exc) from None


def _with_booleans(row: tuple[Any, ...], booleans: Sequence[int]) -> tuple[Any, ...]:
    """The engines store BOOLEAN as 1/0 (as SQLite does); PostgreSQL wants true/false."""
    if not booleans:
        return row
    values = list(row)
    for index in booleans:
        if values[index] is not None:
            values[index] = bool(values[index])
    return tuple(values)


def _pg_type(sql_type: SqlType) -> str:
    """The PostgreSQL spelling of a type as the engines spell it (they agree but for FLOAT and TIMESTAMPTZ)."""
    return {"FLOAT": "DOUBLE PRECISION"}.get(sql_type.declared, sql_type.declared)
