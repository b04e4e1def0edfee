"""Settings of the sandbox: where it listens, where it keeps state, how fast runs move, which faults it injects.

Everything has a default that suits tests (loopback, any free port, state in memory, fast runs, no faults). Faults and a
few other knobs can also come from the environment (``SandboxConfig.from_env``), so that ``civis-mcp sandbox`` and
``civis-mcp serve --sandbox`` can be made flaky without new flags:

========================================  ===========================================================================
``CIVIS_SANDBOX_LATENCY_MS``              added to every response, in milliseconds
``CIVIS_SANDBOX_ERROR_RATE``              share of requests (0-1) answered with one of the error statuses below
``CIVIS_SANDBOX_ERROR_STATUSES``          comma-separated statuses to pick from, e.g. ``500,502,503`` (the default)
``CIVIS_SANDBOX_HANG_RATE``               share of requests that hang (longer than any client timeout)
``CIVIS_SANDBOX_MALFORMED_RATE``          share of JSON answers whose body is cut in half (invalid JSON)
``CIVIS_SANDBOX_SEED``                    seed of the fault dice (same seed and requests -> same faults)
``CIVIS_SANDBOX_RUN_STEP_SECONDS``        seconds a run spends in each of queued and running
``CIVIS_SANDBOX_RATE_LIMIT``              requests per minute before HTTP 429
``CIVIS_SANDBOX_POSTGRES_URL``            a PostgreSQL database to be the CRM host (3002) instead of SQLite
========================================  ===========================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_API_KEY", "FaultConfig", "SandboxConfig"]

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_ERROR_STATUSES: tuple[int, ...] = (500, 502, 503)


@dataclass(frozen=True, kw_only=True)
class FaultConfig:
    """Faults to inject; all off by default. Rates are probabilities per request, 0 to 1."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = DEFAULT_ERROR_STATUSES
    hang_rate: float = 0.0
    hang_seconds: float = 600.0
    """How long a hanging request waits before it is answered with 504 (or the server stops)."""
    malformed_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "hang_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}.")
        if self.latency_ms < 0 or self.hang_seconds < 0:
            raise ValueError("latency_ms and hang_seconds must not be negative.")
        if not self.error_statuses or any(not 400 <= s <= 599 for s in self.error_statuses):
            raise ValueError(f"error_statuses must be HTTP error statuses, got {self.error_statuses!r}.")

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.error_rate or self.hang_rate or self.malformed_rate)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, base: FaultConfig | None = None) -> FaultConfig:
        """``base`` (default: no faults) with the ``CIVIS_SANDBOX_*`` fault variables that are set applied."""
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for name, variable in (
            ("latency_ms", "CIVIS_SANDBOX_LATENCY_MS"),
            ("error_rate", "CIVIS_SANDBOX_ERROR_RATE"),
            ("hang_rate", "CIVIS_SANDBOX_HANG_RATE"),
            ("malformed_rate", "CIVIS_SANDBOX_MALFORMED_RATE"),
        ):
            value = _number(env, variable)
            if value is not None:
                if name != "latency_ms" and not 0.0 <= value <= 1.0:
                    raise ValueError(f"{variable} must be between 0 and 1, got {value!r}.")
                if value < 0:
                    raise ValueError(f"{variable} must not be negative, got {value!r}.")
                changes[name] = value
        statuses = env.get("CIVIS_SANDBOX_ERROR_STATUSES", "").strip()
        if statuses:
            try:
                changes["error_statuses"] = tuple(int(part) for part in statuses.split(",") if part.strip())
            except ValueError:
                raise ValueError(
                    f"CIVIS_SANDBOX_ERROR_STATUSES must be comma-separated HTTP statuses, got {statuses!r}."
                ) from None
        return replace(base or cls(), **changes)


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    """How to run one sandbox. ``port=0`` picks any free port; ``db_path=None`` keeps all state in memory."""

    host: str = "127.0.0.1"
    port: int = 0
    db_path: Path | str | None = None
    """SQLite file for the API state; created and seeded with demo data on first start, reused afterwards."""
    warehouse_path: Path | str | None = None
    """SQLite file standing in for the data warehouse CSV runs load into. Default: in memory, or next to db_path
    (``state.sqlite`` -> ``state-warehouse.sqlite``). Emptied whenever the state database is new, so deleting the
    state database resets both."""
    crm_path: Path | str | None = None
    """SQLite file of the CRM database (remote host 3002) Dbsync imports read and export to. Default: in memory, or
    next to db_path. Ignored when ``postgres_url`` is set."""
    postgres_url: str | None = None
    """A PostgreSQL database (``postgresql://user@host:port/db``) to be the CRM host instead of SQLite; the sandbox
    creates and fills its demo schemas and one role per credential there unless they exist (needs the
    ``sandbox-postgres`` extra and a user that may create roles)."""
    api_key: str = DEFAULT_API_KEY
    caller_id: int | None = None
    """The demo user the API key belongs to (default: ``demo.DEMO_USER_ID``)."""
    user_keys: tuple[tuple[str, int], ...] = ()
    """More keys, each of another demo user who then acts with their own permissions (``KEY=USER_ID``)."""
    run_step_seconds: float = 0.2
    """Seconds a run spends queued, and then running, before it does its work."""
    manual_clock: bool = False
    """For tests: runs move a step only when the test calls ``RunClock.advance`` (``run_step_seconds`` unused)."""
    rate_limit_per_minute: int = 10_000
    faults: FaultConfig = field(default_factory=FaultConfig)
    seed: int = 0
    """Seed of the fault dice."""
    seed_demo_data: bool = True
    """Seed demo data into a new (empty) state database."""

    def __post_init__(self) -> None:
        if self.run_step_seconds < 0:
            raise ValueError("run_step_seconds must not be negative.")
        if self.rate_limit_per_minute < 1:
            raise ValueError("rate_limit_per_minute must be at least 1.")
        if not self.api_key:
            raise ValueError("api_key must not be empty.")
        keys = [self.api_key, *(key for key, _ in self.user_keys)]
        if any(not key for key in keys) or len(set(keys)) != len(keys):
            raise ValueError("every sandbox key must be non-empty and different from the others.")

    @property
    def resolved_warehouse_path(self) -> str:
        """Where the warehouse lives: the explicit path, a file beside db_path, or memory."""
        if self.warehouse_path is not None:
            return str(self.warehouse_path)
        if self.db_path is not None:
            db = Path(self.db_path)
            return str(db.with_name(f"{db.stem}-warehouse.sqlite"))
        return ":memory:"

    @property
    def resolved_crm_path(self) -> str:
        """Where the CRM's SQLite database lives: the explicit path, a file beside db_path, or memory."""
        if self.crm_path is not None:
            return str(self.crm_path)
        if self.db_path is not None:
            db = Path(self.db_path)
            return str(db.with_name(f"{db.stem}-crm.sqlite"))
        return ":memory:"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> SandboxConfig:
        """A config from the ``CIVIS_SANDBOX_*`` variables (see the module docstring), then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {"faults": FaultConfig.from_env(env)}
        step = _number(env, "CIVIS_SANDBOX_RUN_STEP_SECONDS")
        if step is not None:
            values["run_step_seconds"] = step
        for name, variable in (("rate_limit_per_minute", "CIVIS_SANDBOX_RATE_LIMIT"), ("seed", "CIVIS_SANDBOX_SEED")):
            number = _number(env, variable)
            if number is not None:
                values[name] = int(number)
        postgres_url = env.get("CIVIS_SANDBOX_POSTGRES_URL", "").strip()
        if postgres_url:
            values["postgres_url"] = postgres_url
        user_keys = env.get("CIVIS_SANDBOX_USER_KEYS", "").strip()
        if user_keys:
            values["user_keys"] = parse_user_keys(user_keys.split(","))
        values.update(overrides)
        return cls(**values)


def _number(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}.") from None


def parse_user_keys(pairs: list[str]) -> tuple[tuple[str, int], ...]:
    """``KEY=USER_ID`` pairs (``CIVIS_SANDBOX_USER_KEYS``, ``--user-key``)."""
    parsed: list[tuple[str, int]] = []
    for pair in pairs:
        key, sep, user = pair.strip().rpartition("=")
        if not sep or not key or not user.isdigit():
            raise ValueError(f"a sandbox user key is KEY=USER_ID, e.g. teammate-key=1002 (got {pair.strip()!r}).")
        parsed.append((key, int(user)))
    return tuple(parsed)
