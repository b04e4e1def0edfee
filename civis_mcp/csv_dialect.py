"""The one delimiter sniffer: which of Civis's three delimiters the first lines of a CSV file use.

``imports_load_file`` reads it to describe a local file before a load; the sandbox's CSV engine reads it to say, when
a run fails on its column count, which ``column_delimiter`` the file appears to use. It is the stdlib's
``csv.Sniffer`` restricted to Civis's delimiters, plus one check of its own: the delimiter must split the first line
into two fields or more (a one-column file has no delimiter to find).

It imports nothing of civis-mcp, so the sandbox and the workflows can both use it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence

__all__ = ["DELIMITERS", "SNIFF_LINES", "sniff_delimiter"]

DELIMITERS: dict[str, str] = {"comma": ",", "tab": "\t", "pipe": "|"}
"""Civis's ``column_delimiter`` values and the character each stands for."""
SNIFF_LINES = 20
"""How many of the first non-blank lines are looked at; a cut-off last line should be left out by the caller."""


def sniff_delimiter(lines: Sequence[str]) -> str | None:
    """The name (``comma``, ``tab`` or ``pipe``) of the delimiter the lines use; None when no delimiter fits, e.g.
    a single column, or rows that split into different numbers of fields with every candidate."""
    sample = [line for line in lines if line.strip()][:SNIFF_LINES]
    if not sample:
        return None
    try:
        char = csv.Sniffer().sniff("\n".join(sample), delimiters="".join(DELIMITERS.values())).delimiter
    except csv.Error:
        return None
    name = next((name for name, value in DELIMITERS.items() if value == char), None)
    if name is None or len(next(csv.reader([sample[0]], delimiter=char), [])) < 2:
        return None
    return name
