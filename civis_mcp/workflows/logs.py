"""Reading a run's log without pulling it all: the last N lines, or the lines after a cursor.

The API returns the lines after ``last_id`` in id order, at most ``limit`` at a time, and says the run's highest log
id in ``Civis-Max-Id``. To read the end of a long log, ``tail`` looks for a starting id with few requests (a window
that grows four times each step, back from the highest id) and then reads forward from there, keeping only the last
N lines: memory stays bounded by N, and a 200,000-line log costs a handful of requests. Without the header it reads
forward from the start, still keeping only N lines.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from civis_mcp.models.common import LogEntry
from civis_mcp.state import AppState
from civis_mcp.vocabulary import SeverityLevel, at_least_level
from civis_mcp.workflows.kinds import read_list
from civis_mcp.workflows.models import LogLine

__all__ = ["LogWindow", "read_after", "tail"]

PAGE = 1_000


@dataclass
class LogWindow:
    """Log lines read from a run, and what was not read."""

    lines: list[LogLine]
    """In id order; messages whole (each reader shortens them for its answer)."""
    examined: int
    """How many lines were looked at (before any level filter)."""
    max_id: int | None
    """The run's highest log id, when Civis said it."""
    complete: bool
    """True when every line of the run (so far) was examined."""
    next_after_id: int | None = None
    """Cursor for the lines after the last one examined."""
    filtered: Counter[str] = field(default_factory=Counter)
    """Lines examined but left out by the level filter, by their level."""


def _matches(line: LogLine, level: SeverityLevel | None) -> bool:
    return level is None or at_least_level(line.level, level)


async def _page(
    state: AppState, tool: str, import_id: int, run_id: int, after: int, limit: int
) -> tuple[list[LogLine], int | None]:
    """One page of lines after ``after``, in id order; a line without an id cannot be placed, so it is left out."""
    listed = await read_list(state.client, tool, LogEntry, id=import_id, run_id=run_id, last_id=after, limit=limit)
    lines = [
        LogLine(id=entry.id, level=entry.level, created_at=entry.created_at, message=entry.message or "")
        for entry in listed.items
        if entry.id is not None
    ]
    lines.sort(key=lambda line: line.id)
    return lines, listed.answer.max_log_id


async def read_after(
    state: AppState,
    tool: str,
    import_id: int,
    run_id: int,
    after_id: int,
    count: int,
    level: SeverityLevel | None = None,
    scan_limit: int = 50_000,
) -> LogWindow:
    """Up to ``count`` lines (at ``level`` or above) after ``after_id``, reading at most ``scan_limit`` lines."""
    found: list[LogLine] = []
    filtered: Counter[str] = Counter()
    examined, cursor, max_id = 0, after_id, None
    while len(found) < count and examined < scan_limit:
        lines, max_id = await _page(state, tool, import_id, run_id, cursor, PAGE)
        for line in lines:
            examined += 1
            cursor = line.id
            if _matches(line, level):
                found.append(line)
                if len(found) == count:
                    break
            else:
                filtered[str(line.level)] += 1
        if len(lines) < PAGE:
            return LogWindow(found, examined, max_id, len(found) < count, cursor, filtered)
    return LogWindow(found, examined, max_id, complete=False, next_after_id=cursor, filtered=filtered)


async def _forward(
    state: AppState, tool: str, import_id: int, run_id: int, after: int, first: list[LogLine] | None = None
) -> AsyncIterator[list[LogLine]]:
    """Pages of lines after ``after``, in id order, until the end of the log (``first`` is the first page, if read)."""
    lines = first if first is not None else (await _page(state, tool, import_id, run_id, after, PAGE))[0]
    while True:
        yield lines
        if len(lines) < PAGE:
            return
        lines, _ = await _page(state, tool, import_id, run_id, lines[-1].id, PAGE)


async def tail(
    state: AppState,
    tool: str,
    import_id: int,
    run_id: int,
    count: int,
    level: SeverityLevel | None = None,
    scan_limit: int = 10_000,
) -> LogWindow:
    """The last ``count`` lines, or with ``level`` the last ``count`` at that level among the last ``scan_limit``."""
    window = count if level is None else max(count, scan_limit)
    first, max_id = await _page(state, tool, import_id, run_id, 0, PAGE)
    start = 0
    if len(first) == PAGE and max_id is not None and max_id - window > first[-1].id:
        start = await _find_start(state, tool, import_id, run_id, max_id, window)
    kept: deque[LogLine] = deque(maxlen=count)
    filtered: Counter[str] = Counter()
    examined, cursor = 0, start
    async for lines in _forward(state, tool, import_id, run_id, start, first if start == 0 else None):
        for line in lines:
            examined += 1
            cursor = line.id
            if _matches(line, level):
                kept.append(line)
            else:
                filtered[str(line.level)] += 1
    return LogWindow(list(kept), examined, max_id, start == 0, cursor or None, filtered)


async def _find_start(state: AppState, tool: str, import_id: int, run_id: int, max_id: int, window: int) -> int:
    """An id with at least ``window`` of the run's lines after it, found in few requests (0 if none is needed)."""
    want = min(window, 10_000)
    span = window
    while max_id - span > 0:
        probe, _ = await _page(state, tool, import_id, run_id, max_id - span, want)
        if len(probe) >= want:
            return max_id - span
        span *= 4
    return 0
