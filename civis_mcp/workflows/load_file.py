"""``imports_load_file``: load a CSV file from the person's workspace into a table, in one call.

The tool function is one straight line (on 2026-07-28 clients, the roots and the confirmation are rounds of it):

1. **Roots**: ask the client for its MCP roots (``roots/list``), when it declares that capability.
2. **Inspect**: check the path against the roots and the operator's ``--allow-files`` directories, then sniff the
   file's head (``local_files``, ``csv_sniff``). Any refusal here is final: nothing has been read from the file.
3. **Confirm**: truncating or dropping a table destroys its rows, so the guard asks the human first
   (``guard.confirm_effect``: one question, a single-use ticket, the file re-inspected before acting).
4. **Body**: create the file import (``POST /imports/files``), stream the file to its ``uploadUri`` (``upload``),
   start the run, wait for it (``wait.wait_for_run``: bounded, and resumable with ``imports_wait_for_run``), then
   answer with the row counts read from the run's log, or with the diagnosis (``diagnose.diagnose``).

The answer carries facts about the file (size, encoding, delimiter, sanitised header names, row counts), never its
rows. The run's error and log lines are left out too, since they can quote rows; ``imports_diagnose_run`` shows them
when the person wants them. Over HTTP the tool is not listed, and refuses if called anyway.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import BaseModel

from civis_mcp import models as m
from civis_mcp.api.errors import CivisMCPError
from civis_mcp.arguments import ArgumentError, validate_arguments
from civis_mcp.audit import Decision
from civis_mcp.effects import Assessment, Effect, quoted
from civis_mcp.execution import error_result
from civis_mcp.guard import Refusal, Round, carry_only, confirm_effect, current_round, spend_ticket
from civis_mcp.models.base import RequestModel
from civis_mcp.operations import OPERATIONS_BY_TOOL, Operation
from civis_mcp.presenting import explain, present
from civis_mcp.results import bound
from civis_mcp.sdk_seam import can_list_roots, list_roots_in_call, roots_of, roots_required
from civis_mcp.state import AppState
from civis_mcp.workflows.csv_sniff import sniff
from civis_mcp.workflows.diagnose import diagnose
from civis_mcp.workflows.kinds import KIND_TOOLS, Kind, as_model
from civis_mcp.workflows.load_confirm import destructive_effect
from civis_mcp.workflows.load_models import FileFacts, LoadDiagnosis, LoadFileParams, LoadResult
from civis_mcp.workflows.local_files import FileLimits, LocalFile, allowed_directories, find_file, open_checked
from civis_mcp.workflows.logs import tail
from civis_mcp.workflows.models import Cause, DiagnoseParams, WaitParams
from civis_mcp.workflows.runs import WorkflowError
from civis_mcp.workflows.upload import stream_upload
from civis_mcp.workflows.wait import wait_for_run

__all__ = ["TOOL", "make_load_file_tool"]

TOOL = "imports_load_file"
_ROOTS_KEY = "roots"
LOG_LINES_FOR_COUNTS = 200
_CREATE = OPERATIONS_BY_TOOL["imports_post_files"]
_START = OPERATIONS_BY_TOOL[KIND_TOOLS[Kind.FILE].start or "imports_post_files_runs"]
_LOADED = re.compile(r"\bloaded ([\d,]+) rows?\b|\b([\d,]+) rows? in total\b", re.I)
_REJECTED = re.compile(r"\b([\d,]+) rows? rejected\b|\b([\d,]+) rejected rows?\b", re.I)
_NEXT_STEP: dict[Cause, str] = {
    "table_exists": "The table exists: call again with existing_table_rows='append' (or 'truncate'/'drop', which "
    "ask the human first).",
    "delimiter_or_column_count": "Call again with the right column_delimiter, or fix the rows with a different "
    "number of fields.",
    "header_mismatch": "Call again with first_row_is_header set the other way.",
    "existing_table_differs": "The file's columns differ from the table's: load into a new table, or use 'drop'.",
    "type_conversion": "Some values do not fit the column types: fix them, or call again with max_errors set.",
    "compression": "Check that a .gz file really is gzip, and that other files are not compressed.",
}


@dataclass(frozen=True)
class _Inspected:
    params: LoadFileParams | None = None
    file: LocalFile | None = None
    facts: FileFacts | None = None
    question: str | None = None
    """The confirmation question, when the load can destroy rows."""
    refusal: str | None = None


def _over_http(ctx: Context[AppState, Any]) -> bool:
    # Belt and braces: the catalog already leaves the tool out over HTTP; HTTP requests carry headers, stdio ones not.
    return not ctx.request_context.lifespan_context.local_files.enabled or ctx.headers is not None


def _has_roots(ctx: Context[AppState, Any]) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.roots is not None


def _no_directories(has_roots: bool, ignored: tuple[str, ...]) -> str:
    why = f" (not used: {'; '.join(ignored)})" if ignored else ""
    if has_roots:
        return (
            f"the client shares no usable workspace folder (MCP roots){why}, so no local file may be read. Nothing was "
            "read. Open the folder that holds the file as the workspace, or an operator can allow a directory with "
            "`civis-mcp serve --allow-files DIR` (CIVIS_MCP_ALLOW_FILES)."
        )
    return (
        "this client does not tell the server which folders it may read (it has no MCP roots capability), so no "
        f"local file may be read{why}. Nothing was read. Use a client that shares its workspace as MCP roots (such "
        "as VS Code), or an operator can allow a directory with `civis-mcp serve --allow-files DIR` "
        "(CIVIS_MCP_ALLOW_FILES)."
    )


def _limits(state: AppState) -> FileLimits:
    return FileLimits(max_bytes=state.local_files.max_bytes, types=state.local_files.types)


def inspect_request(arguments: dict[str, Any], ctx: Context[AppState, Any], roots: list[str]) -> _Inspected:
    """Check the arguments, the path and the file's head; a refusal says what to do. Reads only the file's head."""
    state = ctx.request_context.lifespan_context
    if _over_http(ctx):
        return _Inspected(
            refusal="it is not offered over HTTP: a server never reads its own disk for a remote caller. Nothing "
            "was read. Upload the file with imports_post_files from the machine that has it."
        )
    try:
        validated = validate_arguments(TOOL, LoadFileParams, arguments)
    except ArgumentError as exc:
        return _Inspected(refusal=str(exc))
    assert isinstance(validated, LoadFileParams)  # validate_arguments returns an instance of the model it was given
    params = validated
    allowed = allowed_directories(roots, state.local_files.directories)
    if not allowed.directories:
        return _Inspected(params, refusal=_no_directories(_has_roots(ctx), allowed.ignored))
    try:
        file = find_file(params.path, allowed, _limits(state))
        sniffed = sniff(file, delimiter=params.column_delimiter, first_row_is_header=params.first_row_is_header)
    except WorkflowError as exc:
        return _Inspected(params, refusal=str(exc))
    except OSError as exc:
        return _Inspected(params, refusal=f"the file could not be read ({exc.strerror}). Nothing was sent.")
    facts = FileFacts(
        path=str(file.path),
        size_bytes=file.size,
        compressed=file.compressed,
        encoding=sniffed.encoding,
        column_delimiter=sniffed.delimiter,
        first_row_is_header=sniffed.first_row_is_header,
        columns=sniffed.columns,
        header=sniffed.header,
        rows=sniffed.rows,
        rows_exact=sniffed.rows_exact,
    )
    return _Inspected(params, file, facts, destructive_effect(params, facts))


class _Progress:
    """One progress scale for the whole call (0-100: upload to 50, run to 100); MCP progress must only go up."""

    def __init__(self, report: Callable[[float, float, str], Awaitable[None]]) -> None:
        self._report = report
        self._last = 0.0

    async def __call__(self, start: float, span: float, fraction: float, message: str) -> None:
        value = max(self._last, start + span * min(max(fraction, 0.0), 1.0))
        self._last = value
        await self._report(value, 100.0, message)


def _audit(
    state: AppState, arguments: dict[str, Any], decision: Decision, status: int | None = None, detail: str = ""
) -> None:
    """One audit line under this tool's name; ``detail`` names the step (each write it sends, or the refusal)."""
    if state.audit is not None:
        state.audit.record(TOOL, arguments, decision, status, detail)


