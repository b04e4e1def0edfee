"""How many rows a run loaded and rejected, when its log says so.

Civis reports row counts in a run's log, not in the run object, so the counts are read from the last lines of the
log, newest first: the first line that states a total wins. Only the wordings below are trusted; a log that says
nothing of the kind gives None, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from civis_mcp.api.errors import CivisMCPError
from civis_mcp.state import AppState
from civis_mcp.workflows.kinds import KIND_TOOLS, Kind
from civis_mcp.workflows.logs import tail
from civis_mcp.workflows.models import LogLine, RowCounts

__all__ = ["counts_in", "read_row_counts", "row_counts"]

LINES_READ = 50
_NUMBER = r"(\d[\d,]*)"
_LOADED = (
    re.compile(rf"\bloaded {_NUMBER} rows?\b", re.I),
    re.compile(rf"\b{_NUMBER} rows? (?:loaded|in total)\b", re.I),
)
_NONE_LOADED = re.compile(r"\bno rows were loaded\b", re.I)
_REJECTED = (
    re.compile(rf"\b{_NUMBER} rows? rejected\b", re.I),
    re.compile(rf"\b{_NUMBER} rejected rows?\b", re.I),
    re.compile(rf"\b{_NUMBER} row\(s\) failed to load\b", re.I),
)


def _first(patterns: Sequence[re.Pattern[str]], text: str) -> int | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return int(match.group(1).replace(",", ""))
    return None


def row_counts(messages: Iterable[str]) -> RowCounts | None:
    """The counts stated by ``messages`` (oldest first); None when none is stated."""
    loaded: int | None = None
    rejected: int | None = None
    for message in reversed(list(messages)):
        if loaded is None:
            loaded = 0 if _NONE_LOADED.search(message) else _first(_LOADED, message)
        if rejected is None:
            rejected = _first(_REJECTED, message)
        if loaded is not None and rejected is not None:
            break
    if loaded is None and rejected is None:
        return None
    return RowCounts(rows_loaded=loaded, rows_rejected=rejected)


def counts_in(lines: Iterable[LogLine]) -> RowCounts | None:
    return row_counts(line.message for line in lines)


async def read_row_counts(state: AppState, kind: Kind, import_id: int, run_id: int) -> RowCounts | None:
    """The counts in the last lines of a run's log (one or two requests); None for a kind without logs, or when the
    log cannot be read: the counts add to an answer, they never make it fail."""
    tool = KIND_TOOLS[kind].logs
    if tool is None:
        return None
    try:
        window = await tail(state, tool, import_id, run_id, LINES_READ)
    except CivisMCPError:
        return None
    return counts_in(window.lines)
