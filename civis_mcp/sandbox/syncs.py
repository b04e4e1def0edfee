"""What every kind of sync shares: how it fails or is cancelled, what it is given, and the hosts it connects to."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from civis_mcp.sandbox.databases import Database, Grants, Hosts
from civis_mcp.sandbox.store import Job, Run, Store, SyncRecord

__all__ = [
    "Endpoint",
    "LogFn",
    "SyncCancelled",
    "SyncContext",
    "SyncFailed",
    "as_text",
    "close_match",
    "connect",
    "describe",
]

LogFn = Callable[[str, str], None]


class SyncFailed(Exception):
    """A sync cannot go on; ``message`` is one line a person can act on (it names the setting that fixes it)."""

    def __init__(self, message: str, *, logged: bool = False) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())
        self.logged = logged
        """True when the engine already wrote the error to the log."""


class SyncCancelled(Exception):
    """A cancel was requested; the sync's changes were rolled back."""


@dataclass(frozen=True)
class SyncContext:
    store: Store
    hosts: Hosts
    job: Job
    run: Run
    sync: SyncRecord
    tag: str
    """``[2/3]``: where this sync is among the run's syncs, for the log."""
    log: LogFn
    should_cancel: Callable[[], bool]

    @property
    def options(self) -> Mapping[str, Any]:
        return self.sync.doc.get("advanced_options") or {}

    def say(self, level: str, message: str) -> None:
        self.log(level, f"{self.tag} {message}")


@dataclass(frozen=True)
class Endpoint:
    """One side of a Dbsync: a table in a database, reached with a credential."""

    database: Database
    grants: Grants | None
    credential_id: int | None
    schema: str
    table: str

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def where(self) -> str:
        return f'{self.name} on "{self.database.label}"'


def connect(
    store: Store, hosts: Hosts, side: Mapping[str, Any], role: str
) -> tuple[Database, Grants | None, int | None]:
    """The database of a job's source or destination host and what its credential may do there."""
    host_id = side.get("remote_host_id")
    credential_id = side.get("credential_id")
    host = store.get_entry("remote_host", host_id) if isinstance(host_id, int) else None
    if host is None:
        raise SyncFailed(f"The import has no {role} host; set {role}.remote_host_id with imports_patch.")
    database = hosts.database(int(host_id))  # type: ignore[arg-type]
    if database is None:
        raise SyncFailed(
            f'The {role} host "{host["name"]}" ({host.get("type")}) is not a database this kind of sync can reach.'
        )
    if database is hosts.warehouse:
        return database, None, credential_id if isinstance(credential_id, int) else None
    credential = store.get_entry("credential", credential_id) if isinstance(credential_id, int) else None
    grants = ((credential or {}).get("grants") or {}).get(str(host_id))
    if not grants:
        raise SyncFailed(
            f'Could not connect to {role} host "{host["name"]}": password authentication failed for credential '
            f"{credential_id}. Use a credential that can log in to this host."
        )
    return database, dict(grants), int(credential_id)  # type: ignore[arg-type]


def as_text(value: Any) -> str:
    """A database value as the text a load converts (empty for NULL)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def close_match(name: str, candidates: Iterable[str]) -> str | None:
    """The one candidate that looks like a misspelling of ``name``, if any."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return found[0] if found else None


def describe(side: Mapping[str, Any]) -> str:
    """A sync's source or destination for the log: ``schema.table``, a sheet tab, or a file."""
    table = side.get("database_table")
    if table:
        return f"{table.get('schema')}.{table.get('table')}"
    sheet = side.get("google_worksheet")
    if sheet:
        return f'Google Sheet "{sheet.get("spreadsheet")}" tab "{sheet.get("worksheet")}"'
    file_ref = side.get("file")
    if isinstance(file_ref, dict) and file_ref.get("id"):
        return f"file {file_ref['id']}"
    return str(side.get("path") or "(unspecified)")
