"""``imports_diagnose_run``: why did a run fail, and which tool call fixes it.

The diagnosis reads the run, the end of its log (bounded, see ``logs.tail``) and the import's settings, then
classifies the cause from the error text. Civis messages often name the fix themselves (``set
column_delimiter="pipe"``); those hints are taken first, then the wording of each cause class. The suggested fix is a
tool call with exact arguments, checked against that tool's own argument model before it is offered.

CSV imports are fixed with ``imports_patch_files_csv``. An import job's (or file import's) run fails in one sync and
says which ("Sync 411 (...) failed: ..."); its fix is ``imports_patch_syncs`` on that sync: an advanced option the log
names (``set wipe_destination_table=true``), the table or worksheet the log suggests ("Did you mean
public.donations?"), or, for rows that do not fit, ``max_errors``. Values taken from a log are only offered when they
are plain names. Causes a setting cannot fix (permission, a missing file or spreadsheet, a timeout, batches, which
cannot be changed) get no fix, and the diagnosis says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from civis_mcp.models.imports import AdvancedSyncOptionsInput, Import, Sync
from civis_mcp.operations import OPERATIONS_BY_TOOL
from civis_mcp.state import AppState
from civis_mcp.untrusted import one_line
from civis_mcp.vocabulary import at_least_level
from civis_mcp.workflows.kinds import KIND_TOOLS, Kind, as_model, find_kind, read
from civis_mcp.workflows.logs import tail
from civis_mcp.workflows.models import Cause, DiagnoseParams, Diagnosis, Fix, LogLine, RunFacts
from civis_mcp.workflows.rows import counts_in
from civis_mcp.workflows.runs import WorkflowError, find_run

__all__ = ["classify", "diagnose"]

LOG_WINDOW = 2_000
CONTEXT = 2
MAX_EVIDENCE = 12
_SET_HINT = re.compile(r"""\bset (\w+)\s*=\s*"?([\w.-]+)"?""")
_HEADER_PAIR = re.compile(r"column (\d+): '([^']*)' in the file, '([^']*)' in table_columns")
_FAILED_ROWS = re.compile(r"([\d,]+) row\(s\) failed to load")
_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_LARGE = 1_000


@dataclass(frozen=True)
class _Class:
    cause: Cause
    pattern: re.Pattern[str]
    fields: tuple[str, ...]
    summary: str


# Order matters: the first class whose words appear in the error wins.
_CLASSES = (
    _Class(
        "missing_file",
        re.compile(
            r"file \d+ not found|no such file|file .* (does not exist|is empty)|has not been uploaded|"
            r"no civis file with that id",
            re.I,
        ),
        ("source",),
        "A source file is missing or empty.",
    ),
    _Class(
        "not_found",
        re.compile(
            r"\b(relation|schema|table|spreadsheet|worksheet)\b[^.;]*?\b(does not exist|not found)\b|no such table",
            re.I,
        ),
        ("source",),
        "A table, schema, spreadsheet or worksheet the import names does not exist.",
    ),
    _Class(
        "compression",
        re.compile(r"gzip-compressed|not gzip|compression is|decompress|not in gzip format|gzip data is corrupt", re.I),
        ("compression",),
        "The compression setting does not match the file.",
    ),
    _Class(
        "header_mismatch",
        re.compile(r"header mismatch|header .* does not match|header of file .* differs", re.I),
        ("table_columns", "first_row_is_header"),
        "The file's header does not match table_columns.",
    ),
    _Class(
        "existing_table_differs",
        re.compile(r"do(es)? not match the existing (table|worksheet)", re.I),
        ("existing_table_rows", "table_columns"),
        "The file's columns differ from the existing table's.",
    ),
    _Class(
        "delimiter_or_column_count",
        re.compile(r"column count|delimit|extra column|1 column per row|columns? per row", re.I),
        ("column_delimiter", "table_columns"),
        "The rows do not split into the expected columns.",
    ),
    _Class(
        "table_exists",
        re.compile(r"already exists", re.I),
        ("existing_table_rows",),
        "The destination table already exists and the import is set to fail in that case.",
    ),
    _Class(
        "upsert_keys",
        re.compile(
            r"upsert.*primary.?keys|primary.?keys.*upsert|primary.?keys names|primary key column is empty", re.I
        ),
        ("existing_table_rows", "destination"),
        "Upsert needs primary keys that are columns of the table.",
    ),
    _Class(
        "missing_column",
        re.compile(r"is not a column of|\bcolumn\b[^.;]*\bdoes not exist", re.I),
        (),
        "A column the import's options name is not in the source table.",
    ),
    _Class(
        "row_count_mismatch",
        re.compile(r"row counts? (mismatch|differ)", re.I),
        (),
        "After the copy the destination's row count differed from the source's, and the sync verifies row counts.",
    ),
    _Class(
        "type_conversion",
        re.compile(
            r"is not a valid|out of range|too long for|failed to load|invalid input syntax|invalid digit|"
            r"conversion|could not convert",
            re.I,
        ),
        ("table_columns", "max_errors"),
        "Values in the file do not fit the column types.",
    ),
    _Class(
        "permission_or_credential",
        re.compile(r"permission|not authori[sz]ed|access denied|credential|authenticat|password|forbidden", re.I),
        ("destination",),
        "A credential or permission was refused; a credential with access fixes it (imports_patch: source or "
        "destination credential_id).",
    ),
    _Class(
        "upstream_timeout",
        re.compile(r"timed? ?out|timeout|deadline exceeded", re.I),
        (),
        "An upstream system timed out.",
    ),
)


# Names (quoted, or schema.table) are the user's words, not the error's: "events_compressed" must not read as a
# compression failure. They are blanked before the words of each class are looked for.
_NAMES = re.compile(r"(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"|\b(?!destination\.)[\w-]+\.[\w.-]+\b")


def classify(*texts: str) -> _Class | None:
    """The class of the first text (the run's error, then each error line) whose words match one."""
    for text in texts:
        neutral = _NAMES.sub(" ", text)
        for candidate in _CLASSES:
            if candidate.pattern.search(neutral):
                return candidate
    return None


def _fix_for(
    cause: Cause, text: str, kind: Kind, import_id: int, settings: dict[str, Any], sync: Sync | None
) -> Fix | None:
    start = KIND_TOOLS[kind].start
    then = f"Then start a new run with {start} (id={import_id}) and wait with imports_wait_for_run."
    if kind is Kind.CSV:
        tool = KIND_TOOLS[kind].fix
        built = _csv_change(cause, text, settings)
        arguments = {"id": import_id, **built[0]} if built else None
    elif kind in (Kind.IMPORT, Kind.FILE) and sync is not None and sync.id is not None:
        tool = KIND_TOOLS[kind].fix_sync
        built = _sync_change(cause, text, sync)
        arguments = {"id": import_id, "sync_id": sync.id, **built[0]} if built else None
    else:
        return None
    if tool is None or built is None or arguments is None:
        return None
    OPERATIONS_BY_TOOL[tool].params.model_validate(arguments)  # never offer a call the tool would refuse
    return Fix(tool=tool, arguments=arguments, explanation=built[1], then=then)


def _csv_change(cause: Cause, text: str, settings: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    builders: dict[Cause, Callable[[], tuple[dict[str, Any], str] | None]] = {
        "compression": lambda: _hinted(text, "compression"),
        "delimiter_or_column_count": lambda: _hinted(text, "column_delimiter"),
        "header_mismatch": lambda: _renamed_columns(text, settings),
        "table_exists": lambda: (
            {"existing_table_rows": "append"},
            'Append to the existing table ("truncate" or "drop" would replace its rows).',
        ),
        "type_conversion": lambda: _skip_bad_rows(text),
    }
    build = builders.get(cause)
    return build() if build else None


# The options of a sync that a log's "set <option>=<value>" may name, and what each does, for the explanation.
_SYNC_OPTIONS = set(AdvancedSyncOptionsInput.model_fields)
_OPTION_EFFECT = {
    "wipe_destination_table": "a full refresh: the destination table is made again from the source",
    "truncate_long_lines": "values too long for their column are cut to fit",
    "identity_column": "the column that identifies a row in incremental syncs",
    "last_modified_column": "the column that shows which rows changed",
    "export_action": "what the export does with the spreadsheet",
    "column_delimiter": "how the file's columns are separated",
}
_TABLE_HINT = re.compile(r"Did you mean ([A-Za-z_][\w]{0,62})\.([A-Za-z_][\w]{0,62})\?")
_TAB_HINT = re.compile(r'Did you mean worksheet "([\w .()-]{1,100})"\?')


def _sync_change(cause: Cause, text: str, sync: Sync) -> tuple[dict[str, Any], str] | None:
    """The change to one sync that the log's own advice, or the cause, says fixes it."""
    if cause == "not_found":
        table = _TABLE_HINT.search(text)
        if table is not None and sync.source is not None and sync.source.database_table is not None:
            schema, name = table.groups()
            return (
                {"source": {"database_table": {"schema": schema, "table": name}}},
                f"Read {schema}.{name}, the table the log suggests, instead.",
            )
        tab = _TAB_HINT.search(text)
        if tab is not None:
            side = "source" if sync.source is not None and sync.source.google_worksheet is not None else "destination"
            return (
                {side: {"google_worksheet": {"worksheet": tab.group(1)}}},
                f"Use the worksheet {tab.group(1)!r}, the tab the log suggests.",
            )
    for name, value in _SET_HINT.findall(text):
        if name in _SYNC_OPTIONS:
            option = _option_value(name, value)
            if option is None:
                continue
            effect = _OPTION_EFFECT.get(name)
            return (
                {"advanced_options": {name: option}},
                f"Set the sync's {name} to {json.dumps(option)}, as the log says"
                + (f" ({effect})." if effect else "."),
            )
    if cause == "table_exists":
        return (
            {"advanced_options": {"existing_table_rows": "append"}},
            'Append to the existing table ("truncate" or "drop" would replace its rows).',
        )
    if cause == "type_conversion":
        skipped = _skip_bad_rows(text)
        if skipped is not None:
            return {"advanced_options": skipped[0]}, skipped[1]
    return None


def _option_value(name: str, value: str) -> Any:
    """The hinted value as the option's type; None for a value no plain option takes (text from a log)."""
    if value in ("true", "false"):
        return value == "true"
    if value.isdigit():
        return int(value)
    return value if _SAFE_NAME.fullmatch(value) else None


def _hinted(text: str, field: str) -> tuple[dict[str, Any], str] | None:
    for name, value in _SET_HINT.findall(text):
        if name == field:
            return {field: value}, f"Set {field} to {value!r}, as the log says."
    return None


def _renamed_columns(text: str, settings: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    columns = settings.get("table_columns")
    pairs = _HEADER_PAIR.findall(text)
    if not isinstance(columns, list) or not pairs:
        return None
    renamed = [dict(column) for column in columns if isinstance(column, dict)]
    for position, in_file, _ in pairs:
        index = int(position) - 1
        if not _SAFE_NAME.fullmatch(in_file):
            return None  # a header name from the file that is not a plain column name is not offered as a fix
        if 0 <= index < len(renamed):
            renamed[index]["name"] = in_file
    table_columns = [
        {key: value for key, value in column.items() if key in ("name", "sql_type") and value} for column in renamed
    ]
    return {"table_columns": table_columns}, "Rename the table_columns entries to the file's header names."


def _skip_bad_rows(text: str) -> tuple[dict[str, Any], str] | None:
    match = _FAILED_ROWS.search(text)
    if match is None:
        return None
    count = int(match.group(1).replace(",", ""))
    return (
        {"max_errors": count},
        f"Skip the {count} row(s) that do not fit (or correct them in the file and keep max_errors as it is).",
    )


def _evidence(lines: list[LogLine]) -> list[LogLine]:
    """Error and fatal lines, each with a little context, at most MAX_EVIDENCE lines."""
    chosen: set[int] = set()
    for index, line in enumerate(lines):
        if at_least_level(line.level, "error"):
            chosen.update(range(max(0, index - CONTEXT), min(len(lines), index + CONTEXT + 1)))
    picked = [lines[index] for index in sorted(chosen)][-MAX_EVIDENCE:]
    return [line.model_copy(update={"message": one_line(line.message, 400)}) for line in picked]


async def diagnose(state: AppState, params: DiagnoseParams) -> Diagnosis:
    found = await find_kind(state, params.import_id, Kind(params.kind) if params.kind else None)
    if found is None:
        raise WorkflowError(
            f"No import, CSV import, batch import or file import with ID {params.import_id} is visible to this user."
        )
    kind, subject = found
    run, note = await find_run(state, kind, params.import_id, params.run_id, prefer_failed=True)
    not_examined = [note] if note else []
    lines: list[LogLine] = []
    logs_tool = KIND_TOOLS[kind].logs
    if logs_tool is not None and run.id is not None:
        window = await tail(state, logs_tool, params.import_id, run.id, LOG_WINDOW)
        lines = window.lines
        if not window.complete:
            total = f" of about {window.max_id}" if window.max_id else ""
            not_examined.append(f"Log lines before the last {window.examined}{total} were not read.")
    else:
        not_examined.append("This kind of import has no run logs; only its state and error were read.")
    evidence = _evidence(lines)
    # Classify on what went wrong (the run's error and the error lines), not on the context lines around them.
    errors = [line.message for line in evidence if at_least_level(line.level, "error")]
    text = "\n".join(filter(None, [run.error or "", *errors]))
    settings = subject if isinstance(subject, dict) else {}
    cause, summary, fields = _cause(run, [run.error or "", *errors])
    sync = await _failed_sync(state, kind, params.import_id, settings, text)
    fix = _fix_for(cause, text, kind, params.import_id, settings, sync)
    if fix is None and cause not in ("not_failed", "cancelled"):
        not_examined.append("No automatic fix is known for this cause; the evidence and summary say what to change.")
    not_examined.append("The source files' contents and the destination table were not inspected.")
    return Diagnosis(
        kind=kind,
        import_id=params.import_id,
        import_name=settings.get("name"),
        run=run,
        cause=cause,
        summary=summary,
        evidence=evidence,
        configuration=_sync_configuration(settings, sync)
        if sync is not None
        else _configuration(settings, fields, fix),
        fix=fix,
        rows=counts_in(lines),
        not_examined=not_examined,
    )


_FAILED_SYNC = re.compile(r"\bSync (\d+) \(")


async def _failed_sync(state: AppState, kind: Kind, import_id: int, settings: dict[str, Any], text: str) -> Sync | None:
    """The sync an import job's run failed in (its error starts "Sync <id> (...) failed"), as the API shows it."""
    if kind not in (Kind.IMPORT, Kind.FILE):
        return None
    match = _FAILED_SYNC.search(text)
    if match is None:
        return None
    # An import job's object (already read) lists its syncs; a file import's is read now, as the import job it is.
    job = as_model("imports_get", Import, settings) if isinstance(settings.get("syncs"), list) else None
    if job is None:
        job = await read(state.client, "imports_get", Import, id=import_id)
    wanted = int(match.group(1))
    return next((sync for sync in job.syncs or [] if sync.id == wanted), None)


def _sync_configuration(settings: dict[str, Any], sync: Sync) -> dict[str, Any]:
    """The failed sync as it is now, and the hosts and credentials of the import it belongs to."""
    shown: dict[str, Any] = {key: settings[key] for key in ("source", "destination") if settings.get(key)}
    # Only what Civis answered: a field it left out stays out (not shown as null).
    sent = sync.model_dump(exclude_unset=True)
    shown["sync"] = {key: sent.get(key) for key in ("id", "source", "destination", "advanced_options")}
    return shown


def _configuration(settings: dict[str, Any], fields: tuple[str, ...], fix: Fix | None) -> dict[str, Any]:
    """The current values of the settings involved; a large one the fix repeats in full is summarised, once is
    enough in an answer that has to fit the result budget."""
    shown: dict[str, Any] = {}
    for field in fields:
        if field not in settings:
            continue
        value = settings[field]
        if fix is not None and field in fix.arguments and len(json.dumps(value, default=str)) > _LARGE:
            count = f"{len(value)} entries" if isinstance(value, list) else "a large value"
            value = f"({count}; the fix lists the new value in full)"
        shown[field] = value
    return shown


def _cause(run: RunFacts, texts: list[str]) -> tuple[Cause, str, tuple[str, ...]]:
    if run.state == "cancelled":
        return "cancelled", "The run was cancelled before it finished.", ()
    if run.state != "failed":
        return "not_failed", f"The run did not fail: it is {run.state}.", ()
    found = classify(*texts)
    if found is None:
        return "unknown", "The run failed for a reason the diagnosis does not recognise.", ()
    return found.cause, found.summary, found.fields
