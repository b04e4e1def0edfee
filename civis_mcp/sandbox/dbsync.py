"""One Dbsync sync: copy a table from one database to another, the way the sync's advanced options say.

Inbound syncs read a remote database (the CRM behind host 3002) and write the warehouse; outbound ones read the
warehouse and write the remote database. Which is which follows from the hosts of the import's source and
destination, so the same code does both.

Modes (the Dbsync options of the API):

* ``wipe_destination_table=true``: full refresh. The destination is dropped and made again with the source's columns.
* ``identity_column`` and/or ``last_modified_column``: incremental. Only rows whose last-modified value is at least the
  destination's latest (or, without one, whose identity is above the destination's highest) are read; rows with the
  same identity are replaced. A blank ``identity_column`` is the source's primary key; with an identity column and no
  ``last_modified_column``, the first column whose name contains "modif" or "update" is used, as documented.
* neither: the destination is created; if it already exists the sync fails (it will not guess between replacing and
  appending).

``row_chunk_size`` rows are read, converted and written at a time (default 10,000); a cancel is noticed between
chunks. ``truncate_long_lines`` cuts text that does not fit a destination column; without it such a value fails the
sync. ``verify_table_row_counts`` fails the sync when the destination does not end with the source's row count.

All or nothing per sync: the destination's changes are one transaction, rolled back on any failure or cancel.
Failures name the option that fixes them (``set wipe_destination_table=true``), or the table that was probably meant
("Did you mean public.donations?").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import Any, Literal

from civis_mcp.sandbox.csv_types import BadValue, plural, show_value
from civis_mcp.sandbox.databases import Column, Condition, DatabaseError, PermissionDenied, Session
from civis_mcp.sandbox.syncs import Endpoint, SyncCancelled, SyncContext, SyncFailed, as_text, close_match

__all__ = ["DEFAULT_CHUNK_ROWS", "copy_table"]

DEFAULT_CHUNK_ROWS = 10_000
_MODIFIED_HINTS = ("modif", "update")


def _names(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def copy_table(ctx: SyncContext, source: Endpoint, destination: Endpoint) -> int:
    """Copy ``source`` to ``destination`` per the sync's options; the rows written."""
    try:
        with source.database.session(source.grants, source.credential_id) as reader:
            plan = _plan(ctx, reader, source)
            with destination.database.session(destination.grants, destination.credential_id) as writer:
                return _copy(ctx, reader, writer, source, destination, plan)
    except PermissionDenied as denied:
        raise SyncFailed(
            f"Credential {denied_credential(source, destination, denied)} may not do this: {denied.message}. "
            "Use a credential with access (imports_patch source or destination credential_id), or ask the "
            "database's owner for the grant."
        ) from None
    except DatabaseError as error:
        raise SyncFailed(f"The database refused the sync: {error.message}.") from None


def denied_credential(source: Endpoint, destination: Endpoint, denied: PermissionDenied) -> int | None:
    """Which side's credential was refused: the destination's when the message names its schema or table."""
    words = denied.message.split()
    if destination.grants is not None and (destination.schema in words or destination.table in words):
        return destination.credential_id
    return source.credential_id if source.grants is not None else destination.credential_id


class _Plan:
    def __init__(self, columns: list[Column], identity: list[str], modified: str | None, incremental: bool) -> None:
        self.columns = columns
        self.identity = identity
        self.modified = modified
        self.incremental = incremental


