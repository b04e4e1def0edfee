"""Demo files for the sandbox's CSV imports, each made to show one setting that matters, and the columns to declare.

The content is built deterministically (fixed lists and arithmetic, gzip with mtime=0), so every start of the
sandbox serves byte-identical files. With ``DEMO_TABLE_COLUMNS[name]`` as ``table_columns``:

* 9001 ``people.csv``: comma-delimited, header row, 50 people (``id,name,email,signup_date,age``); two names need
  quoting (``"Smith, Jr."`` and ``"Robert ""Bobby"" Lee"``, doubled quotes). Loads 50 rows with
  ``first_row_is_header=true`` and the defaults. With ``compression="gzip"`` it fails: the file is not gzip-compressed;
  the fix is ``compression="none"`` (the default). With ``escaped=true`` row 28's doubled quotes load mangled
  (``Robert "Bobby"" Lee"``): escaped must stay false for this file.
* 9002 ``people.csv.gz``: the same 50 rows, gzip-compressed. With the default ``compression="none"`` it fails
  ("File 9002 is gzip-compressed ... set compression=\"gzip\""); the fix is ``compression="gzip"``.
* 9003 ``orders_pipe.txt``: pipe-delimited with a header, 30 orders (``order_id|customer_id|order_date|amount|status``).
  With the default ``column_delimiter="comma"`` it fails with a column count mismatch (1 column per row, 5 in
  table_columns) that says the file looks pipe-delimited; the fix is ``column_delimiter="pipe"``.
* 9004 ``events_bad_rows.csv``: comma, header, 25 events of which 3 have bad values (``user_id`` 'abc' on row 7,
  ``occurred_on`` '2024-02-30' on row 14, ``duration_seconds`` '12.5' on row 21; rows count the header as row 1).
  With the default ``max_errors=0`` it fails ("3 row(s) failed to load (max_errors=0). First error: row 7, column
  'user_id': 'abc' is not a valid INTEGER."); ``max_errors=3`` or more loads the 22 good rows.
* 9005 ``customers_header_mismatch.csv``: comma, header ``customer_id,full_name,email_address,created_on``, 15 rows.
  ``DEMO_TABLE_COLUMNS`` declares ``name`` and ``email`` where the header says ``full_name`` and ``email_address``, so
  with ``first_row_is_header=true`` it fails with a header mismatch naming both; the fix is table_columns named as in
  the header (``DEMO_CORRECTED_TABLE_COLUMNS``), or leaving table_columns unset so the header names the columns.

With the settings that fix it, each file loads into a new table under ``existing_table_rows="fail"`` (the
default); a second run into the same table then fails until ``existing_table_rows`` is "append", "truncate",
"drop" or "upsert" (upsert with ``destination.primary_keys``: ``["id"]``, ``["order_id"]``, ``["event_id"]`` or
``["customer_id"]``).
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class DemoFile:
    """One demo file: its name as uploaded to Civis, its raw bytes, and what it shows."""

    name: str
    content: bytes
    description: str


_FIRST_NAMES = [
    "Maria", "James", "Aisha", "Chen", "Olivia", "Mateo", "Priya", "Noah", "Fatima", "Liam",
    "Sofia", "Kwame", "Emma", "Hiroshi", "Grace", "Diego", "Amara", "Lucas", "Zoe", "Ibrahim",
]  # fmt: skip
_LAST_NAMES = [
    "Garcia", "Johnson", "Okafor", "Wang", "Smith", "Rossi", "Patel", "Nguyen", "Haddad", "Murphy",
    "Kowalski", "Mensah", "Brown", "Tanaka", "Lee", "Fernandez", "Adeyemi", "Silva", "Cohen", "Khan",
]  # fmt: skip
_ORDER_STATUSES = ["shipped", "pending", "delivered", "cancelled", "returned"]
_EVENT_TYPES = ["page_view", "signup", "login", "purchase", "logout"]


def _csv_bytes(rows: list[list[str]], delimiter: str = ",") -> bytes:
    # csv.writer quotes fields that need it and doubles embedded quotes: the escaped=false convention.
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _people_rows() -> list[list[str]]:
    rows = [["id", "name", "email", "signup_date", "age"]]
    for index in range(50):
        first = _FIRST_NAMES[index % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(index * 7 + 3) % len(_LAST_NAMES)]
        name = f"{first} {last}"
        if index == 11:
            name = "Smith, Jr."  # needs quoting: it contains the delimiter
        if index == 26:
            first, last, name = "Robert", "Lee", 'Robert "Bobby" Lee'  # an embedded quote, written doubled
        email = f"{first.lower()}.{last.lower().replace(',', '')}{index + 1}@example.com"
        if index == 11:
            email = f"smith.jr{index + 1}@example.com"
        signup = date(2023, 1, 2) + timedelta(days=index * 9)
        age = 19 + (index * 37) % 60
        rows.append([str(index + 1), name, email, signup.isoformat(), str(age)])
    return rows


def _orders_rows() -> list[list[str]]:
    rows = [["order_id", "customer_id", "order_date", "amount", "status"]]
    for index in range(30):
        amount = (index * 1379 + 499) % 50000 / 100
        ordered = date(2024, 1, 3) + timedelta(days=index * 3)
        status = _ORDER_STATUSES[index % len(_ORDER_STATUSES)]
        rows.append([str(1001 + index), str(1 + (index * 13) % 50), ordered.isoformat(), f"{amount:.2f}", status])
    return rows


# Data row index (0-based) -> column -> bad value. File row = index + 2 (the header is row 1).
_BAD_EVENT_VALUES: dict[int, dict[str, str]] = {
    5: {"user_id": "abc"},
    12: {"occurred_on": "2024-02-30"},
    19: {"duration_seconds": "12.5"},
}


def _events_rows() -> list[list[str]]:
    header = ["event_id", "user_id", "event_type", "occurred_on", "duration_seconds"]
    rows = [header]
    for index in range(25):
        row = {
            "event_id": str(5001 + index),
            "user_id": str(1 + (index * 17) % 50),
            "event_type": _EVENT_TYPES[index % len(_EVENT_TYPES)],
            "occurred_on": (date(2024, 2, 1) + timedelta(days=index)).isoformat(),
            "duration_seconds": str(5 + (index * 29) % 600),
        }
        row.update(_BAD_EVENT_VALUES.get(index, {}))
        rows.append([row[name] for name in header])
    return rows


def _customers_rows() -> list[list[str]]:
    rows = [["customer_id", "full_name", "email_address", "created_on"]]
    for index in range(15):
        first = _FIRST_NAMES[(index * 3 + 1) % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(index * 11 + 5) % len(_LAST_NAMES)]
        created = date(2022, 6, 1) + timedelta(days=index * 23)
        email = f"{first[0].lower()}{last.lower()}@example.org"
        rows.append([str(201 + index), f"{first} {last}", email, created.isoformat()])
    return rows


_PEOPLE = _csv_bytes(_people_rows())

DEMO_FILES: dict[int, DemoFile] = {
    9001: DemoFile(
        "people.csv",
        _PEOPLE,
        "50 people (id,name,email,signup_date,age); comma-delimited with a header row. Loads as is.",
    ),
    9002: DemoFile(
        "people.csv.gz",
        gzip.compress(_PEOPLE, mtime=0),
        'The people.csv rows, gzip-compressed: needs compression="gzip".',
    ),
    9003: DemoFile(
        "orders_pipe.txt",
        _csv_bytes(_orders_rows(), delimiter="|"),
        '30 orders, pipe-delimited with a header row: needs column_delimiter="pipe".',
    ),
    9004: DemoFile(
        "events_bad_rows.csv",
        _csv_bytes(_events_rows()),
        "25 events, 3 with bad values (rows 7, 14, 21): fails with max_errors=0, loads 22 rows with max_errors>=3.",
    ),
    9005: DemoFile(
        "customers_header_mismatch.csv",
        _csv_bytes(_customers_rows()),
        "15 customers whose header says full_name and email_address where the demo table_columns say name and email.",
    ),
}

_PEOPLE_COLUMNS = [
    {"name": "id", "sql_type": "INTEGER"},
    {"name": "name", "sql_type": "VARCHAR(100)"},
    {"name": "email", "sql_type": "VARCHAR(255)"},
    {"name": "signup_date", "sql_type": "DATE"},
    {"name": "age", "sql_type": "INTEGER"},
]

# File name -> the table_columns a demo import of that file declares. For customers_header_mismatch.csv these are
# deliberately wrong (the point of that demo); DEMO_CORRECTED_TABLE_COLUMNS has the fix.
DEMO_TABLE_COLUMNS: dict[str, list[dict[str, str]]] = {
    "people.csv": _PEOPLE_COLUMNS,
    "people.csv.gz": _PEOPLE_COLUMNS,
    "orders_pipe.txt": [
        {"name": "order_id", "sql_type": "INTEGER"},
        {"name": "customer_id", "sql_type": "INTEGER"},
        {"name": "order_date", "sql_type": "DATE"},
        {"name": "amount", "sql_type": "NUMERIC(10,2)"},
        {"name": "status", "sql_type": "VARCHAR(20)"},
    ],
    "events_bad_rows.csv": [
        {"name": "event_id", "sql_type": "INTEGER"},
        {"name": "user_id", "sql_type": "INTEGER"},
        {"name": "event_type", "sql_type": "VARCHAR(50)"},
        {"name": "occurred_on", "sql_type": "DATE"},
        {"name": "duration_seconds", "sql_type": "INTEGER"},
    ],
    "customers_header_mismatch.csv": [
        {"name": "customer_id", "sql_type": "INTEGER"},
        {"name": "name", "sql_type": "VARCHAR(100)"},
        {"name": "email", "sql_type": "VARCHAR(255)"},
        {"name": "created_on", "sql_type": "DATE"},
    ],
}

# File name -> table_columns that fix a demo whose declared columns are the problem.
DEMO_CORRECTED_TABLE_COLUMNS: dict[str, list[dict[str, str]]] = {
    "customers_header_mismatch.csv": [
        {"name": "customer_id", "sql_type": "INTEGER"},
        {"name": "full_name", "sql_type": "VARCHAR(100)"},
        {"name": "email_address", "sql_type": "VARCHAR(255)"},
        {"name": "created_on", "sql_type": "DATE"},
    ],
}