async def _call(
    state: AppState, op: Operation, params: RequestModel, arguments: dict[str, Any], decision: Decision
) -> dict[str, Any]:
    """Send one write of the workflow, with its audit line."""
    try:
        result = await state.client.call(op, params)
    except CivisMCPError as exc:
        failure = explain(exc, state.client.redact)
        _audit(state, arguments, decision, getattr(exc, "status_code", None), f"{op.tool_name} failed: {failure}")
        raise
    _audit(state, arguments, decision, result.status_code, f"{op.tool_name} {params.to_wire()}")
    return result.data if isinstance(result.data, dict) else {}


def _number(match: re.Match[str]) -> int:
    return int(next(group for group in match.groups() if group).replace(",", ""))


async def _row_counts(state: AppState, import_id: int, run_id: int, succeeded: bool) -> tuple[int | None, int | None]:
    """Rows loaded and rejected, as the run's log states them (the lines themselves stay here)."""
    logs = KIND_TOOLS[Kind.FILE].logs
    assert logs is not None
    window = await tail(state, logs, import_id, run_id, LOG_LINES_FOR_COUNTS)
    loaded: int | None = None
    rejected: int | None = None
    for line in window.lines:
        text = line.message
        if found := _LOADED.search(text):
            loaded = _number(found)
        if found := _REJECTED.search(text):
            rejected = _number(found)
    if succeeded and loaded is not None and rejected is None:
        rejected = 0
    return loaded, rejected


