"""Demo data outside Civis: the CRM database behind remote host 3002 and the Google Sheets behind host 3003.

The CRM database (SQLite by default, PostgreSQL when configured) has four schemas:

=========== ============================================================== =========================================
schema      tables                                                         who may use it
=========== ============================================================== =========================================
``public``  ``contacts`` (40 rows), ``donations`` (120), ``voters_2020`` (25) read: 4002 and 4008
``finance`` ``ledger`` (30)                                                read: 4002 and 4008
``private`` ``payroll`` (5)                                                nobody
``exports`` (empty: where outbound Dbsync imports write)                   write: 4008 only
=========== ============================================================== =========================================

Credential 4002 ("CRM read-only", the teammate's, shared with the caller) may only read; 4008 ("CRM loader", the
caller's) may also create and fill tables in ``exports``. Any other credential cannot log in to the CRM at all.

Sheets are kept by the sandbox (``Store.save_sheet``), each tab as CSV text, shared with Google credentials by ID.
Everything is generated from fixed lists, so every sandbox has the same rows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from civis_mcp.sandbox.databases import Column, Database, Grants, column_type
from civis_mcp.sandbox.store import Sheet, Store

__all__ = [
    "CREDENTIAL_GRANTS",
    "CRM_LOADER_CREDENTIAL_ID",
    "CRM_READ_ONLY_CREDENTIAL_ID",
    "GOOGLE_CREDENTIAL_ID",
    "SHEETS",
    "seed_crm",
    "seed_sheets",
]

CRM_HOST_ID = 3002  # demo.DEMO_POSTGRES_HOST_ID (repeated here so demo.py can import this module)
CRM_READ_ONLY_CREDENTIAL_ID = 4002
CRM_LOADER_CREDENTIAL_ID = 4008
GOOGLE_CREDENTIAL_ID = 4003

CREDENTIAL_GRANTS: dict[int, dict[int, Grants]] = {
    CRM_READ_ONLY_CREDENTIAL_ID: {CRM_HOST_ID: {"public": "read", "finance": "read"}},
    CRM_LOADER_CREDENTIAL_ID: {CRM_HOST_ID: {"public": "read", "finance": "read", "exports": "write"}},
}
"""Credential -> host -> schema -> access. Stored on each credential (``grants``) and, on PostgreSQL, as roles."""

_FIRST = ["Ana", "Ben", "Chloe", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun"]
_LAST = ["Souza", "Carter", "Park", "Mehta"]
_COUNTIES = ["Cook", "DuPage", "Lake", "Will", "Kane"]
_BASE_TIME = datetime(2024, 3, 1, 9, 0, 0)


def _columns(*pairs: tuple[str, str]) -> list[Column]:
    return [Column(name, column_type(declared)) for name, declared in pairs]


def _contacts() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for index in range(40):
        name = f"{_FIRST[index % 10]} {_LAST[index // 10]}"
        email = f"{name.lower().replace(' ', '.')}@example.org"
        # One note is long: it fits the source's VARCHAR(200) but not a narrower destination column.
        notes = "Prefers phone calls; do not e-mail before the spring campaign starts" if index == 7 else None
        updated = (_BASE_TIME + timedelta(days=index, hours=index % 5)).isoformat(sep=" ")
        rows.append((index + 1, name, email, notes, updated))
    return rows


def _donations() -> list[tuple[Any, ...]]:
    return [
        (
            index + 1,
            index % 40 + 1,
            float(f"{10 + (index * 7) % 240}.{index % 100:02d}"),
            str(date(2024, 1, 1) + timedelta(days=index)),
        )
        for index in range(120)
    ]


CRM_TABLES: dict[tuple[str, str], tuple[list[Column], list[str], list[tuple[Any, ...]]]] = {
    ("public", "contacts"): (
        _columns(
            ("id", "INTEGER"),
            ("full_name", "VARCHAR(100)"),
            ("email", "VARCHAR(200)"),
            ("notes", "VARCHAR(200)"),
            ("updated_at", "TIMESTAMP"),
        ),
        ["id"],
        _contacts(),
    ),
    ("public", "donations"): (
        _columns(("id", "INTEGER"), ("contact_id", "INTEGER"), ("amount", "NUMERIC(10,2)"), ("donated_on", "DATE")),
        ["id"],
        _donations(),
    ),
    ("public", "voters_2020"): (
        _columns(("voter_id", "INTEGER"), ("county", "VARCHAR(50)"), ("registered", "BOOLEAN")),
        ["voter_id"],
        [(1000 + index, _COUNTIES[index % 5], index % 3 != 0) for index in range(25)],
    ),
    ("finance", "ledger"): (
        _columns(
            ("entry_id", "INTEGER"),
            ("account", "VARCHAR(50)"),
            ("debit", "NUMERIC(12,2)"),
            ("credit", "NUMERIC(12,2)"),
            ("posted_on", "DATE"),
        ),
        ["entry_id"],
        [
            (
                index + 1,
                ["cash", "grants", "payroll"][index % 3],
                float(index * 100),
                0.0,
                str(date(2024, 2, 1) + timedelta(days=index)),
            )
            for index in range(30)
        ],
    ),
    ("private", "payroll"): (
        _columns(("employee_id", "INTEGER"), ("salary", "NUMERIC(12,2)")),
        ["employee_id"],
        [(index + 1, 50_000.0 + index * 1_000) for index in range(5)],
    ),
}
CRM_SCHEMAS = ("public", "finance", "private", "exports")


def seed_crm(database: Database) -> bool:
    """Create and fill the CRM tables unless they are there; apply the credentials' grants. True when it seeded."""
    with database.session(None, None) as session:
        seeded = session.columns("public", "contacts") is None
        if seeded:
            for schema in CRM_SCHEMAS:
                session.create_schema(schema)
            for (schema, table), (columns, key, rows) in CRM_TABLES.items():
                session.create_table(schema, table, columns, key)
                session.insert(schema, table, columns, rows)
    for credential_id, hosts in CREDENTIAL_GRANTS.items():
        grants = hosts.get(CRM_HOST_ID)
        if grants:
            database.apply_grants(credential_id, grants)
    return seeded


