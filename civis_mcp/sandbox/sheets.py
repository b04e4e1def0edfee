"""Google Sheets syncs: GdocImport reads a worksheet the sandbox keeps into the warehouse; GdocExport writes a
warehouse table, or the rows of ``sql_query``, to a worksheet.

A worksheet is CSV text (``store.Sheet``); a spreadsheet is shared with Google credentials by ID. An import stages the
tab as a CSV file (as Civis does) and loads it with the CSV engine, so ``first_row_is_header``, ``existing_table_rows``
and ``max_errors`` behave exactly as for a CSV import, with the same log lines. An export's ``export_action``:
``newsprsht`` (the default) makes a new spreadsheet, ``newwksht`` a new tab in an existing one (the tab must not exist),
``updatewksht`` replaces a tab's cells, ``appendwksht`` adds rows under a tab's existing ones (same columns).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from civis_mcp.sandbox.csv_engine import CsvJob, CsvOutcome, execute_csv_import
from civis_mcp.sandbox.csv_engine import warehouse_table_name as table_name
from civis_mcp.sandbox.csv_types import plural, quote_identifier
from civis_mcp.sandbox.databases import DatabaseError
from civis_mcp.sandbox.store import Sheet
from civis_mcp.sandbox.syncs import SyncCancelled, SyncContext, SyncFailed, as_text, close_match

__all__ = ["STAGED_FILE_BASE", "export_to_sheet", "import_sheet"]

STAGED_FILE_BASE = 800_000
"""Staged CSV files of Sheets imports are numbered from here (the sync's ID added), apart from Civis files."""


def _tabs(ctx: SyncContext, ref: Mapping[str, Any], credential_id: int | None) -> list[Sheet]:
    """The spreadsheet's tabs, if it exists and the credential's Google account may open it."""
    name = str(ref.get("spreadsheet") or "")
    tabs = ctx.store.spreadsheet_tabs(spreadsheet_id=ref.get("spreadsheet_id") or None, name=name)
    if not tabs:
        raise SyncFailed(f'Spreadsheet "{name}" not found: no Google spreadsheet with that name or ID exists.')
    if credential_id not in tabs[0].shared_with:
        raise SyncFailed(
            f'The Google account of credential {credential_id} does not have permission to open spreadsheet "{name}"; '
            "ask its owner to share it with that account, or use a credential whose account can open it."
        )
    return tabs


def _find_tab(tabs: Sequence[Sheet], ref: Mapping[str, Any]) -> Sheet | None:
    worksheet_id = ref.get("worksheet_id")
    if isinstance(worksheet_id, int):
        return next((tab for tab in tabs if tab.worksheet_id == worksheet_id), None)
    wanted = str(ref.get("worksheet") or "")
    return next((tab for tab in tabs if tab.worksheet == wanted), None)


def _missing_tab(tabs: Sequence[Sheet], ref: Mapping[str, Any], advice: str) -> SyncFailed:
    wanted = str(ref.get("worksheet") or ref.get("worksheet_id"))
    names = [tab.worksheet for tab in tabs]
    hint = close_match(wanted, names)
    return SyncFailed(
        f'Worksheet "{wanted}" not found in spreadsheet "{tabs[0].spreadsheet}" (tabs: {", ".join(names)}).'
        + (f' Did you mean worksheet "{hint}"?' if hint else "")
        + advice
    )


def import_sheet(ctx: SyncContext, credential_id: int | None) -> CsvOutcome:
    """Load the sync's worksheet into its destination table with the CSV engine."""
    source = ctx.sync.doc.get("source") or {}
    ref = source.get("google_worksheet") or {}
    table = (ctx.sync.doc.get("destination") or {}).get("database_table") or {}
    tabs = _tabs(ctx, ref, credential_id)
    tab = _find_tab(tabs, ref)
    if tab is None:
        raise _missing_tab(tabs, ref, "")
    staged = STAGED_FILE_BASE + ctx.sync.id
    content = tab.content.encode("utf-8")
    lines = len([line for line in tab.content.splitlines() if line.strip()])
    ctx.say(
        "info",
        f'Downloaded Google Sheet "{tab.spreadsheet}" tab "{tab.worksheet}" ({plural(lines, "line")}); staged it as '
        f"CSV file {staged}",
    )
    options = ctx.options
    settings = {
        "source": {"file_ids": [staged]},
        "destination": {"schema": table.get("schema"), "table": table.get("table")},
        "first_row_is_header": options.get("first_row_is_header", True) is not False,
        "column_delimiter": "comma",
        "compression": "none",
        "existing_table_rows": options.get("existing_table_rows") or "fail",
        "max_errors": options.get("max_errors") or 0,
    }
    with ctx.hosts.warehouse.connection() as conn:
        return execute_csv_import(
            CsvJob(settings=settings, files={staged: content}, run_id=ctx.run.id), conn, ctx.log, ctx.should_cancel
        )


def export_to_sheet(ctx: SyncContext, credential_id: int | None) -> int:
    """Write the sync's source table, or its ``sql_query``'s rows, to its destination worksheet; rows written."""
    options = ctx.options
    doc = ctx.sync.doc
    ref = (doc.get("destination") or {}).get("google_worksheet") or {}
    header, rows = _export_rows(ctx, doc.get("source") or {}, options.get("sql_query"))
    action = str(options.get("export_action") or "newsprsht")
    spreadsheet = str(ref.get("spreadsheet") or "")
    worksheet = str(ref.get("worksheet") or "Sheet1")
    if ctx.should_cancel():
        raise SyncCancelled
    if action == "newsprsht":
        spreadsheet_id = f"sandbox-{ctx.run.id}-{ctx.sync.id}"
        shared = (credential_id,) if credential_id is not None else ()
        written = ctx.store.save_sheet(Sheet(spreadsheet_id, spreadsheet, 0, worksheet, _csv(header, rows), shared))
        ctx.say("info", f'Created spreadsheet "{spreadsheet}" (ID {written.spreadsheet_id}) with tab "{worksheet}"')
    else:
        tabs = _tabs(ctx, ref, credential_id)
        tab = _find_tab(tabs, ref)
        first = tabs[0]
        if action == "newwksht":
            if tab is not None:
                raise SyncFailed(
                    f'Worksheet "{tab.worksheet}" already exists in spreadsheet "{first.spreadsheet}"; set '
                    'export_action="updatewksht" to replace its cells, or "appendwksht" to add the rows under them.'
                )
            new_id = max(t.worksheet_id for t in tabs) + 1
            ctx.store.save_sheet(
                Sheet(first.spreadsheet_id, first.spreadsheet, new_id, worksheet, _csv(header, rows), first.shared_with)
            )
            ctx.say("info", f'Added tab "{worksheet}" to spreadsheet "{first.spreadsheet}"')
        elif tab is None:
            raise _missing_tab(tabs, ref, ' To make the tab, set export_action="newwksht".')
        elif action == "updatewksht":
            ctx.store.save_sheet(Sheet(**{**tab.__dict__, "content": _csv(header, rows)}))
            ctx.say("info", f'Replaced the cells of tab "{tab.worksheet}" of spreadsheet "{first.spreadsheet}"')
        else:
            existing = next(csv.reader(io.StringIO(tab.content)), [])
            if existing and len(existing) != len(header):
                raise SyncFailed(
                    f"The rows to export have {len(header)} column(s) ({', '.join(header)}), which do not match the "
                    f'existing worksheet "{tab.worksheet}" ({len(existing)}: {", ".join(existing)}); set '
                    'export_action="updatewksht" to replace its cells instead.'
                )
            appended = tab.content + _csv(None, rows)
            ctx.store.save_sheet(Sheet(**{**tab.__dict__, "content": appended}))
            ctx.say("info", f'Appended to tab "{tab.worksheet}" of spreadsheet "{first.spreadsheet}"')
    ctx.say("info", f"Wrote {plural(len(rows), 'row')} ({len(header)} columns) to the worksheet")
    return len(rows)


def _export_rows(ctx: SyncContext, source: Mapping[str, Any], sql_query: Any) -> tuple[list[str], list[list[str]]]:
    """The header and rows to export, read from the warehouse."""
    table = source.get("database_table") or {}
    if sql_query:
        query = str(sql_query).strip().rstrip(";").strip()
        if ";" in query or query.split(None, 1)[0].lower() not in ("select", "with"):
            raise SyncFailed("sql_query must be one SELECT statement (it may start with WITH); fix sql_query.")
        what = "sql_query"
    elif table.get("schema") and table.get("table"):
        query = f"SELECT * FROM {quote_identifier(table_name(str(table['schema']), str(table['table'])))}"
        what = f"{table['schema']}.{table['table']}"
    else:
        raise SyncFailed("A Sheets export needs a source table or advanced_options.sql_query; set one of them.")
    try:
        with ctx.hosts.warehouse.session(None, None) as session:
            header, rows = session.query(query)
    except DatabaseError as error:
        message = error.message
        if message.startswith("no such table: "):
            missing = message.removeprefix("no such table: ").replace("__", ".", 1)
            message = f'relation "{missing}" does not exist'
        raise SyncFailed(f"Reading {what} from the warehouse failed: {message}.") from None
    ctx.say("info", f"Read {plural(len(rows), 'row')} from {what} in the warehouse")
    return header, [[as_text(value) for value in row] for row in rows]


def _csv(header: Sequence[str] | None, rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
