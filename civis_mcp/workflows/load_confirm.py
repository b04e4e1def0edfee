"""What ``imports_load_file`` tells the human before it truncates or drops a table (the guard asks it)."""

from __future__ import annotations

from civis_mcp.workflows.load_models import FileFacts, LoadFileParams

__all__ = ["DESTRUCTIVE_MODES", "destructive_effect"]

DESTRUCTIVE_MODES = frozenset({"truncate", "drop"})


def destructive_effect(params: LoadFileParams, file: FileFacts) -> str | None:
    """The question for the human when the load can destroy rows; None when it cannot (fail, append)."""
    if params.existing_table_rows not in DESTRUCTIVE_MODES:
        return None
    table = f"{params.schema}.{params.table}"
    action = (
        f"DROP the table {table} if it exists, then create it again from the file"
        if params.existing_table_rows == "drop"
        else f"TRUNCATE the table {table} if it exists (delete all its rows), then load the file into it"
    )
    rows = (
        "an unknown number of rows"
        if file.rows is None
        else f"{file.rows:,} rows"
        if file.rows_exact
        else f"about {file.rows:,} rows"
    )
    return (
        f"imports_load_file will {action}. File: {file.path} ({file.size_bytes:,} bytes, {rows}, {file.columns} "
        f"columns). The table's current rows cannot be recovered afterwards. Go ahead?"
    )