def _plan(ctx: SyncContext, reader: Session, source: Endpoint) -> _Plan:
    """Check the source and the options against it; the columns to copy and how."""
    options = ctx.options
    if not reader.schema_exists(source.schema):
        hint = close_match(source.schema, reader.schemas())
        raise SyncFailed(
            f'schema "{source.schema}" does not exist on "{source.database.label}".'
            + (f" Did you mean {hint}.{source.table}?" if hint else "")
        )
    columns = reader.columns(source.schema, source.table)
    if columns is None:
        hint = close_match(source.table, reader.tables(source.schema))
        raise SyncFailed(
            f'relation "{source.name}" does not exist on "{source.database.label}".'
            + (f" Did you mean {source.schema}.{hint}?" if hint else "")
        )
    names = {column.name.casefold(): column.name for column in columns}
    shown = ", ".join(column.name for column in columns)
    wipe = bool(options.get("wipe_destination_table"))
    identity = _names(options.get("identity_column"))
    modified = str(options.get("last_modified_column") or "").strip() or None
    incremental = not wipe and bool(identity or modified)
    if incremental and not identity:
        identity = reader.primary_key(source.schema, source.table)
        if not identity:
            raise SyncFailed(
                f"identity_column is blank and {source.name} has no primary key to use instead; set identity_column "
                f"to the column that identifies a row (columns: {shown})."
            )
    for column in identity:
        if column.casefold() not in names:
            key = reader.primary_key(source.schema, source.table)
            hint = f' set identity_column="{",".join(key)}" (its primary key).' if key else ""
            raise SyncFailed(f'identity_column "{column}" is not a column of {source.name} (columns: {shown});{hint}')
    detected = next((c.name for c in columns if any(word in c.name.lower() for word in _MODIFIED_HINTS)), None)
    if modified is not None and modified.casefold() not in names:
        hint = f' set last_modified_column="{detected}" (the column the auto-detection would use).' if detected else ""
        raise SyncFailed(
            f'last_modified_column "{modified}" is not a column of {source.name} (columns: {shown});{hint}'
        )
    if incremental and modified is None:
        modified = detected
    identity = [names[column.casefold()] for column in identity]
    modified = names[modified.casefold()] if modified else None
    return _Plan(columns, identity, modified, incremental)


def _copy(
    ctx: SyncContext, reader: Session, writer: Session, source: Endpoint, destination: Endpoint, plan: _Plan
) -> int:
    options = ctx.options
    wipe = bool(options.get("wipe_destination_table"))
    existing = writer.columns(destination.schema, destination.table)
    if plan.incremental:
        how = f"incremental sync on {plan.modified or plan.identity[0]} (identity: {', '.join(plan.identity)})"
    elif wipe:
        how = "full refresh (wipe_destination_table)"
    else:
        how = "full copy into a new table"
    ctx.say("info", f"{source.name} -> {destination.name}: {how}")
    if existing is not None and not wipe and not plan.incremental:
        raise SyncFailed(
            f'Table {destination.name} already exists on "{destination.database.label}"; set '
            "wipe_destination_table=true to replace it with a full refresh, or set identity_column for incremental "
            "syncs."
        )
    if existing is not None and wipe:
        ctx.say("info", f"Dropping {destination.name} (wipe_destination_table=true)")
        writer.drop_table(destination.schema, destination.table)
        existing = None
    if existing is None:
        targets = list(plan.columns)
        ctx.say("info", f"Creating {destination.name}: " + ", ".join(f"{c.name} {c.declared}" for c in targets))
        writer.create_table(destination.schema, destination.table, targets)
        created = True
    else:
        targets = _matching_columns(plan.columns, existing, source, destination)
        created = False

    where: Condition | None = None
    if plan.incremental and not created:
        column = plan.modified or plan.identity[0]
        operator: Literal[">", ">="] = ">=" if plan.modified else ">"
        latest = writer.max_of(destination.schema, destination.table, column)
        if latest is not None:
            where = (column, operator, latest)
            ctx.say("info", f"Reading rows of {source.name} with {column} {operator} {as_text(latest)}")

    source_rows = reader.count(source.schema, source.table)
    ctx.say("info", f"Reading {source.where} ({source.database.kind}): {plural(source_rows, 'row')} in the table")
    chunk = int(options.get("row_chunk_size") or DEFAULT_CHUNK_ROWS)
    if chunk < 1:
        raise SyncFailed(f"row_chunk_size must be 1 or more (got {chunk}); set row_chunk_size=10000 or leave it unset.")
    positions = {column.name.casefold(): index for index, column in enumerate(targets)}
    keys = [positions[name.casefold()] for name in plan.identity] if plan.incremental and not created else []
    names = [column.name for column in plan.columns]
    # closing(): a failure mid-copy must not leave the read cursor open while the transactions roll back.
    with closing(reader.select(source.schema, source.table, names, where, plan.identity, chunk)) as chunks:
        written, replaced, truncated = _write_chunks(
            ctx, chunks, writer, targets, keys, plan, source, destination, created
        )
    if ctx.should_cancel():
        raise SyncCancelled
    if truncated:
        ctx.say("warn", f"truncate_long_lines: cut {plural(truncated, 'value')} to fit {destination.name}")
    total = writer.count(destination.schema, destination.table)
    if options.get("verify_table_row_counts"):
        if total != source_rows:
            raise SyncFailed(
                f"Row count mismatch after the sync: {source.name} has {plural(source_rows, 'row')} but "
                f"{destination.name} has {total:,} (verify_table_row_counts=true); set wipe_destination_table=true "
                "to make the destination an exact copy."
            )
        ctx.say("info", f"Verified row counts: {plural(total, 'row')} in both tables")
    ctx.say(
        "info",
        f"Wrote {plural(written, 'row')} to {destination.where}"
        + (f" ({plural(replaced, 'row')} replaced by identity)" if replaced else "")
        + f"; it now has {plural(total, 'row')}",
    )
    return written


