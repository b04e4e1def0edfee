"""Each person's Civis key, sealed, kept by (issuer, subject): SQLite (one file, one host) or PostgreSQL (replicas on
several hosts; ``postgresql://...``, through psycopg).

A row holds the identity (issuer and subject of their access tokens), their Civis user id, when the key was bound,
which ring key sealed it, and the sealed key. The plain key exists only in memory, for the request that uses it.
The same database remembers which ``/connect`` links were spent, so a link opens once, whichever replica it reaches.
The schema is created when missing and its version recorded (``civis-mcp keys migrate`` does it ahead of a start).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio.to_thread

from civis_mcp.oauth.keyring import KeyRing

__all__ = ["SCHEMA_VERSION", "Binding", "BindingInfo", "KeyStore", "is_database_url", "store_where"]

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS civis_mcp_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bindings (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    civis_user_id BIGINT NOT NULL,
    bound_at TEXT NOT NULL,
    ring_key_id TEXT NOT NULL,
    sealed_key {blob} NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE TABLE IF NOT EXISTS spent_links (
    link_id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
"""

Rows = list[tuple[Any, ...]]


def is_database_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def store_where(location: str) -> str:
    """Where the store is, for logs: a database URL without its password."""
    if not is_database_url(location):
        return location
    parts = urlsplit(location)
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


class _Database(Protocol):
    def run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Rows, int]:
        """Run one statement (``?`` placeholders) in its own transaction: its rows and its row count."""

    def script(self, sql: str) -> None: ...


class _Sqlite:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def _private(self) -> None:
        for part in (self.path, *self.path.parent.glob(f"{self.path.name}-*")):  # the database, its WAL and index
            part.chmod(0o600)

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Rows, int]:
        db = self._connect()
        try:
            cursor = db.execute(sql, params)
            return cursor.fetchall(), cursor.rowcount
        finally:
            db.close()
            self._private()

    def script(self, sql: str) -> None:
        db = self._connect()
        try:
            db.executescript(sql.format(blob="BLOB"))
        finally:
            db.close()
            self._private()


class _Postgres:
    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise ValueError("a PostgreSQL key store needs psycopg: pip install 'civis-mcp[oauth-postgres]'.") from None
        self._psycopg = psycopg
        self._url = url

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Rows, int]:
        with self._psycopg.connect(self._url, autocommit=True, connect_timeout=10) as db:
            cursor = db.execute(sql.replace("?", "%s"), params)
            rows = cursor.fetchall() if cursor.description is not None else []
            return [tuple(row) for row in rows], cursor.rowcount

    def script(self, sql: str) -> None:
        with self._psycopg.connect(self._url, autocommit=True, connect_timeout=10) as db:
            for statement in sql.format(blob="BYTEA").split(";"):
                if statement.strip():
                    db.execute(statement)


@dataclass(frozen=True)
class BindingInfo:
    """A binding without its key: what ``civis-mcp keys list`` shows."""

    issuer: str
    subject: str
    civis_user_id: int
    bound_at: str
    ring_key_id: str


@dataclass(frozen=True)
class Binding(BindingInfo):
    key: str = field(repr=False, default="")


def _context(issuer: str, subject: str, user_id: int) -> bytes:
    # Whose key this is goes into the seal: a sealed key copied to another row does not open there.
    return f"civis-mcp/binding\x00{issuer}\x00{subject}\x00{user_id}".encode()


