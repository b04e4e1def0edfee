"""What a local CSV file looks like, from its first bytes: encoding, delimiter, header, column count, row estimate.

Only the head of the file is read (``HEAD_BYTES``, decompressed for ``.gz``). What comes out is facts about the file,
never its rows: the header names (sanitised, shortened, and only when the first row is taken as a header), counts and
settings. The header is shown because it is what a person checks before a load; the data rows stay on disk.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zlib
from dataclasses import dataclass

from civis_mcp.csv_dialect import DELIMITERS, sniff_delimiter
from civis_mcp.untrusted import one_line
from civis_mcp.workflows.local_files import LocalFile, open_checked
from civis_mcp.workflows.runs import WorkflowError

__all__ = ["HEAD_BYTES", "MAX_HEADER_COLUMNS", "Sniffed", "sniff"]

HEAD_BYTES = 256 * 1024
MAX_HEADER_COLUMNS = 100
MAX_NAME = 64
_NUMBER = re.compile(r"^[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?%?$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .-]*$")


@dataclass(frozen=True)
class Sniffed:
    encoding: str
    delimiter: str
    """comma, tab or pipe."""
    first_row_is_header: bool
    columns: int
    header: list[str] | None
    """Sanitised header names, when the first row is a header."""
    rows: int | None
    """Data rows: exact when ``rows_exact``, else an estimate; None when it cannot be estimated (compressed)."""
    rows_exact: bool


def _head(file: LocalFile) -> tuple[bytes, bool]:
    """The first bytes of the (decompressed) file, and whether they are the whole of it."""
    descriptor = open_checked(file)
    with os.fdopen(descriptor, "rb") as stream:
        raw = stream.read(HEAD_BYTES if not file.compressed else HEAD_BYTES // 4)
    if not file.compressed:
        return raw, len(raw) >= file.size
    if raw[:2] != b"\x1f\x8b":
        raise WorkflowError(f"{file.path.name!r} ends in .gz but is not gzip-compressed. Nothing was sent.")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = inflater.decompress(raw, HEAD_BYTES)
    except zlib.error:
        raise WorkflowError(f"{file.path.name!r} is not valid gzip data. Nothing was sent.") from None
    return head, inflater.eof and len(raw) >= file.size


def _decode(head: bytes, whole: bool, name: str) -> tuple[str, str]:
    if b"\x00" in head:
        raise WorkflowError(f"{name!r} contains NUL bytes: it looks binary, not like CSV text. Nothing was sent.")
    encoding = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
    if not whole:
        head = head[: head.rfind(b"\n") + 1] or head  # a cut in the middle of a character is not an error
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        raise WorkflowError(
            f"{name!r} is not UTF-8 text (byte {exc.start} of its head). Nothing was sent; save it as UTF-8 CSV."
        ) from None
    return text, "utf-8 (with BOM)" if encoding == "utf-8-sig" else "utf-8"


def _looks_like_header(first: list[str], second: list[str] | None) -> bool:
    names = [field.strip() for field in first]
    if not all(names) or len(set(names)) != len(names) or any(_NUMBER.match(name) for name in names):
        return False
    if second is not None and any(_NUMBER.match(value.strip()) for value in second):
        return True
    return all(_IDENTIFIER.match(name) for name in names)


def sniff(file: LocalFile, *, delimiter: str | None = None, first_row_is_header: bool | None = None) -> Sniffed:
    """Read the head of ``file`` and describe it; ``delimiter`` and ``first_row_is_header`` override the guesses."""
    head, whole = _head(file)
    text, encoding = _decode(head, whole, file.path.name)
    lines = text.splitlines()
    if not whole and len(lines) > 1:
        lines = lines[:-1]  # the last line of a head may be cut short
    if not any(line.strip() for line in lines):
        raise WorkflowError(f"{file.path.name!r} has no text rows in its first {len(head):,} bytes. Nothing was sent.")
    chosen = delimiter or sniff_delimiter(lines) or "comma"  # one column (or no clear delimiter): Civis's default
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=DELIMITERS[chosen])
    records = [record for record in reader if record]
    first = records[0]
    header = first_row_is_header
    if header is None:
        header = _looks_like_header(first, records[1] if len(records) > 1 else None)
    data_records = len(records) - (1 if header else 0)
    if whole:
        rows: int | None = data_records
    elif file.compressed:
        rows = None
    else:
        consumed = sum(len(line.encode()) + 1 for line in lines)
        rows = max(data_records, round(data_records * file.size / max(consumed, 1)))
    names = None
    if header:
        names = [one_line(name, MAX_NAME) for name in first[:MAX_HEADER_COLUMNS]]
        if len(first) > MAX_HEADER_COLUMNS:
            names.append(f"(and {len(first) - MAX_HEADER_COLUMNS} more)")
    return Sniffed(encoding, chosen, header, len(first), names, rows, whole)
