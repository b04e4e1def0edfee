"""The closed sets the whole server speaks in, defined once: kinds of import, what an operation does for its kind,
toolsets, run states and log levels.

This module imports nothing of civis-mcp, so the catalog (at start-up), the models, the operations table, the
workflows and the sandbox can all read from it without loading each other.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

__all__ = [
    "ENDED_RUN_STATES",
    "LOG_LEVEL_RANK",
    "Kind",
    "KindName",
    "LogLevel",
    "Role",
    "RunState",
    "SeverityLevel",
    "Toolset",
    "at_least_level",
]


class Kind(StrEnum):
    """The four kinds of import: each has its own endpoints for the same questions."""

    IMPORT = "import"  # an import job: Dbsync, AutoImport, GdocImport
    CSV = "csv"
    FILE = "file"
    BATCH = "batch"


KindName = Literal["import", "csv", "file", "batch"]
"""``Kind``'s values as a closed set of argument values (a tool argument's schema lists them inline)."""
if set(get_args(KindName)) != {kind.value for kind in Kind}:  # pragma: no cover - fails at import, loudly
    raise RuntimeError("KindName and Kind disagree")


class Role(StrEnum):
    """What an operation does for its kind of import; the workflows pick their tools by kind and role."""

    GET = "get"
    LIST_RUNS = "list_runs"
    GET_RUN = "get_run"
    LOGS = "logs"
    FIX = "fix"
    """Changes the import's own settings."""
    START = "start"
    """Starts a run."""
    CANCEL = "cancel"
    """Cancels a run."""
    FIX_SYNC = "fix_sync"
    """Changes one sync's settings (import jobs and file imports keep their settings on syncs)."""


class Toolset(StrEnum):
    """Groups of tools an operator can switch on together."""

    IMPORTS = "imports"  # import jobs (Dbsync, AutoImport, GdocImport) and their syncs
    CSV = "csv"  # CSV imports
    FILES = "files"  # file imports and batch imports
    RUNS = "runs"  # starting, watching and cancelling runs; run logs and inputs
    SHARING = "sharing"  # shares, ownership transfer, dependencies
    PROJECTS = "projects"  # project membership


RunState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ENDED_RUN_STATES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
"""Run states after which a run changes no more."""

LogLevel = Literal["unknown", "fatal", "error", "warn", "info", "debug"]
"""A log line's level as Civis reports it (from the prose of the log's level)."""
SeverityLevel = Literal["debug", "info", "warn", "error", "fatal"]
"""The levels a reader can filter on ("unknown" has no place in the order)."""
LOG_LEVEL_RANK: dict[str, int] = {"unknown": 0, "debug": 1, "info": 2, "warn": 3, "error": 4, "fatal": 5}
"""Severity order of the levels; a level Civis may add later ranks with "unknown"."""


def at_least_level(level: str | None, floor: SeverityLevel) -> bool:
    """Whether a line of ``level`` (as reported, possibly unknown) is at ``floor`` or more severe."""
    return LOG_LEVEL_RANK.get(str(level), 0) >= LOG_LEVEL_RANK[floor]
