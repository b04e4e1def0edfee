"""The sandbox's state in SQLite: JSON documents plus the columns that are filtered, sorted or joined on.

One connection, shared by the event loop and the run workers, guarded by one re-entrant lock: every public method
takes the lock for its whole read or write, and every write commits before the lock is released. The database is
``:memory:`` by default or a file, which then survives restarts.

What is stored:

* ``jobs``: everything with an ID under ``/imports`` (import jobs, which include file imports; CSV imports; batch
  imports). One ID sequence for all of them, as Civis numbers all jobs in one sequence, so an ID names one object.
* ``syncs`` of import jobs; ``runs`` of any job; their ``logs`` (IDs increase across all runs).
* ``shares`` of jobs with users and groups; ``project_links`` between jobs and projects.
* ``directory``: users, groups, projects, credentials, remote hosts (read-only through this API).
* ``files``: Civis files known to the sandbox beyond the built-in demo files (uploads of file imports).
* ``sheets``: the Google Sheets the sandbox keeps, one row per worksheet (tab), its cells as CSV text; Sheets imports
  read them and Sheets exports write them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from civis_mcp.vocabulary import ENDED_RUN_STATES

__all__ = [
    "DirectoryKind",
    "GranteeType",
    "Job",
    "JobKind",
    "LogLine",
    "Run",
    "Share",
    "Sheet",
    "Store",
    "StoredFile",
    "SyncRecord",
    "format_time",
    "now",
]

JobKind = Literal["import", "csv_import", "batch"]
DirectoryKind = Literal["user", "group", "project", "credential", "remote_host"]
GranteeType = Literal["user", "group"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    owner_id INTEGER NOT NULL,
    hidden INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_kind ON jobs (kind);
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS syncs_job ON syncs (job_id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    is_cancel_requested INTEGER NOT NULL DEFAULT 0,
    driven INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    error TEXT,
    inputs TEXT,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_job ON runs (job_id);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_run ON logs (run_id, id);
-- A first read of a run's log (no cursor) is newest first by creation time: served from this index in order, a read of
-- the last 50 of 200,000 lines takes 0.04 ms instead of sorting them all (70 ms), so big-log benchmarks measure
-- civis-mcp, not the emulator.
CREATE INDEX IF NOT EXISTS logs_run_time ON logs (run_id, created_at, id);
CREATE TABLE IF NOT EXISTS shares (
    job_id INTEGER NOT NULL,
    grantee_type TEXT NOT NULL,
    grantee_id INTEGER NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (job_id, grantee_type, grantee_id)
);
CREATE TABLE IF NOT EXISTS project_links (
    job_id INTEGER NOT NULL,
    project_id INTEGER NOT NULL,
    PRIMARY KEY (job_id, project_id)
);
CREATE TABLE IF NOT EXISTS directory (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    owner_id INTEGER NOT NULL,
    shares TEXT NOT NULL DEFAULT '{}',
    content BLOB,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sheets (
    spreadsheet_id TEXT NOT NULL,
    spreadsheet TEXT NOT NULL,
    worksheet_id INTEGER NOT NULL,
    worksheet TEXT NOT NULL,
    content TEXT NOT NULL,
    shared_with TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (spreadsheet_id, worksheet_id)
);
"""


def now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """Civis's timestamp format: ISO 8601 in UTC with milliseconds, e.g. ``2024-05-01T02:30:00.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def shift(text: str, seconds: float) -> str:
    return format_time(parse_time(text) + timedelta(seconds=seconds))


@dataclass
class Job:
    """An object with an ID under /imports: an import job, a CSV import or a batch import."""

    id: int
    kind: JobKind
    owner_id: int
    hidden: bool
    archived: bool
    created_at: str
    updated_at: str
    doc: dict[str, Any]


@dataclass
class SyncRecord:
    id: int
    job_id: int
    archived: bool
    doc: dict[str, Any]


@dataclass
class Run:
    id: int
    job_id: int
    state: str
    is_cancel_requested: bool
    driven: bool
    """True when the run clock moves this run; seeded long-running runs only change when cancelled."""
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None
    inputs: dict[str, Any] | None
    """The settings the run was started with (what the run-inputs endpoints return)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Internal facts about the run (rows loaded, warehouse table); never sent to clients."""

    @property
    def finished(self) -> bool:
        return self.state in ENDED_RUN_STATES


@dataclass(frozen=True)
class LogLine:
    id: int
    run_id: int
    created_at: str
    level: str
    message: str


@dataclass(frozen=True)
class StoredFile:
    id: int
    name: str
    owner_id: int
    content: bytes | None
    """None until uploaded; the demo files' content lives in ``demo_files.DEMO_FILES``."""
    shares: dict[str, str]


