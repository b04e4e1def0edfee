"""The one delimiter sniffer (``civis_mcp.csv_dialect``), shared by ``imports_load_file`` and the sandbox."""

from __future__ import annotations

from typing import get_args

import pytest

from civis_mcp.csv_dialect import DELIMITERS, sniff_delimiter
from civis_mcp.models.common import ColumnDelimiter


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