class KeyStore:
    def __init__(self, location: str | Path, ring: KeyRing | None) -> None:
        """``location``: a SQLite file or a ``postgresql://`` URL. ``ring`` None: listing and revoking only (what
        an operator can do without the key ring)."""
        text = str(location)
        self.where = store_where(text)
        self._db: _Database = _Postgres(text) if is_database_url(text) else _Sqlite(Path(text).expanduser())
        self._ring_or_none = ring
        self.migrate_now()

    def migrate_now(self) -> int:
        """Create the tables when missing and record the schema version; the version found before (0: none)."""
        self._db.script(_SCHEMA)
        rows, _ = self._db.run("SELECT max(version) FROM civis_mcp_schema")
        found = int(rows[0][0]) if rows and rows[0][0] is not None else 0
        if found > SCHEMA_VERSION:
            raise ValueError(
                f"the key store {self.where} has schema version {found}, newer than this civis-mcp knows "
                f"({SCHEMA_VERSION}): upgrade civis-mcp."
            )
        if found < SCHEMA_VERSION:
            self._db.run("INSERT INTO civis_mcp_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        return found

    @property
    def _ring(self) -> KeyRing:
        if self._ring_or_none is None:
            raise ValueError("this needs the operator key ring: set CIVIS_MCP_KEY_RING.")
        return self._ring_or_none

    @property
    def sealing_key_id(self) -> str:
        return self._ring.sealing_key_id

    # --- synchronous (the CLI), each also available async below -----------------------------------------------------

    def bind_now(self, issuer: str, subject: str, user_id: int, key: str) -> BindingInfo:
        bound_at = datetime.now(UTC).isoformat(timespec="seconds")
        sealed = self._ring.seal(key, _context(issuer, subject, user_id))
        self._db.run(
            "INSERT INTO bindings (issuer, subject, civis_user_id, bound_at, ring_key_id, sealed_key) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (issuer, subject) DO UPDATE SET "
            "civis_user_id = excluded.civis_user_id, bound_at = excluded.bound_at, "
            "ring_key_id = excluded.ring_key_id, sealed_key = excluded.sealed_key",
            (issuer, subject, user_id, bound_at, self._ring.sealing_key_id, sealed),
        )
        return BindingInfo(issuer, subject, user_id, bound_at, self._ring.sealing_key_id)

    def lookup_now(self, issuer: str, subject: str) -> Binding | None:
        """The binding with its key unsealed; None when there is none. Raises ``SealError`` when the ring cannot
        open it."""
        rows, _ = self._db.run(
            "SELECT civis_user_id, bound_at, ring_key_id, sealed_key FROM bindings WHERE issuer = ? AND subject = ?",
            (issuer, subject),
        )
        if not rows:
            return None
        user_id, bound_at, ring_key_id, sealed = rows[0]
        key = self._ring.unseal(bytes(sealed), _context(issuer, subject, int(user_id)))
        return Binding(issuer, subject, int(user_id), str(bound_at), str(ring_key_id), key)

    def reseal_now(self) -> int:
        """Seal every binding again under the ring's first key (after a rotation); how many were resealed."""
        count = 0
        for info in self.list_now():
            if info.ring_key_id == self._ring.sealing_key_id:
                continue
            binding = self.lookup_now(info.issuer, info.subject)
            if binding is None:
                continue
            sealed = self._ring.seal(binding.key, _context(info.issuer, info.subject, info.civis_user_id))
            self._db.run(
                "UPDATE bindings SET ring_key_id = ?, sealed_key = ? WHERE issuer = ? AND subject = ?",
                (self._ring.sealing_key_id, sealed, info.issuer, info.subject),
            )
            count += 1
        return count

    def revoke_now(self, issuer: str, subject: str) -> bool:
        _, count = self._db.run("DELETE FROM bindings WHERE issuer = ? AND subject = ?", (issuer, subject))
        return count > 0

    def list_now(self) -> list[BindingInfo]:
        rows, _ = self._db.run(
            "SELECT issuer, subject, civis_user_id, bound_at, ring_key_id FROM bindings ORDER BY bound_at, subject"
        )
        return [BindingInfo(str(i), str(s), int(u), str(b), str(r)) for i, s, u, b, r in rows]

    def spend_link_now(self, link_id: str, expires_at: int) -> bool:
        """Record a link as used; False when it already was (by this replica or another)."""
        self._db.run("DELETE FROM spent_links WHERE expires_at < ?", (int(time.time()) - 60,))
        _, count = self._db.run(
            "INSERT INTO spent_links (link_id, expires_at) VALUES (?, ?) ON CONFLICT (link_id) DO NOTHING",
            (link_id, expires_at),
        )
        return count == 1

    def link_spent_now(self, link_id: str) -> bool:
        rows, _ = self._db.run("SELECT 1 FROM spent_links WHERE link_id = ?", (link_id,))
        return bool(rows)

    # --- async: the server's requests -------------------------------------------------------------------------------

    async def bind(self, issuer: str, subject: str, user_id: int, key: str) -> BindingInfo:
        return await anyio.to_thread.run_sync(self.bind_now, issuer, subject, user_id, key)

    async def lookup(self, issuer: str, subject: str) -> Binding | None:
        return await anyio.to_thread.run_sync(self.lookup_now, issuer, subject)

    async def revoke(self, issuer: str, subject: str) -> bool:
        return await anyio.to_thread.run_sync(self.revoke_now, issuer, subject)

    async def spend_link(self, link_id: str, expires_at: int) -> bool:
        return await anyio.to_thread.run_sync(self.spend_link_now, link_id, expires_at)

    async def link_spent(self, link_id: str) -> bool:
        return await anyio.to_thread.run_sync(self.link_spent_now, link_id)
