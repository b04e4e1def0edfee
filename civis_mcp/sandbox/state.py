"""One sandbox's live state: the store, the warehouse, the run clock, the rate limiter and the fault dice."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from civis_mcp.sandbox.config import FaultConfig, SandboxConfig
from civis_mcp.sandbox.databases import Database, Hosts, PostgresDatabase, SqliteDatabase, Warehouse
from civis_mcp.sandbox.demo import DEMO_POSTGRES_HOST_ID, DEMO_REDSHIFT_HOST_ID, DEMO_USER_ID, seed_demo, seed_directory
from civis_mcp.sandbox.demo_remote import seed_crm
from civis_mcp.sandbox.runs import RunClock
from civis_mcp.sandbox.store import Store, format_time, now

__all__ = ["FaultDecision", "FaultDice", "RateLimiter", "RateWindow", "Sandbox", "remove_sqlite_file"]


@dataclass(frozen=True)
class RateWindow:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    """Whole seconds until the window resets (what a 429 sends as Retry-After)."""


class RateLimiter:
    """A fixed one-minute window for the whole sandbox (it has one key, so one user)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._count = 0

    def _roll(self, moment: float) -> None:
        if moment - self._window_start >= 60.0:
            self._window_start = moment
            self._count = 0

    def hit(self) -> RateWindow:
        """Count one request; ``allowed`` is False once the window's budget is spent."""
        with self._lock:
            moment = self._clock()
            self._roll(moment)
            allowed = self._count < self.limit
            if allowed:
                self._count += 1
            return self._window(moment, allowed)

    def peek(self) -> RateWindow:
        with self._lock:
            moment = self._clock()
            self._roll(moment)
            return self._window(moment, self._count < self.limit)

    def _window(self, moment: float, allowed: bool) -> RateWindow:
        reset = max(1, math.ceil(60.0 - (moment - self._window_start)))
        return RateWindow(allowed, self.limit, max(0, self.limit - self._count), reset)


@dataclass(frozen=True)
class FaultDecision:
    error_status: int | None = None
    hang: bool = False
    malformed: bool = False


class FaultDice:
    """Decides each request's fault from a seeded generator: the same seed and requests give the same faults."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self) -> FaultDecision:
        config = self.config
        if not (config.error_rate or config.hang_rate or config.malformed_rate):
            return FaultDecision()
        with self._lock:
            error, hang, malformed, pick = (self._rng.random() for _ in range(4))
        if error < config.error_rate:
            statuses = config.error_statuses
            return FaultDecision(error_status=statuses[min(int(pick * len(statuses)), len(statuses) - 1)])
        if hang < config.hang_rate:
            return FaultDecision(hang=True)
        return FaultDecision(malformed=malformed < config.malformed_rate)


def remove_sqlite_file(path: str) -> None:
    """Delete a SQLite database file and its journal files; nothing for an in-memory database."""
    if path == ":memory:":
        return
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


def open_hosts(config: SandboxConfig, *, fresh: bool) -> Hosts:
    """The warehouse and the CRM database (PostgreSQL when configured, else SQLite), with the CRM's demo tables."""
    if fresh:
        # A new state database means a new warehouse: the tables left by an earlier state (deleted to start over)
        # would make the seeded runs that load them fail, and no run of the new state loaded them.
        remove_sqlite_file(config.resolved_warehouse_path)
        if not config.postgres_url:
            remove_sqlite_file(config.resolved_crm_path)
    warehouse = Warehouse(config.resolved_warehouse_path)
    crm: Database
    if config.postgres_url:
        crm = PostgresDatabase(config.postgres_url, "CRM Postgres")
    else:
        crm = SqliteDatabase(config.resolved_crm_path, "CRM Postgres")
    try:
        seed_crm(crm)
    except BaseException:
        crm.close()
        warehouse.close()
        raise
    return Hosts(warehouse, {DEMO_POSTGRES_HOST_ID: crm}, [DEMO_REDSHIFT_HOST_ID])


def _in_memory_demo(config: SandboxConfig) -> bool:
    """Whether the sandbox keeps everything in memory and starts from the demo data: then it starts as a copy."""
    paths = (config.db_path, config.warehouse_path, config.crm_path)
    return config.seed_demo_data and not config.postgres_url and all(path is None for path in paths)


_demo_lock = threading.Lock()
_demo: tuple[Store, Hosts] | None = None


def _demo_state() -> tuple[Store, Hosts]:
    """The seeded demo state, made once per process: seeding runs the demo's two dozen imports for real (about
    16 ms of CPU), and the tests start hundreds of sandboxes."""
    global _demo
    with _demo_lock:
        if _demo is None:
            store = Store(None)
            hosts = open_hosts(SandboxConfig(), fresh=True)
            seed_demo(store, hosts)
            store.set_meta("seeded_at", format_time(now()))
            _demo = store, hosts
        return _demo


def _copy_of_demo() -> tuple[Store, Hosts]:
    """A new in-memory state equal to the seeded demo state."""
    store, hosts = _demo_state()
    copy = Store(None)
    store.copy_into(copy)
    warehouse = Warehouse(":memory:")
    hosts.warehouse.copy_into(warehouse)
    crm = SqliteDatabase(":memory:", "CRM Postgres")
    template_crm = hosts.database(DEMO_POSTGRES_HOST_ID)
    assert isinstance(template_crm, SqliteDatabase)
    template_crm.copy_into(crm)
    return copy, Hosts(warehouse, {DEMO_POSTGRES_HOST_ID: crm}, [DEMO_REDSHIFT_HOST_ID])


class Sandbox:
    """Everything one running sandbox owns. Opening it creates (and seeds, the first time) the state database."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        copied = _in_memory_demo(config)
        if copied:
            self.store, self.hosts = _copy_of_demo()
            fresh = False
        else:
            self.store = Store(config.db_path)
            fresh = self.store.get_meta("seeded_at") is None
            self.hosts = open_hosts(config, fresh=fresh)
        self.warehouse = self.hosts.warehouse
        self.seeded = copied  # a copy of the demo state counts as seeded now
        if fresh:
            if config.seed_demo_data:
                seed_demo(self.store, self.hosts)
            else:
                seed_directory(self.store)
            self.store.set_meta("seeded_at", format_time(now()))
            self.seeded = True
        self.caller_id = config.caller_id if config.caller_id is not None else DEMO_USER_ID
        caller = self.store.get_entry("user", self.caller_id)
        if caller is None:
            raise ValueError(f"caller_id {self.caller_id} is not a user of this sandbox.")
        self.caller_name = str(caller.get("name") or caller.get("username") or self.caller_id)
        for _, user_id in config.user_keys:
            if self.store.get_entry("user", user_id) is None:
                raise ValueError(f"a user key belongs to user {user_id}, who is not a user of this sandbox.")
        self.clock = RunClock(self.store, self.hosts, config.run_step_seconds, manual=config.manual_clock)
        self.rate = RateLimiter(config.rate_limit_per_minute)
        self.faults = FaultDice(config.faults, config.seed)
        self.stopping = threading.Event()

    def close(self) -> None:
        self.stopping.set()
        self.store.close()
        self.hosts.close()