async def _load(
    state: AppState, inspected: _Inspected, decision: Decision, arguments: dict[str, Any], progress: _Progress
) -> LoadResult:
    params, file, facts = inspected.params, inspected.file, inspected.facts
    assert params is not None and file is not None and facts is not None
    os.close(open_checked(file))  # still the file that was checked (and shown), before anything is created
    create = {
        "schema": params.schema,
        "name": params.table,
        "remote_host_id": params.remote_host_id,
        "credential_id": params.credential_id,
        "existing_table_rows": params.existing_table_rows,
        "column_delimiter": facts.column_delimiter,
        "first_row_is_header": facts.first_row_is_header,
        "hidden": True,  # as civis-python does for uploads: the import is a means, not something to keep
    }
    if params.max_errors is not None:
        create["max_errors"] = params.max_errors
    created = await _call(state, _CREATE, m.CreateFileImportParams.model_validate(create), arguments, decision)
    upload = as_model(_CREATE.tool_name, m.FileUpload, created)
    if upload.id is None or not upload.upload_uri:
        raise WorkflowError("Civis created the file import but answered without an upload URI; nothing was uploaded.")
    import_id = upload.id

    async def uploaded(done: int, total: int) -> None:
        await progress(0, 50, done / total, f"Uploaded {done:,} of {total:,} bytes.")

    try:
        sent = await stream_upload(upload.upload_uri, file, uploaded)
    except WorkflowError as exc:
        raise WorkflowError(f"{exc} File import {import_id} was created but not run; nothing was loaded.") from None
    started = await _call(state, _START, m.ImportIdParams(id=import_id), arguments, decision)
    run_id = as_model(_START.tool_name, m.FileImportRun, started).id
    if run_id is None:
        raise WorkflowError(f"Civis started file import {import_id} but answered without a run ID.")

    async def waiting(done: float, total: float, message: str) -> None:
        await progress(50, 50, done / total if total else 1.0, message)

    wait = WaitParams(import_id=import_id, run_id=run_id, kind="file", timeout_seconds=params.timeout_seconds)
    waited = await wait_for_run(state, wait, waiting)
    run = waited.run.model_copy(update={"error": None})
    common: dict[str, Any] = {
        "file": facts,
        "destination": f"{params.schema}.{params.table}",
        "existing_table_rows": params.existing_table_rows,
        "import_id": import_id,
        "run_id": run_id,
        "uploaded_bytes": sent,
        "run": run,
        "finished": waited.finished,
        "waited_seconds": round(waited.waited_seconds, 1),
    }
    resume = f"import_id={import_id}, run_id={run_id}, kind='file'"
    if not waited.finished:
        return LoadResult(
            **common,
            outcome="still_running",
            note=f"The file was uploaded and run {run_id} is still {run.state}. Call imports_wait_for_run with "
            f"{resume} to keep waiting (do not call {TOOL} again: that would load the file twice).",
        )
    loaded, rejected = await _row_counts(state, import_id, run_id, run.state == "succeeded")
    if run.state == "succeeded":
        counts = "" if loaded is not None else " The run's log does not state how many rows were loaded."
        return LoadResult(
            **common,
            outcome="succeeded",
            rows_loaded=loaded,
            rows_rejected=rejected,
            note=f"Loaded into {params.schema}.{params.table}.{counts}",
        )
    if run.state == "cancelled":
        return LoadResult(**common, outcome="cancelled", rows_rejected=rejected, note=f"Run {run_id} was cancelled.")
    diagnosis = await diagnose(state, DiagnoseParams(import_id=import_id, run_id=run_id, kind="file"))
    step = _NEXT_STEP.get(diagnosis.cause, "")
    return LoadResult(
        **common,
        outcome="failed",
        rows_loaded=0,
        rows_rejected=rejected,
        diagnosis=LoadDiagnosis(cause=diagnosis.cause, summary=diagnosis.summary, fix=diagnosis.fix),
        note=f"{step} The run's error and log lines are not shown here because they can quote rows of the file; "
        f"imports_diagnose_run with {resume} shows them.".strip(),
    )


