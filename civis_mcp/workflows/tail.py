"""``imports_tail_logs``: the last lines of a run's log, or the lines after a cursor, filtered by level."""

from __future__ import annotations

from civis_mcp.state import AppState
from civis_mcp.untrusted import one_line
from civis_mcp.vocabulary import LOG_LEVEL_RANK
from civis_mcp.workflows.kinds import KIND_TOOLS, Kind, find_kind
from civis_mcp.workflows.logs import read_after, tail
from civis_mcp.workflows.models import LogLine, TailParams, TailResult
from civis_mcp.workflows.runs import WorkflowError, find_run

__all__ = ["tail_logs"]

MAX_LINE = 1_000


async def tail_logs(state: AppState, params: TailParams) -> TailResult:
    found = await find_kind(state, params.import_id, Kind(params.kind) if params.kind else None)
    if found is None:
        raise WorkflowError(f"No import of any kind with ID {params.import_id} is visible to this user.")
    kind = found[0]
    tool = KIND_TOOLS[kind].logs
    if tool is None:
        raise WorkflowError(
            f"{kind.value.capitalize()} imports have no run logs; use imports_diagnose_run to read the state and error."
        )
    run, _ = await find_run(state, kind, params.import_id, params.run_id, prefer_failed=False)
    assert run.id is not None
    if params.after_id is not None:
        window = await read_after(state, tool, params.import_id, run.id, params.after_id, params.lines, params.level)
        note = None if window.lines else "No lines after that cursor yet."
    else:
        window = await tail(state, tool, params.import_id, run.id, params.lines, params.level)
        note = (
            None if window.complete else "Earlier lines were not read; pass after_id=0 to read the log from its start."
        )
    lines = [line.model_copy(update={"message": one_line(line.message, MAX_LINE)}) for line in window.lines]
    lines, dropped = _fit(lines, state.result_budget - 1_000, keep_newest=params.after_id is None)
    if dropped:
        note = (
            f"{dropped} older line(s) left out to fit the result budget; pass after_id to read them in parts."
            if params.after_id is None
            else f"{dropped} line(s) left out to fit the result budget; call again with after_id={lines[-1].id}."
        )
    next_after = lines[-1].id if dropped and params.after_id is not None and lines else window.next_after_id
    filtered_out = dict(window.filtered) if params.level and window.filtered else None
    if filtered_out:
        note = " ".join(filter(None, [note, _filtered_note(filtered_out, params.level, window.examined)]))
    return TailResult(
        kind=kind,
        import_id=params.import_id,
        run_id=run.id,
        lines=lines,
        examined=window.examined,
        complete=window.complete and not dropped,
        next_after_id=next_after,
        filtered_out=filtered_out,
        note=note,
    )


def _filtered_note(filtered: dict[str, int], level: str | None, examined: int) -> str:
    """How many lines ``level`` left out, and the level to ask for to see the most important of them."""
    counts = ", ".join(f"{count} {name}" for name, count in sorted(filtered.items(), key=_rank, reverse=True))
    highest = max(filtered, key=lambda name: LOG_LEVEL_RANK.get(name, 0))
    see = f" level='{highest}' shows the {highest} lines." if highest in LOG_LEVEL_RANK and highest != "unknown" else ""
    return f"level='{level}' left out {sum(filtered.values())} of the {examined} lines examined ({counts});{see}"


def _rank(item: tuple[str, int]) -> int:
    return LOG_LEVEL_RANK.get(item[0], 0)


def _fit(lines: list[LogLine], budget: int, keep_newest: bool) -> tuple[list[LogLine], int]:
    """The lines that fit ``budget`` JSON characters: the newest for a tail, the first after a cursor."""
    ordered = list(reversed(lines)) if keep_newest else list(lines)
    kept: list[LogLine] = []
    used = 0
    for line in ordered:
        used += len(line.model_dump_json()) + 1
        if used > budget:
            break
        kept.append(line)
    if keep_newest:
        kept.reverse()
    return kept, len(lines) - len(kept)
