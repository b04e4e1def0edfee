"""``imports_wait_for_run``: poll a run until it ends, with progress notifications to the client.

Polling backs off (``WaitSchedule``: by default 0.25, 0.5, 1, 2, 4, 8, then every 10 s) so a short run is seen ending
within a quarter of a second and a long run costs few requests; the first pause is a setting
(``CIVIS_MCP_WAIT_FIRST_POLL``), the rest follow from it. A client that cancels the call cancels the wait at the next
await: nothing is left running.

One call waits at most ``timeout_seconds``, 25 s by default: over HTTP a proxy with an idle timeout (60 s is common)
drops a response that takes longer, and the result is lost. While it waits it sends a progress notification at least
every ``KEEPALIVE_SECONDS``, so a stream that carries them is never idle that long. A run still going at the end is
reported with the exact call that goes on waiting for the same run.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from civis_mcp.config import LONGEST_WAIT_PAUSE
from civis_mcp.state import AppState
from civis_mcp.untrusted import fence_inline
from civis_mcp.vocabulary import ENDED_RUN_STATES
from civis_mcp.workflows.kinds import Kind, find_kind
from civis_mcp.workflows.models import RowCounts, WaitParams, WaitResult
from civis_mcp.workflows.rows import read_row_counts
from civis_mcp.workflows.runs import WorkflowError, find_run, read_run

__all__ = ["WaitSchedule", "wait_for_run"]

Progress = Callable[[float, float, str], Awaitable[None]]
KEEPALIVE_SECONDS = 5.0


@dataclass(frozen=True)
class WaitSchedule:
    """When to re-poll a run: ``first`` seconds after the first read, each pause ``factor`` times the one before,
    never more than ``longest``."""

    first: float
    factor: float = 2.0
    longest: float = LONGEST_WAIT_PAUSE

    def __post_init__(self) -> None:
        if not (0 < self.first <= self.longest and self.factor >= 1):
            raise ValueError("a wait schedule needs 0 < first <= longest and factor >= 1.")

    def next(self, interval: float) -> float:
        return min(interval * self.factor, self.longest)


async def wait_for_run(
    state: AppState,
    params: WaitParams,
    progress: Progress,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> WaitResult:
    found = await find_kind(state, params.import_id, Kind(params.kind) if params.kind else None)
    if found is None:
        raise WorkflowError(f"No import of any kind with ID {params.import_id} is visible to this user.")
    kind = found[0]
    run, _ = await find_run(state, kind, params.import_id, params.run_id, prefer_failed=False)
    if run.id is None:
        raise WorkflowError(f"The latest run of import {params.import_id} has no ID.")
    started = time.monotonic()

    async def report() -> float:
        waited = time.monotonic() - started
        message = (
            f"Run {run.id} is {fence_inline(str(run.state), 40)} after {waited:.0f} s."  # the state came from Civis
        )
        await progress(min(waited, params.timeout_seconds), params.timeout_seconds, message)
        return waited

    schedule = WaitSchedule(first=state.settings.wait_first_poll)
    interval = schedule.first
    while True:
        waited = await report()
        if run.state in ENDED_RUN_STATES:
            rows = await read_row_counts(state, kind, params.import_id, run.id)
            return WaitResult(
                kind=kind,
                import_id=params.import_id,
                run=run,
                finished=True,
                waited_seconds=waited,
                rows=rows,
                note=f"Run {run.id} ended: {run.state}.{_rows_sentence(rows)}",
            )
        remaining = params.timeout_seconds - waited
        if remaining <= 0:
            return WaitResult(
                kind=kind,
                import_id=params.import_id,
                run=run,
                finished=False,
                waited_seconds=waited,
                note=f"Run {run.id} is still {run.state} after {waited:.0f} s. To keep waiting, call "
                f"{_same_wait(params, run.id)} again.",
            )
        pause = min(interval, remaining)  # the last poll lands on the deadline, not an interval before it
        while pause > KEEPALIVE_SECONDS:  # a long pause is cut into slices, each followed by a progress message
            await sleep(KEEPALIVE_SECONDS)
            pause -= KEEPALIVE_SECONDS
            await report()
        await sleep(pause)
        interval = schedule.next(interval)
        run = await read_run(state, kind, params.import_id, run.id)


def _rows_sentence(rows: RowCounts | None) -> str:
    if rows is None:
        return ""
    parts = [
        f"{count:,} row(s) {what}"
        for count, what in ((rows.rows_loaded, "loaded"), (rows.rows_rejected, "rejected"))
        if count is not None
    ]
    return f" Its log says: {', '.join(parts)}."


def _same_wait(params: WaitParams, run_id: int) -> str:
    """The call that goes on waiting for the same run, with the arguments of this one."""
    arguments = [f"import_id={params.import_id}", f"run_id={run_id}"]
    if params.kind is not None:
        arguments.append(f"kind={params.kind!r}")
    if "timeout_seconds" in params.model_fields_set:
        arguments.append(f"timeout_seconds={params.timeout_seconds:g}")
    return f"imports_wait_for_run({', '.join(arguments)})"