def _assessment(inspected: _Inspected) -> Assessment:
    """The load's effect, in the guard's terms: truncating or dropping the table destroys its rows."""
    params, facts = inspected.params, inspected.facts
    assert params is not None and facts is not None
    question = inspected.question
    if question is None:
        return Assessment(action=f"load {facts.path} into {params.schema}.{params.table}")
    return Assessment(
        action=f"load a local file into table {quoted(f'{params.schema}.{params.table}', 120)} with "
        f"existing_table_rows={params.existing_table_rows}",
        effects=frozenset({Effect.DESTROYS}),
        facts=(question,),
    )


def make_load_file_tool() -> Callable[..., Awaitable[BaseModel | CallToolResult | InputRequiredResult]]:
    """The tool function of ``imports_load_file``: roots, inspection, the guard's confirmation, then the load."""

    async def run(
        arguments: dict[str, Any], ctx: Context[AppState, Any]
    ) -> BaseModel | CallToolResult | InputRequiredResult:
        state = ctx.request_context.lifespan_context
        rnd = current_round(ctx, TOOL)
        try:
            await spend_ticket(state, rnd)
            found = await _roots(ctx, rnd)
            if isinstance(found, InputRequiredResult):
                return found
            inspected = inspect_request(arguments, ctx, found)
            if inspected.refusal is not None:
                _audit(state, arguments, Decision.INVALID_ARGUMENTS, detail=inspected.refusal)
                return error_result(f"{TOOL} was not run: {inspected.refusal}")
            assessment = _assessment(inspected)
            decision = Decision.NOT_GUARDED
            if assessment.effects:

                async def reassess() -> Assessment:
                    again = inspect_request(arguments, ctx, found)
                    if again.refusal is not None:
                        return Assessment(action=assessment.action, nothing_to_do=again.refusal)
                    return _assessment(again)

                confirmed = await confirm_effect(
                    TOOL,
                    assessment,
                    ctx,
                    rnd,
                    reassess,
                    carry={"roots": found},
                    instead="use existing_table_rows='append' or 'fail'; or ",
                )
                if isinstance(confirmed, InputRequiredResult):
                    return confirmed
                decision = confirmed
        except Refusal as refusal:
            _audit(state, arguments, refusal.decision, detail=refusal.reason)
            return error_result(f"{TOOL} was not run: {refusal.reason} Nothing was uploaded and no table was changed.")

        async def report(done: float, total: float, message: str) -> None:
            await ctx.report_progress(done, total, message)

        try:
            result = await _load(state, inspected, decision, arguments, _Progress(report))
        except WorkflowError as exc:
            return error_result(f"{TOOL}: {exc}")
        except CivisMCPError as exc:
            return error_result(f"{TOOL}: {explain(exc, state.client.redact)}")
        bounded = bound(result, state.result_budget, lambda _, kept: "Nothing more can be fetched.")
        return present(
            bounded, f"The result of {TOOL} (its strings came from Civis, or are header names from the file)"
        )

    run.__annotations__ = {"arguments": dict[str, Any], "ctx": Context[AppState, Any], "return": BaseModel}
    run.__name__ = TOOL
    return run


async def _roots(ctx: Context[AppState, Any], rnd: Round) -> list[str] | InputRequiredResult:
    """The client's root URIs: asked mid-call on older protocols, in a round of their own from 2026-07-28 (then
    carried, sealed, to the confirmation round). Empty when the client has no roots capability, or over HTTP."""
    if not can_list_roots(ctx) or _over_http(ctx):
        return []
    if not rnd.in_rounds:
        return await list_roots_in_call(ctx)
    carried = rnd.carry.get("roots")
    if isinstance(carried, list) and all(isinstance(uri, str) for uri in carried):
        return carried
    answered = roots_of(rnd.answers.get(_ROOTS_KEY))
    if answered is not None:
        return answered
    return roots_required(_ROOTS_KEY, carry_only(TOOL, {}))
