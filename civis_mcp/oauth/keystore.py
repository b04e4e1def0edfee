"""Each person's Civis key, sealed, kept by (issuer, subject): SQLite, one file, for a single replica.

A row holds the identity (issuer and subject of their access tokens), their Civis user id, when the key was bound,
which ring key sealed it, and the sealed key. The plain key exists only in memory, for the request that uses it.
The same database remembers which ``/connect`` links were spent, so a link opens once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread

from civis_mcp.oauth.keyring import KeyRing

__all__ = ["Binding", "BindingInfo", "KeyStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bindings (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    civis_user_id INTEGER NOT NULL,
    bound_at TEXT NOT NULL,
    ring_key_id TEXT NOT NULL,
    sealed_key BLOB NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE TABLE IF NOT EXISTS spent_links (
    link_id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
"""


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
    def __init__(self, path: Path, ring: KeyRing | None) -> None:
        """``ring`` None: listing and revoking only (what an operator can do without the key ring)."""
        self.path = path
        self._ring_or_none = ring
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            yield db
        finally:
            db.close()
        for part in (self.path, *self.path.parent.glob(f"{self.path.name}-*")):  # the database, its WAL and index
            part.chmod(0o600)

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
        with self._db() as db:
            db.execute(
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
        with self._db() as db:
            row = db.execute(
                "SELECT civis_user_id, bound_at, ring_key_id, sealed_key FROM bindings "
                "WHERE issuer = ? AND subject = ?",
                (issuer, subject),
            ).fetchone()
        if row is None:
            return None
        user_id, bound_at, ring_key_id, sealed = row
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
            with self._db() as db:
                db.execute(
                    "UPDATE bindings SET ring_key_id = ?, sealed_key = ? WHERE issuer = ? AND subject = ?",
                    (self._ring.sealing_key_id, sealed, info.issuer, info.subject),
                )
            count += 1
        return count

    def revoke_now(self, issuer: str, subject: str) -> bool:
        with self._db() as db:
            return db.execute("DELETE FROM bindings WHERE issuer = ? AND subject = ?", (issuer, subject)).rowcount > 0

    def list_now(self) -> list[BindingInfo]:
        with self._db() as db:
            rows = db.execute(
                "SELECT issuer, subject, civis_user_id, bound_at, ring_key_id FROM bindings ORDER BY bound_at"
            ).fetchall()
        return [BindingInfo(str(i), str(s), int(u), str(b), str(r)) for i, s, u, b, r in rows]

    def spend_link_now(self, link_id: str, expires_at: int) -> bool:
        """Record a link as used; False when it already was."""
        with self._db() as db:
            db.execute("DELETE FROM spent_links WHERE expires_at < ?", (int(time.time()) - 60,))
            try:
                db.execute("INSERT INTO spent_links (link_id, expires_at) VALUES (?, ?)", (link_id, expires_at))
            except sqlite3.IntegrityError:
                return False
        return True

    def link_spent_now(self, link_id: str) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM spent_links WHERE link_id = ?", (link_id,)).fetchone() is not None

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