@dataclass(frozen=True)
class Sheet:
    """One worksheet (tab) of a Google spreadsheet the sandbox keeps."""

    spreadsheet_id: str
    spreadsheet: str
    worksheet_id: int
    worksheet: str
    content: str
    """The cells as CSV text (comma-delimited, the header row first when it has one)."""
    shared_with: tuple[int, ...]
    """IDs of the Google credentials whose account may open and edit the spreadsheet."""
    updated_at: str = ""


@dataclass(frozen=True)
class Share:
    grantee_type: GranteeType
    grantee_id: int
    level: str


class Store:
    """Typed access to the sandbox state. Safe to call from any thread."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = ":memory:" if path is None else str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA foreign_keys = OFF")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def copy_into(self, other: Store) -> None:
        """Make ``other`` hold exactly this store's state (SQLite's online backup)."""
        with self._lock, other._lock:
            self._conn.backup(other._conn)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes into one atomic commit (re-entrant: nested calls join the outer one)."""
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
            return row

    # --- meta ---------------------------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def set_next_id(self, table: Literal["jobs", "syncs", "runs", "logs", "files"], next_id: int) -> None:
        """Make the next automatically assigned ID of ``table`` at least ``next_id``."""
        with self.transaction():
            row = self._one("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))
            if row is None:
                self._execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, next_id - 1))
            elif int(row["seq"]) < next_id - 1:
                self._execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (next_id - 1, table))

    # --- jobs ---------------------------------------------------------------------------------------------------------

    def create_job(
        self,
        kind: JobKind,
        owner_id: int,
        doc: dict[str, Any],
        *,
        hidden: bool = False,
        archived: bool = False,
        created_at: str | None = None,
        job_id: int | None = None,
    ) -> Job:
        stamp = created_at or format_time(now())
        cursor = self._execute(
            "INSERT INTO jobs (id, kind, owner_id, hidden, archived, created_at, updated_at, doc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, kind, owner_id, int(hidden), int(archived), stamp, stamp, json.dumps(doc)),
        )
        assert cursor.lastrowid is not None
        return Job(cursor.lastrowid, kind, owner_id, hidden, archived, stamp, stamp, doc)

    def get_job(self, job_id: int) -> Job | None:
        row = self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else _job(row)

    def list_jobs(self, kind: JobKind) -> list[Job]:
        return [_job(row) for row in self._all("SELECT * FROM jobs WHERE kind = ? ORDER BY id", (kind,))]

    def save_job(self, job: Job, *, touch: bool = True) -> Job:
        """Write back a changed job; ``touch`` moves ``updated_at`` to now."""
        if touch:
            job.updated_at = format_time(now())
        self._execute(
            "UPDATE jobs SET owner_id = ?, hidden = ?, archived = ?, updated_at = ?, doc = ? WHERE id = ?",
            (job.owner_id, int(job.hidden), int(job.archived), job.updated_at, json.dumps(job.doc), job.id),
        )
        return job

    # --- syncs --------------------------------------------------------------------------------------------------------

    def create_sync(self, job_id: int, doc: dict[str, Any], *, sync_id: int | None = None) -> SyncRecord:
        cursor = self._execute(
            "INSERT INTO syncs (id, job_id, archived, doc) VALUES (?, ?, 0, ?)", (sync_id, job_id, json.dumps(doc))
        )
        assert cursor.lastrowid is not None
        return SyncRecord(cursor.lastrowid, job_id, False, doc)

    def get_sync(self, job_id: int, sync_id: int) -> SyncRecord | None:
        row = self._one("SELECT * FROM syncs WHERE id = ? AND job_id = ?", (sync_id, job_id))
        return None if row is None else _sync(row)

    def list_syncs(self, job_id: int, *, include_archived: bool = False) -> list[SyncRecord]:
        rows = self._all("SELECT * FROM syncs WHERE job_id = ? ORDER BY id", (job_id,))
        return [_sync(row) for row in rows if include_archived or not row["archived"]]

    def save_sync(self, sync: SyncRecord) -> SyncRecord:
        self._execute(
            "UPDATE syncs SET archived = ?, doc = ? WHERE id = ?", (int(sync.archived), json.dumps(sync.doc), sync.id)
        )
        return sync

    # --- runs ---------------------------------------------------------------------------------------------------------

    def create_run(
        self,
        job_id: int,
        *,
        state: str = "queued",
        inputs: dict[str, Any] | None = None,
        driven: bool = True,
        created_at: str | None = None,
        started_at: str | None = None,
        finished_at: str | None = None,
        error: str | None = None,
        run_id: int | None = None,
    ) -> Run:
        stamp = created_at or format_time(now())
        cursor = self._execute(
            "INSERT INTO runs (id, job_id, state, is_cancel_requested, driven, created_at, started_at, finished_at,"
            " error, inputs, extra) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, '{}')",
            (
                run_id,
                job_id,
                state,
                int(driven),
                stamp,
                started_at,
                finished_at,
                error,
                None if inputs is None else json.dumps(inputs),
            ),
        )
        assert cursor.lastrowid is not None
        return Run(cursor.lastrowid, job_id, state, False, driven, stamp, started_at, finished_at, error, inputs)

    def get_run(self, run_id: int) -> Run | None:
        row = self._one("SELECT * FROM runs WHERE id = ?", (run_id,))
        return None if row is None else _run(row)

    def list_runs(self, job_id: int) -> list[Run]:
        return [_run(row) for row in self._all("SELECT * FROM runs WHERE job_id = ? ORDER BY id", (job_id,))]

    def last_run(self, job_id: int) -> Run | None:
        row = self._one("SELECT * FROM runs WHERE job_id = ? ORDER BY id DESC LIMIT 1", (job_id,))
        return None if row is None else _run(row)

    def unfinished_driven_runs(self) -> list[Run]:
        rows = self._all("SELECT * FROM runs WHERE driven = 1 AND state IN ('queued', 'running') ORDER BY id")
        return [_run(row) for row in rows]

    def save_run(self, run: Run) -> Run:
        self._execute(
            "UPDATE runs SET state = ?, is_cancel_requested = ?, started_at = ?, finished_at = ?, error = ?, "
            "extra = ? WHERE id = ?",
            (
                run.state,
                int(run.is_cancel_requested),
                run.started_at,
                run.finished_at,
                run.error,
                json.dumps(run.extra),
                run.id,
            ),
        )
        return run

    # --- logs ---------------------------------------------------------------------------------------------------------

    def add_log(self, run_id: int, level: str, message: str, *, created_at: str | None = None) -> int:
        cursor = self._execute(
            "INSERT INTO logs (run_id, created_at, level, message) VALUES (?, ?, ?, ?)",
            (run_id, created_at or format_time(now()), level, message),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def list_logs(self, run_id: int, *, last_id: int | None, limit: int) -> list[LogLine]:
        """The run's log lines as Civis returns them.

        With ``last_id``: the lines after it, oldest first (sorted by ID). Without: the newest ``limit`` lines,
        newest first (sorted by creation time), which is how Civis answers a first request for a run's logs.
        """
        if last_id is not None:
            rows = self._all(
                "SELECT * FROM logs WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?", (run_id, last_id, limit)
            )
        else:
            rows = self._all(
                "SELECT * FROM logs WHERE run_id = ? ORDER BY created_at DESC, id DESC LIMIT ?", (run_id, limit)
            )
        return [LogLine(r["id"], r["run_id"], r["created_at"], r["level"], r["message"]) for r in rows]

    def max_log_id(self, run_id: int) -> int | None:
        row = self._one("SELECT MAX(id) AS top FROM logs WHERE run_id = ?", (run_id,))
        return None if row is None or row["top"] is None else int(row["top"])

    # --- shares and projects ------------------------------------------------------------------------------------------

    def set_share(self, job_id: int, grantee_type: GranteeType, grantee_id: int, level: str) -> None:
        self._execute(
            "INSERT OR REPLACE INTO shares (job_id, grantee_type, grantee_id, level) VALUES (?, ?, ?, ?)",
            (job_id, grantee_type, grantee_id, level),
        )

    def delete_share(self, job_id: int, grantee_type: GranteeType, grantee_id: int) -> bool:
        cursor = self._execute(
            "DELETE FROM shares WHERE job_id = ? AND grantee_type = ? AND grantee_id = ?",
            (job_id, grantee_type, grantee_id),
        )
        return cursor.rowcount > 0

    def shares(self, job_id: int) -> list[Share]:
        rows = self._all("SELECT * FROM shares WHERE job_id = ? ORDER BY grantee_type, grantee_id", (job_id,))
        return [Share(row["grantee_type"], row["grantee_id"], row["level"]) for row in rows]

    def link_project(self, job_id: int, project_id: int) -> None:
        self._execute("INSERT OR IGNORE INTO project_links (job_id, project_id) VALUES (?, ?)", (job_id, project_id))

    def unlink_project(self, job_id: int, project_id: int) -> bool:
        cursor = self._execute("DELETE FROM project_links WHERE job_id = ? AND project_id = ?", (job_id, project_id))
        return cursor.rowcount > 0

    def project_ids(self, job_id: int) -> list[int]:
        rows = self._all("SELECT project_id FROM project_links WHERE job_id = ? ORDER BY project_id", (job_id,))
        return [int(row["project_id"]) for row in rows]

    # --- directory ----------------------------------------------------------------------------------------------------

    def put_entry(self, kind: DirectoryKind, entry_id: int, doc: dict[str, Any]) -> None:
        self._execute(
            "INSERT OR REPLACE INTO directory (kind, id, doc) VALUES (?, ?, ?)", (kind, entry_id, json.dumps(doc))
        )

    def get_entry(self, kind: DirectoryKind, entry_id: int) -> dict[str, Any] | None:
        row = self._one("SELECT doc FROM directory WHERE kind = ? AND id = ?", (kind, entry_id))
        return None if row is None else _entry(row)

    def list_entries(self, kind: DirectoryKind) -> list[dict[str, Any]]:
        return [_entry(row) for row in self._all("SELECT doc FROM directory WHERE kind = ? ORDER BY id", (kind,))]

    # --- files --------------------------------------------------------------------------------------------------------

    def create_file(self, name: str, owner_id: int, content: bytes | None = None, *, file_id: int | None = None) -> int:
        """Record a Civis file; ``content`` None means announced but not uploaded yet."""
        cursor = self._execute(
            "INSERT INTO files (id, name, owner_id, content, created_at) VALUES (?, ?, ?, ?, ?)",
            (file_id, name, owner_id, content, format_time(now())),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def set_file_content(self, file_id: int, content: bytes) -> bool:
        return self._execute("UPDATE files SET content = ? WHERE id = ?", (content, file_id)).rowcount > 0

    def get_file(self, file_id: int) -> StoredFile | None:
        row = self._one("SELECT * FROM files WHERE id = ?", (file_id,))
        if row is None:
            return None
        content = None if row["content"] is None else bytes(row["content"])
        return StoredFile(row["id"], row["name"], row["owner_id"], content, json.loads(row["shares"]))

    def share_file(self, file_id: int, user_id: int, level: str) -> None:
        with self.transaction():
            stored = self.get_file(file_id)
            if stored is not None:
                shares = {**stored.shares, str(user_id): level}
                self._execute("UPDATE files SET shares = ? WHERE id = ?", (json.dumps(shares), file_id))

    def file_contents(self) -> dict[int, bytes]:
        """Every uploaded file's content by file ID."""
        rows = self._all("SELECT id, content FROM files WHERE content IS NOT NULL")
        return {int(row["id"]): bytes(row["content"]) for row in rows}

    # --- Google Sheets ------------------------------------------------------------------------------------------------

    def save_sheet(self, sheet: Sheet) -> Sheet:
        stamp = format_time(now())
        self._execute(
            "INSERT OR REPLACE INTO sheets (spreadsheet_id, spreadsheet, worksheet_id, worksheet, content, "
            "shared_with, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                sheet.spreadsheet_id,
                sheet.spreadsheet,
                sheet.worksheet_id,
                sheet.worksheet,
                sheet.content,
                json.dumps(list(sheet.shared_with)),
                stamp,
            ),
        )
        return Sheet(**{**sheet.__dict__, "updated_at": stamp})

    def spreadsheet_tabs(self, *, spreadsheet_id: str | None = None, name: str | None = None) -> list[Sheet]:
        """The tabs of the spreadsheet with this ID (or, without one, the first with this name), in tab order."""
        if spreadsheet_id:
            rows = self._all("SELECT * FROM sheets WHERE spreadsheet_id = ? ORDER BY worksheet_id", (spreadsheet_id,))
        else:
            first = self._one("SELECT spreadsheet_id FROM sheets WHERE spreadsheet = ? ORDER BY rowid LIMIT 1", (name,))
            if first is None:
                return []
            rows = self._all(
                "SELECT * FROM sheets WHERE spreadsheet_id = ? ORDER BY worksheet_id", (first["spreadsheet_id"],)
            )
        return [
            Sheet(
                row["spreadsheet_id"],
                row["spreadsheet"],
                int(row["worksheet_id"]),
                row["worksheet"],
                row["content"],
                tuple(json.loads(row["shared_with"])),
                row["updated_at"],
            )
            for row in rows
        ]


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        owner_id=row["owner_id"],
        hidden=bool(row["hidden"]),
        archived=bool(row["archived"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        doc=json.loads(row["doc"]),
    )


def _sync(row: sqlite3.Row) -> SyncRecord:
    return SyncRecord(row["id"], row["job_id"], bool(row["archived"]), json.loads(row["doc"]))


def _run(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"],
        job_id=row["job_id"],
        state=row["state"],
        is_cancel_requested=bool(row["is_cancel_requested"]),
        driven=bool(row["driven"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        inputs=None if row["inputs"] is None else json.loads(row["inputs"]),
        extra=json.loads(row["extra"]),
    )


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(row["doc"])
    return doc
