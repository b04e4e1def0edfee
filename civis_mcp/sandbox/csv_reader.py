"""Reading a CSV import's files: decompressing and decoding as the csv reader pulls lines, records with the line
they start on (a row that cannot be parsed carries the reason instead of fields), the header and the number of
fields per row checked across files, and the delimiter a file appears to use, for the hint in a failure.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from civis_mcp.csv_dialect import DELIMITERS, sniff_delimiter
from civis_mcp.sandbox.csv_settings import CsvSettings
from civis_mcp.sandbox.csv_types import RunFailed

__all__ = ["GZIP_MAGIC", "CsvReader", "Record", "SourceFile", "check_unique", "same_name", "sniff_file"]

GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_CHARS = 65536  # the head handed to the sniffer: its first lines, unless the lines are very long


def sniff_file(content: bytes) -> str | None:
    """The name of the delimiter (``comma``, ``tab``, ``pipe``) the first lines of a file appear to use, gzip-compressed
    or not; None when none fits (one column) or the head cannot be read."""
    try:
        # errors="replace": a stray byte says nothing about the delimiter; the load itself reports bad UTF-8.
        with _text(content, gzipped=content[:2] == GZIP_MAGIC, errors="replace") as text:
            sample = text.read(_SNIFF_CHARS)
    except (OSError, EOFError, zlib.error):
        return None
    lines = sample.splitlines()
    if len(sample) == _SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the head may end in the middle of a line
    return sniff_delimiter(lines)


def _text(content: bytes, *, gzipped: bool, errors: str = "strict") -> io.TextIOWrapper[Any]:
    # Streams: the bytes are decompressed and decoded as the reader pulls lines, never all at once.
    raw = io.BytesIO(content)
    if gzipped:
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw, mode="rb"), encoding="utf-8-sig", errors=errors, newline="")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors=errors, newline="")


def _shown(name: str) -> str:
    """How a delimiter is named in a hint: ',' and '|' quoted, a tab by its name."""
    char = DELIMITERS[name]
    return name if char.isspace() else repr(char)


def same_name(left: str, right: str) -> bool:
    return left.strip().casefold() == right.strip().casefold()


@dataclass(frozen=True)
class SourceFile:
    file_id: int
    content: bytes


@dataclass(frozen=True)
class Record:
    line: int  # the line the record starts on, counting the header as line 1
    fields: list[str]
    problem: str | None = None  # why the row could not be parsed; fields is then empty


def check_unique(names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise RunFailed(
                f"The header repeats column name {name!r}; set table_columns to give every column a unique name."
            )
        seen.add(name.casefold())


class CsvReader:
    """Reads the files of one run per its settings."""

    def __init__(self, settings: CsvSettings) -> None:
        self.settings = settings

    def check_compression(self, files: Sequence[SourceFile]) -> None:
        for source in files:
            gzipped = source.content[:2] == GZIP_MAGIC
            if gzipped and self.settings.compression == "none":
                raise RunFailed(
                    f"File {source.file_id} is gzip-compressed (it starts with the gzip signature 1f 8b) but "
                    f'compression is "none"; set compression="gzip".'
                )
            if not gzipped and self.settings.compression == "gzip":
                raise RunFailed(
                    f"File {source.file_id} is not gzip-compressed (no gzip signature 1f 8b) but compression is "
                    f'"gzip"; set compression="none".'
                )

    def text(self, source: SourceFile) -> io.TextIOWrapper[Any]:
        return _text(source.content, gzipped=self.settings.compression == "gzip")

    def records(self, source: SourceFile) -> Iterator[Record]:
        """Each non-blank record of one file, with the line it starts on; unparseable rows carry the reason."""
        s = self.settings
        where = f"File {source.file_id}"
        line = 0
        with self.text(source) as text:
            # strict: a stray quote or an unterminated quoted field is a bad row, as in a warehouse COPY, rather
            # than silently merged into a mangled value.
            if s.escaped:
                reader = csv.reader(
                    text, delimiter=s.delimiter, quotechar='"', escapechar="\\", doublequote=False, strict=True
                )
            else:
                reader = csv.reader(text, delimiter=s.delimiter, quotechar='"', doublequote=True, strict=True)
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    start, line = line + 1, max(reader.line_num, line + 1)
                    yield Record(start, [], f"the row could not be parsed ({exc})")
                    continue  # the reader resumes at the next line
                except UnicodeDecodeError as exc:
                    raise RunFailed(
                        f"{where} is not UTF-8 text (bad byte 0x{exc.object[exc.start]:02x}); save it as UTF-8."
                    ) from None
                except (OSError, EOFError, zlib.error) as exc:
                    raise RunFailed(f"{where}: the gzip data is corrupt or truncated ({exc}); re-upload it.") from None
                start, line = line + 1, reader.line_num
                if fields:
                    yield Record(start, fields)

    def parse_hint(self) -> str:
        if self.settings.escaped:
            return ' If quotes in the file are doubled ("") rather than backslash-escaped, set escaped=false.'
        return " If quotes in the file are escaped with a backslash, set escaped=true."

    def other_delimiter(self, source: SourceFile) -> str | None:
        """The delimiter the file appears to use when it is not the one set; None when it is, or when none fits."""
        sniffed = sniff_file(source.content)
        return None if sniffed == self.settings.delimiter_name else sniffed

    def delimiter_hint(self, source: SourceFile) -> str:
        return self._hint(self.other_delimiter(source))

    def _hint(self, name: str | None) -> str:
        if name is None:
            return ""
        where = "the header" if self.settings.first_row_is_header else "the first row"
        return f' The file looks {name}-delimited ({_shown(name)} in {where}); set column_delimiter="{name}".'

    def read_layout(self, files: Sequence[SourceFile]) -> tuple[list[str] | None, int]:
        """The header (if the first row is one) and the number of fields per row, checked across files."""
        s = self.settings
        header: list[str] | None = None
        width = 0
        for index, source in enumerate(files):
            first = next(self.records(source), None)
            if first is None:
                raise RunFailed(f"File {source.file_id} has no rows (only blank lines); upload a file with rows.")
            if first.problem is not None:
                raise RunFailed(f"File {source.file_id}, row {first.line}: {first.problem}.{self.parse_hint()}")
            fields = first.fields
            if index == 0:
                width = len(fields)
                if s.first_row_is_header:
                    header = [name.strip() for name in fields]
            elif header is not None and [n.casefold() for n in header] != [f.strip().casefold() for f in fields]:
                raise RunFailed(
                    f"The header of file {source.file_id} differs from the header of file {files[0].file_id}; "
                    "all files of one import must have the same columns in the same order."
                )
        first_file = files[0]
        declared = s.table_columns
        if declared is not None and len(declared) != width:
            other = self.other_delimiter(first_file)
            raise RunFailed(
                f"Column count mismatch: the file has {width} column(s) per row but table_columns lists "
                f"{len(declared)}.{self._hint(other)}"
                + (" Make table_columns list every column, in file order." if other is None else "")
            )
        if declared is None and width == 1 and (other := self.other_delimiter(first_file)) is not None:
            raise RunFailed(
                f"The file has 1 column per row with column_delimiter={s.delimiter_name}.{self._hint(other)}"
            )
        if declared is None and header is not None:
            check_unique([name for name in header if name])
        if declared is not None and header is not None:
            differing = [
                f"column {position}: {found!r} in the file, {column.name!r} in table_columns"
                for position, (found, column) in enumerate(zip(header, declared, strict=True), start=1)
                if not same_name(found, column.name)
            ]
            if differing:
                raise RunFailed(
                    f"Header mismatch: the header of file {first_file.file_id} does not match table_columns ("
                    + "; ".join(differing)
                    + "). Rename the table_columns entries to match the header (or fix the header); if the first "
                    "row is data rather than a header, set first_row_is_header=false."
                )
        return header, width