def _write_chunks(
    ctx: SyncContext,
    chunks: Iterator[list[tuple[Any, ...]]],
    writer: Session,
    targets: Sequence[Column],
    keys: Sequence[int],
    plan: _Plan,
    source: Endpoint,
    destination: Endpoint,
    created: bool,
) -> tuple[int, int, int]:
    """Convert and write each chunk; rows written, rows replaced by identity, values cut to fit."""
    written = replaced = truncated = 0
    for number, rows in enumerate(chunks, 1):
        if ctx.should_cancel():
            raise SyncCancelled
        converted = []
        for offset, row in enumerate(rows, start=written + 1):
            values, cut = _convert(row, targets, offset, source, destination, created, ctx.options)
            converted.append(values)
            truncated += cut
        if keys:
            replaced += writer.delete_keys(
                destination.schema, destination.table, plan.identity, [tuple(v[i] for i in keys) for v in converted]
            )
        writer.insert(destination.schema, destination.table, targets, converted)
        written += len(converted)
        if ctx.options.get("row_chunk_size"):
            ctx.say("debug", f"Chunk {number}: wrote rows {written - len(converted) + 1:,}-{written:,}")
    return written, replaced, truncated


def _matching_columns(
    columns: Sequence[Column], existing: Sequence[Column], source: Endpoint, destination: Endpoint
) -> list[Column]:
    """The destination's columns in the source's order; every source column must be there."""
    by_name = {column.name.casefold(): column for column in existing}
    missing = [column.name for column in columns if column.name.casefold() not in by_name]
    if missing:
        raise SyncFailed(
            f"The columns of {source.name} do not match the existing table {destination.name} (in the source but "
            f"not the table: {', '.join(missing)}); set wipe_destination_table=true to make it again with the "
            "source's columns."
        )
    return [by_name[column.name.casefold()] for column in columns]


def _convert(
    row: Sequence[Any],
    targets: Sequence[Column],
    number: int,
    source: Endpoint,
    destination: Endpoint,
    created: bool,
    options: Any,
) -> tuple[tuple[Any, ...], int]:
    """One source row as the destination's columns store it, and how many values were cut to fit."""
    values: list[Any] = []
    cut = 0
    for column, value in zip(targets, row, strict=True):
        raw = as_text(value)
        sql_type = column.sql_type
        if options.get("truncate_long_lines") and sql_type.kind == "text" and sql_type.length is not None:
            encoded = raw.encode("utf-8")
            if len(encoded) > sql_type.length:
                raw = encoded[: sql_type.length].decode("utf-8", "ignore")
                cut += 1
        try:
            values.append(sql_type.convert(raw))
        except BadValue as bad:
            where = f"Row {number:,} of {source.name}, column {column.name!r}: {show_value(raw)} {bad}"
            if "too long" in str(bad):
                hint = "set truncate_long_lines=true to cut long values to fit."
            elif not created:
                hint = f"set wipe_destination_table=true to make {destination.name} again with the source's types."
            else:
                hint = "the source's type and the destination's disagree."
            raise SyncFailed(f"{where}; {hint}") from None
    return tuple(values), cut
