"""The one delimiter sniffer (``civis_mcp.csv_dialect``), shared by ``imports_load_file`` and the sandbox."""

from __future__ import annotations

import gzip
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import get_args

import pytest

from civis_mcp.csv_dialect import DELIMITERS, sniff_delimiter
from civis_mcp.models.common import ColumnDelimiter
from civis_mcp.sandbox.csv_engine import CsvJob, execute_csv_import
from civis_mcp.workflows.csv_sniff import sniff
from civis_mcp.workflows.local_files import FileLimits, allowed_directories, find_file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id,name,amount\n1,Ann,3\n2,Bob,4\n", "comma"),
        ("id\tname\n1\tAnn\n2\tBob\n", "tab"),
        # Commas inside the values of a pipe-delimited file (the demo's failed import): still pipe.
        ("id|name|amount\n1|Smith, John|10.5\n2|Doe, Jane|3\n", "pipe"),
        # Pipes inside quoted values of a comma-delimited file: still comma.
        ('id,name,note\n1,"a|b",x\n2,"c|d",y\n', "comma"),
        ("name\nAnn\nBob\n", None),  # one column: no delimiter to find
        ("a,b,c\n1,2\n3,4,5,6\n", None),  # rows that disagree with every candidate
        ("", None),
        ("\n  \n", None),
    ],
)
def test_it_finds_the_delimiter_that_splits_the_lines_alike(text: str, expected: str | None) -> None:
    assert sniff_delimiter(text.splitlines()) == expected


def test_only_the_first_lines_count_and_blank_lines_are_skipped() -> None:
    head = ["", "a|b", " ", *(["1|2"] * 19)]
    assert sniff_delimiter(head) == "pipe"
    # Lines past the first 20 non-blank ones are not looked at, however many disagree.
    assert sniff_delimiter([*head, *(["x,y,z,w"] * 500)]) == "pipe"


def test_its_names_are_civis_column_delimiters() -> None:
    assert tuple(DELIMITERS) == get_args(ColumnDelimiter)


# --- the sandbox and imports_load_file agree --------------------------------------------------------------------------

_LONG = "x" * 15_000
_LONG_ROWS = "".join(f"{n}{_LONG}|{'y,' * 7_000}|z\n" for n in range(20))
"""Rows of about 30,000 characters: the heads both readers take end in the middle of a row, and that cut row (fewer
pipes than the rest) must be left out, or no delimiter splits the head's rows alike."""

TRICKY: list[tuple[str, str, bytes, str | None]] = [
    # (case, file name, content, the delimiter both must find: None for "no delimiter", one column)
    ("pipes-inside-quoted-comma-values", "a.csv", b'id,name,note\n1,"a|b",x\n2,"c|d",y\n', "comma"),
    ("quoted-tabs-in-a-comma-file", "b.csv", b'id,text\n1,"a\tb\tc"\n2,"d\te\tf"\n', "comma"),
    ("commas-inside-pipe-values", "c.csv", b"id|name|amount\n1|Smith, John|10.5\n2|Doe, Jane|3\n", "pipe"),
    ("tab-file-with-stray-commas", "d.csv", b"id\tname\tcity\n1\tSmith, John\tRome\n2\tDoe\tOslo, Norway\n", "tab"),
    # A tie (each row splits alike on tab and on comma): csv.Sniffer's preference, comma, Civis's default too.
    ("tab-and-comma-alike-in-every-row", "i.csv", b"id\tname,full\n1\tAnn,Lee\n2\tBob,Ray\n", "comma"),
    ("one-column", "e.csv", b"name\nAnn\nBob\n", None),
    ("gzip-compressed-tab", "f.csv.gz", gzip.compress(b"a\tb\n1\t2\n3\t4\n"), "tab"),
    ("utf8-bom-and-crlf", "g.csv", b"\xef\xbb\xbfa|b|c\r\n1|2|3\r\n4|5|6\r\n", "pipe"),
    ("rows-longer-than-the-head", "h.csv", f"a|b|c\n{_LONG_ROWS}".encode(), "pipe"),
]


def _load_file_answer(path: Path) -> str:
    """The delimiter ``imports_load_file`` reports for the file (its ``file.column_delimiter``)."""
    allowed = allowed_directories([], [path.parent])
    found = find_file(path.name, allowed, FileLimits(max_bytes=10**7, types=frozenset({"csv", "csv.gz"})))
    return sniff(found).delimiter


def _sandbox_answer(content: bytes) -> str | None:
    """The delimiter the sandbox's CSV engine names in its hint, read back from the failures of runs set to each
    delimiter in turn with too many table_columns: it names the one it finds in every run set to another, and none
    in the run set to that one."""
    hinted: dict[str, str | None] = {}
    for setting in DELIMITERS:
        stored = {
            "source": {"file_ids": [1]},
            "destination": {"schema": "s", "table": "t"},
            "first_row_is_header": True,
            "column_delimiter": setting,
            "compression": "gzip" if content[:2] == b"\x1f\x8b" else "none",
            "table_columns": [{"name": f"c{n}", "sql_type": "VARCHAR"} for n in range(50)],
        }
        with closing(sqlite3.connect(":memory:")) as db:
            outcome = execute_csv_import(
                CsvJob(settings=stored, files={1: content}, run_id=1), db, lambda *_: None, lambda: False
            )
        assert outcome.state == "failed" and outcome.error is not None
        assert outcome.error.startswith("Column count mismatch"), outcome.error
        found = re.search(r'set column_delimiter="(\w+)"', outcome.error)
        hinted[setting] = found[1] if found else None
    named = {name for name in hinted.values() if name is not None}
    if not named:
        return None
    (answer,) = named  # one answer, whatever the setting
    assert hinted[answer] is None  # and no hint when the setting already is that delimiter
    return answer


@pytest.mark.parametrize(("case", "name", "content", "expected"), TRICKY, ids=[case[0] for case in TRICKY])
def test_the_sandbox_and_imports_load_file_find_the_same_delimiter(
    tmp_path: Path, case: str, name: str, content: bytes, expected: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert _sandbox_answer(content) == expected
    # Where no delimiter fits, imports_load_file takes Civis's default, comma, and the sandbox gives no hint.
    assert _load_file_answer(path) == (expected or "comma")