def _csv(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


_EVENT_HEADER = "name,email,event,guests,signed_up_on"
_EVENTS = ["Rally", "Canvass", "Phone bank"]
_SIGNUPS = [
    f"{_FIRST[i]} {_LAST[i % 4]},{_FIRST[i].lower()}{i}@example.org,{_EVENTS[i % 3]},{i % 4},2024-04-{i + 1:02d}"
    for i in range(10)
]

SHEETS: list[Sheet] = [
    # The sheet the demo GdocImport (103) loads, and a tab of late answers with a value that is not a number.
    Sheet(
        "1vQdemoSheetId0123456789abcdef", "Event Sign-ups 2024", 0, "Responses", _csv(_EVENT_HEADER, _SIGNUPS), (4003,)
    ),
    Sheet(
        "1vQdemoSheetId0123456789abcdef",
        "Event Sign-ups 2024",
        1,
        "Late responses",
        _csv(
            _EVENT_HEADER,
            [
                "Kai Moreno,kai@example.org,Rally,1,2024-05-02",
                "Lea Novak,lea@example.org,Canvass,two,2024-05-03",
                "Max Ito,max@example.org,Phone bank,0,2024-05-04",
            ],
        ),
        (4003,),
    ),
    Sheet(
        "1vQshiftsSheetId0123456789abcd",
        "Volunteer Shifts",
        0,
        "Shifts",
        _csv(
            "volunteer,shift_date,hours",
            [f"{_FIRST[i]} {_LAST[i % 4]},2024-06-{i + 1:02d},{2 + i % 3}" for i in range(8)],
        ),
        (4003,),
    ),
    # Not shared with any credential of the caller: reading it is refused.
    Sheet(
        "1vQboardSheetId0123456789abcde", "Board contacts", 0, "Sheet1", _csv("name,phone", ["Ola Berg,555-0100"]), ()
    ),
    # Where the demo GdocExport writes; its tab "Totals" already exists.
    Sheet("1vQtotalsSheetId0123456789abc", "Weekly totals", 0, "Totals", _csv("week,people", ["2024-W01,12"]), (4003,)),
]


def seed_sheets(store: Store) -> None:
    for sheet in SHEETS:
        store.save_sheet(sheet)
