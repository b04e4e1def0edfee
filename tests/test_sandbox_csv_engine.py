"""The sandbox CSV engine against a real in-memory SQLite warehouse, using the demo files and small ad-hoc files."""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from civis_mcp.models.csv import CsvImport
from civis_mcp.sandbox.csv_engine import CsvJob, CsvOutcome, execute_csv_import, warehouse_table_name
from civis_mcp.sandbox.demo_files import DEMO_CORRECTED_TABLE_COLUMNS, DEMO_FILES, DEMO_TABLE_COLUMNS

FILES: dict[int, bytes] = {file_id: demo.content for file_id, demo in DEMO_FILES.items()}


def columns_of(file_id: int) -> list[dict[str, str]]:
    return DEMO_TABLE_COLUMNS[DEMO_FILES[file_id].name]


def settings(
    file_ids: list[int],
    table_columns: list[dict[str, Any]] | None,
    *,
    schema: str = "demo",
    table: str = "people",
    primary_keys: list[str] | None = None,
    last_modified_keys: list[str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A CSV import's stored settings, every field of CsvImport present as the sandbox stores them."""
    stored: dict[str, Any] = {
        "id": 77,
        "name": "demo import",
        "source": {"file_ids": file_ids, "storage_path": None},
        "destination": {
            "schema": schema,
            "table": table,
            "remote_host_id": 1,
            "credential_id": 2,
            "primary_keys": primary_keys,
            "last_modified_keys": last_modified_keys,
        },
        "first_row_is_header": True,
        "column_delimiter": None,
        "escaped": None,
        "compression": None,
        "existing_table_rows": None,
        "max_errors": None,
        "table_columns": table_columns,
        "loosen_types": None,
        "execution": None,
        "redshift_destination_options": None,
        "hidden": False,
        "my_permission_level": "manage",
    }
    stored.update(overrides)
    return stored


class Run:
    """One call of execute_csv_import, with its log lines and outcome kept for assertions."""

    def __init__(
        self,
        db: sqlite3.Connection,
        stored: Mapping[str, Any],
        files: Mapping[int, bytes] = FILES,
        should_cancel: Callable[[], bool] = lambda: False,
        run_id: int = 42,
    ) -> None:
        self.logs: list[tuple[str, str]] = []
        self.outcome: CsvOutcome = execute_csv_import(
            CsvJob(settings=stored, files=files, run_id=run_id),
            db,
            lambda level, message: self.logs.append((level, message)),
            should_cancel,
        )

    @property
    def text(self) -> str:
        return "\n".join(message for _, message in self.logs)

    def levels(self, level: str) -> list[str]:
        return [message for logged, message in self.logs if logged == level]


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    yield connection
    connection.close()


def rows(db: sqlite3.Connection, schema: str, table: str, order: str = "1") -> list[tuple[Any, ...]]:
    return db.execute(f'SELECT * FROM "{warehouse_table_name(schema, table)}" ORDER BY {order}').fetchall()


def table_exists(db: sqlite3.Connection, schema: str, table: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return db.execute(query, (warehouse_table_name(schema, table),)).fetchone() is not None


def column_types(db: sqlite3.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    info = db.execute(f'PRAGMA table_info("{warehouse_table_name(schema, table)}")').fetchall()
    return [(row[1], row[2]) for row in info]


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- the settings shape -----------------------------------------------------------------------------------------------


def test_test_settings_use_exactly_the_csv_import_field_names() -> None:
    # The engine reads the stored settings by CsvImport's field names; a rename there must show up here.
    assert set(settings([9001], None)) == set(CsvImport.model_fields)


def test_warehouse_table_name_rule() -> None:
    assert warehouse_table_name("Demo", "People") == "demo__people"
    assert warehouse_table_name("public", "orders_2024") == "public__orders_2024"


# --- each demo file with the settings that load it --------------------------------------------------------------------


def test_people_csv_loads_with_quoted_values(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9001], columns_of(9001)))
    assert run.outcome == CsvOutcome("succeeded", None, 50, 0, "demo.people")
    loaded = rows(db, "demo", "people")
    assert len(loaded) == 50
    assert loaded[0] == (1, "Maria Wang", "maria.wang1@example.com", "2023-01-02", 19)
    assert loaded[11][1] == "Smith, Jr."  # quoted because it holds the delimiter
    assert loaded[26][1] == 'Robert "Bobby" Lee'  # doubled quotes, escaped=false
    assert all(isinstance(row[4], int) for row in loaded)
    assert column_types(db, "demo", "people") == [
        ("id", "INTEGER"),
        ("name", "VARCHAR(100)"),
        ("email", "VARCHAR(255)"),
        ("signup_date", "DATE"),
        ("age", "INTEGER"),
    ]
    assert "Starting CSV import run 42 into demo.people" in run.text
    assert run.logs[-1][0] == "info"
    assert run.logs[-1][1].startswith("Run succeeded: loaded 50 rows into demo.people")
    assert "Columns (5): id INTEGER, name VARCHAR(100)" in run.text
    assert f"File 9001: {len(FILES[9001]):,} bytes" in run.text


def test_gzip_people_loads_the_same_rows(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001), table="plain"))
    run = Run(db, settings([9002], columns_of(9002), table="zipped", compression="gzip"))
    assert run.outcome.state == "succeeded"
    assert run.outcome.rows_loaded == 50
    assert rows(db, "demo", "zipped") == rows(db, "demo", "plain")


def test_pipe_orders_load_with_pipe_delimiter(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9003], columns_of(9003), table="orders", column_delimiter="pipe"))
    assert run.outcome.state == "succeeded", run.text
    loaded = rows(db, "demo", "orders")
    assert len(loaded) == 30
    assert loaded[0] == (1001, 1, "2024-01-03", 4.99, "shipped")
    assert loaded[1][3] == pytest.approx(18.78)


def test_events_with_enough_max_errors_load_the_good_rows(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9004], columns_of(9004), table="events", max_errors=10))
    assert run.outcome == CsvOutcome("succeeded", None, 22, 3, "demo.events")
    ids = {row[0] for row in rows(db, "demo", "events")}
    assert len(ids) == 22
    assert {5006, 5013, 5020}.isdisjoint(ids)  # the three bad rows
    assert {5001, 5005, 5007, 5025} <= ids
    assert len(run.levels("warn")) >= 3


def test_customers_load_with_corrected_columns(db: sqlite3.Connection) -> None:
    corrected = DEMO_CORRECTED_TABLE_COLUMNS["customers_header_mismatch.csv"]
    run = Run(db, settings([9005], corrected, table="customers"))
    assert run.outcome.rows_loaded == 15
    assert rows(db, "demo", "customers")[0] == (201, "James Rossi", "jrossi@example.org", "2022-06-01")


def test_demo_content_is_deterministic() -> None:
    import importlib

    import civis_mcp.sandbox.demo_files as demo_files

    before = {file_id: demo.content for file_id, demo in demo_files.DEMO_FILES.items()}
    reloaded = importlib.reload(demo_files)
    assert {file_id: demo.content for file_id, demo in reloaded.DEMO_FILES.items()} == before
    assert gzip.decompress(before[9002]) == before[9001]
    assert set(before) == {9001, 9002, 9003, 9004, 9005}


# --- settings that do not fit the file --------------------------------------------------------------------------------


def test_pipe_file_read_as_comma_fails_with_delimiter_hint(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9003], columns_of(9003), table="orders"))
    expected = (
        "Column count mismatch: the file has 1 column(s) per row but table_columns lists 5. "
        "The file looks pipe-delimited ('|' in the header); set column_delimiter=\"pipe\"."
    )
    assert run.outcome.state == "failed"
    assert run.outcome.error == expected
    assert ("error", expected) in run.logs
    assert run.logs[-1][0] == "fatal"
    assert not table_exists(db, "demo", "orders")


def test_tab_file_read_as_comma_without_columns_fails_with_hint(db: sqlite3.Connection) -> None:
    tabbed = {1: csv_bytes("a\tb\tc", "1\t2\t3")}
    run = Run(db, settings([1], None, table="tabbed"), files=tabbed)
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert 'set column_delimiter="tab"' in run.outcome.error
    assert run.outcome.error.startswith("The file has 1 column per row with column_delimiter=comma.")


def test_plain_column_count_mismatch_says_to_list_every_column(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9001], columns_of(9001)[:4]))
    assert run.outcome.error is not None
    assert "the file has 5 column(s) per row but table_columns lists 4" in run.outcome.error
    assert "column_delimiter" not in run.outcome.error
    assert "list every column" in run.outcome.error


def test_gzip_file_declared_uncompressed_fails(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9002], columns_of(9002)))
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert run.outcome.error.startswith("File 9002 is gzip-compressed")
    assert run.outcome.error.endswith('set compression="gzip".')
    assert not table_exists(db, "demo", "people")


def test_plain_file_declared_gzip_fails(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9001], columns_of(9001), compression="gzip"))
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert run.outcome.error.startswith("File 9001 is not gzip-compressed")
    assert run.outcome.error.endswith('set compression="none".')


def test_corrupt_gzip_fails_cleanly(db: sqlite3.Connection) -> None:
    truncated = {1: FILES[9002][: len(FILES[9002]) // 2]}
    run = Run(db, settings([1], columns_of(9001), compression="gzip"), files=truncated)
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert "gzip data is corrupt or truncated" in run.outcome.error
    assert not table_exists(db, "demo", "people")


def test_header_mismatch_lists_the_differing_names(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9005], columns_of(9005), table="customers"))
    assert run.outcome.state == "failed"
    error = run.outcome.error
    assert error is not None
    assert error.startswith("Header mismatch")
    assert "column 2: 'full_name' in the file, 'name' in table_columns" in error
    assert "column 3: 'email_address' in the file, 'email' in table_columns" in error
    assert "customer_id" not in error  # matching columns are not listed
    assert not table_exists(db, "demo", "customers")


def test_unknown_file_id_fails(db: sqlite3.Connection) -> None:
    run = Run(db, settings([123], columns_of(9001)))
    message = "File 123 not found: no Civis file with that ID is visible to this user."
    assert run.outcome == CsvOutcome("failed", message, 0, 0, "demo.people")
    assert ("error", message) in run.logs


def test_storage_path_source_is_not_available(db: sqlite3.Connection) -> None:
    storage = {"storage_host_id": 1, "credential_id": 2, "file_paths": ["/a.csv"]}
    run = Run(db, settings([], None, source={"file_ids": None, "storage_path": storage}))
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert "storage path imports are not available in the sandbox" in run.outcome.error.lower()


def test_unsupported_sql_type_fails_naming_the_column(db: sqlite3.Connection) -> None:
    declared = [*columns_of(9001)[:4], {"name": "age", "sql_type": "GEOMETRY"}]
    run = Run(db, settings([9001], declared))
    assert run.outcome.error is not None
    assert "table_columns[5] ('age'): sql_type 'GEOMETRY' is not supported" in run.outcome.error


def test_logs_do_not_dump_settings_wholesale(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9001], columns_of(9001)))
    assert "credential" not in run.text.lower()
    assert "remote_host_id" not in run.text
    assert "column_delimiter=comma (default)" in run.text


# --- bad rows and max_errors ------------------------------------------------------------------------------------------


def test_bad_rows_with_max_errors_zero_fail_naming_row_column_value(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9004], columns_of(9004), table="events"))
    assert run.outcome.state == "failed"
    assert run.outcome.rows_rejected == 3
    assert run.outcome.rows_loaded == 0
    assert run.outcome.error is not None
    assert run.outcome.error.startswith(
        "3 row(s) failed to load (max_errors=0). First error: row 7, column 'user_id': 'abc' is not a valid INTEGER."
    )
    assert "Rejected row 14, column 'occurred_on': '2024-02-30' is not a valid DATE (no such day)." in run.text
    assert "Rejected row 21, column 'duration_seconds': '12.5' is not a valid INTEGER." in run.text
    assert not table_exists(db, "demo", "events")


def test_max_errors_exactly_the_bad_row_count_succeeds(db: sqlite3.Connection) -> None:
    assert Run(db, settings([9004], columns_of(9004), table="a", max_errors=3)).outcome.state == "succeeded"
    assert Run(db, settings([9004], columns_of(9004), table="b", max_errors=2)).outcome.state == "failed"


def test_reject_lines_stop_at_twenty_then_summarise(db: sqlite3.Connection) -> None:
    bad = {1: csv_bytes("n", *[f"x{i}" for i in range(25)], "7")}
    run = Run(db, settings([1], [{"name": "n", "sql_type": "INTEGER"}], table="n", max_errors=100), files=bad)
    assert run.outcome == CsvOutcome("succeeded", None, 1, 25, "demo.n")
    detail = [message for message in run.levels("warn") if message.startswith("Rejected row")]
    assert len(detail) == 20
    assert detail[0] == "Rejected row 2, column 'n': 'x0' is not a valid INTEGER."
    assert "... and 5 more rejected rows not shown." in run.text


def test_long_values_are_truncated_in_logs(db: sqlite3.Connection) -> None:
    long_value = "z" * 100
    bad = {1: csv_bytes("n", long_value)}
    run = Run(db, settings([1], [{"name": "n", "sql_type": "INTEGER"}], table="n"), files=bad)
    assert run.outcome.error is not None
    assert long_value not in run.text
    assert "'" + "z" * 37 + "...' is not a valid INTEGER" in run.outcome.error


def test_wrong_field_count_is_a_rejected_row(db: sqlite3.Connection) -> None:
    ragged = {1: csv_bytes("a,b", "1,2", "3", "4,5")}
    declared = [{"name": "a", "sql_type": "INT"}, {"name": "b", "sql_type": "INT"}]
    run = Run(db, settings([1], declared, table="r", max_errors=1), files=ragged)
    assert run.outcome.rows_loaded == 2
    assert "Rejected row 3: has 1 column(s) but 2 were expected." in run.text


def test_varchar_overflow_is_a_rejected_row(db: sqlite3.Connection) -> None:
    data = {1: csv_bytes("code", "abc", "abcdef", "ab")}
    run = Run(db, settings([1], [{"name": "code", "sql_type": "VARCHAR(3)"}], table="c", max_errors=5), files=data)
    assert run.outcome.rows_loaded == 2
    assert run.outcome.rows_rejected == 1
    assert "Rejected row 3, column 'code': 'abcdef' is too long for VARCHAR(3) (6 bytes)." in run.text
    assert rows(db, "demo", "c") == [("ab",), ("abc",)]


def test_header_row_read_as_data_gets_a_hint(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9001], columns_of(9001), first_row_is_header=False))
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert "First error: row 1, column 'id': 'id' is not a valid INTEGER." in run.outcome.error
    assert run.outcome.error.endswith("The first row looks like a header; set first_row_is_header=true.")


@pytest.mark.parametrize(
    ("sql_type", "raw", "stored"),
    [
        ("INTEGER", " 42 ", 42),
        ("BIGINT", "9000000000", 9000000000),
        ("SMALLINT", "-32768", -32768),
        ("FLOAT", "1.5e3", 1500.0),
        ("DOUBLE PRECISION", "-0.25", -0.25),
        ("NUMERIC(5,2)", "123.456", 123.46),
        ("DECIMAL(6,0)", "42", 42),
        ("BOOLEAN", "Yes", 1),
        ("BOOLEAN", "f", 0),
        ("DATE", "2024-02-29", "2024-02-29"),
        ("TIMESTAMP", "2024-01-05T10:30:00", "2024-01-05 10:30:00"),
        ("TIMESTAMP", "2024-01-05 10:30:00+02:00", "2024-01-05 08:30:00"),
        ("VARCHAR(5)", "héllo", None),  # 6 UTF-8 bytes: rejected, so nothing is stored
        ("CHAR(2)", "ab", "ab"),
        ("TEXT", "x" * 1000, "x" * 1000),
        ("INTEGER", '""', None),  # an empty field loads as NULL
    ],
)
def test_values_convert_per_sql_type(db: sqlite3.Connection, sql_type: str, raw: str, stored: object) -> None:
    data = {1: csv_bytes("v", raw, "")}  # the blank line is skipped, as a blank line should be
    run = Run(db, settings([1], [{"name": "v", "sql_type": sql_type}], table="v", max_errors=1), files=data)
    assert run.outcome.state == "succeeded", run.text
    loaded = rows(db, "demo", "v")
    if sql_type == "VARCHAR(5)":
        assert loaded == [] and run.outcome.rows_rejected == 1
    else:
        assert loaded == [(stored,)]


@pytest.mark.parametrize(
    ("sql_type", "raw", "reason"),
    [
        ("INTEGER", "12.5", "is not a valid INTEGER"),
        ("INTEGER", "1_000", "is not a valid INTEGER"),
        ("SMALLINT", "40000", "is out of range for SMALLINT"),
        ("INTEGER", "3000000000", "is out of range for INTEGER"),
        ("FLOAT", "abc", "is not a valid FLOAT"),
        ("NUMERIC(5,2)", "12345.6", "is out of range for NUMERIC(5,2)"),
        ("BOOLEAN", "maybe", "is not a valid BOOLEAN"),
        ("DATE", "01/05/2024", "is not a valid DATE (expected YYYY-MM-DD)"),
        ("TIMESTAMP", "2024-01-05 25:00:00", "is not a valid TIMESTAMP (no such date or time)"),
    ],
)
def test_bad_values_are_rejected_with_reason(db: sqlite3.Connection, sql_type: str, raw: str, reason: str) -> None:
    data = {1: csv_bytes("v", raw)}
    run = Run(db, settings([1], [{"name": "v", "sql_type": sql_type}], table="v"), files=data)
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert f"First error: row 2, column 'v': '{raw}' {reason}" in run.outcome.error


# --- parsing options --------------------------------------------------------------------------------------------------


def test_backslash_escaped_quotes_with_escaped_true(db: sqlite3.Connection) -> None:
    data = {1: b'id\tquote\n1\t"She said \\"hi\\""\n2\tplain\n'}
    declared = [{"name": "id", "sql_type": "INTEGER"}, {"name": "quote", "sql_type": "VARCHAR(50)"}]
    run = Run(db, settings([1], declared, table="q", column_delimiter="tab", escaped=True), files=data)
    assert run.outcome.state == "succeeded", run.text
    assert rows(db, "demo", "q") == [(1, 'She said "hi"'), (2, "plain")]


def test_doubled_quotes_are_misread_when_escaped_true(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9001], columns_of(9001), escaped=True))
    assert run.outcome.rows_loaded == 50
    # With backslash escaping, "" is no longer an escaped quote, so the value comes out mangled.
    assert rows(db, "demo", "people")[26][1] == 'Robert "Bobby"" Lee"'


def test_unparseable_row_is_rejected_with_an_escaping_hint(db: sqlite3.Connection) -> None:
    data = {1: csv_bytes("a,b", '1,"x"y', "2,3", "4,5")}
    declared = [{"name": "a", "sql_type": "INTEGER"}, {"name": "b", "sql_type": "VARCHAR(10)"}]
    failed = Run(db, settings([1], declared, table="p"), files=data)
    assert failed.outcome.error is not None
    assert "First error: row 2: the row could not be parsed" in failed.outcome.error
    assert "set escaped=true" in failed.outcome.error
    skipped = Run(db, settings([1], declared, table="p", max_errors=1), files=data)
    assert skipped.outcome.rows_loaded == 2  # the reader resumes after the bad row
    assert rows(db, "demo", "p") == [(2, "3"), (4, "5")]


def test_unterminated_quote_is_a_bad_row_not_a_swallowed_file(db: sqlite3.Connection) -> None:
    data = {1: csv_bytes("a,b", "1,2", '3,"never closed', "5,6")}
    run = Run(db, settings([1], None, table="u"), files=data)
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert "row 3: the row could not be parsed (unexpected end of data)" in run.outcome.error


def test_no_header_and_no_columns_gives_col_names_and_inferred_types(db: sqlite3.Connection) -> None:
    data = {1: csv_bytes("1,alice,2024-01-01,true,1.5", "2,bob,2024-01-02,false,2", "3,,2024-01-03,TRUE,")}
    run = Run(db, settings([1], None, table="guess", first_row_is_header=False), files=data)
    assert run.outcome.rows_loaded == 3
    assert column_types(db, "demo", "guess") == [
        ("col1", "INTEGER"),
        ("col2", "VARCHAR(5)"),
        ("col3", "DATE"),
        ("col4", "BOOLEAN"),
        ("col5", "FLOAT"),
    ]
    assert rows(db, "demo", "guess")[2] == (3, None, "2024-01-03", 1, None)


def test_repeated_header_name_fails_even_when_appending(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    repeated = {1: csv_bytes("id,name,name,signup_date,age", "1,a,b,2024-01-01,3")}
    run = Run(db, settings([1], None, existing_table_rows="append"), files=repeated)
    assert run.outcome.error == (
        "The header repeats column name 'name'; set table_columns to give every column a unique name."
    )
    assert len(rows(db, "demo", "people")) == 50


def test_header_names_columns_when_table_columns_are_absent(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9001], None))
    assert run.outcome.rows_loaded == 50
    assert [name for name, _ in column_types(db, "demo", "people")] == ["id", "name", "email", "signup_date", "age"]
    assert dict(column_types(db, "demo", "people"))["signup_date"] == "DATE"


def test_missing_sql_type_is_inferred_for_that_column_only(db: sqlite3.Connection) -> None:
    declared: list[dict[str, Any]] = [dict(column) for column in columns_of(9001)]
    declared[4] = {"name": "age", "sql_type": None}
    run = Run(db, settings([9001], declared))
    assert run.outcome.state == "succeeded"
    assert column_types(db, "demo", "people")[1:] == [
        ("name", "VARCHAR(100)"),
        ("email", "VARCHAR(255)"),
        ("signup_date", "DATE"),
        ("age", "INTEGER"),
    ]


def test_loosen_types_widens_lengths_on_create(db: sqlite3.Connection) -> None:
    Run(db, settings([9003], columns_of(9003), table="orders", column_delimiter="pipe", loosen_types=True))
    types = dict(column_types(db, "demo", "orders"))
    assert types["status"] == "VARCHAR(40)"
    assert types["amount"] == "NUMERIC(20,2)"


def test_several_files_load_together_and_rejects_name_the_file(db: sqlite3.Connection) -> None:
    extra = csv_bytes("id,name,email,signup_date,age", "51,New Person,new@example.com,2024-01-01,oops")
    run = Run(db, settings([9001, 5], columns_of(9001), max_errors=1), files={**FILES, 5: extra})
    assert run.outcome.rows_loaded == 50
    assert "Rejected file 5 row 2, column 'age': 'oops' is not a valid INTEGER." in run.text


def test_several_files_must_share_the_header(db: sqlite3.Connection) -> None:
    other = csv_bytes("id,full_name,email,signup_date,age", "51,A,a@example.com,2024-01-01,3")
    run = Run(db, settings([9001, 5], columns_of(9001)), files={**FILES, 5: other})
    assert run.outcome.error is not None
    assert "The header of file 5 differs from the header of file 9001" in run.outcome.error


# --- existing_table_rows ----------------------------------------------------------------------------------------------


def two_people() -> bytes:
    return csv_bytes(
        "id,name,email,signup_date,age",
        "1,Maria Updated,maria@example.com,2023-01-02,20",
        "51,Newcomer,newcomer@example.com,2024-05-01,30",
    )


def test_fail_mode_refuses_an_existing_table(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    run = Run(db, settings([9001], columns_of(9001)))
    assert run.outcome.error == (
        'Table demo.people already exists and existing_table_rows is "fail"; '
        'set it to "append", "truncate", "drop" or "upsert".'
    )
    assert len(rows(db, "demo", "people")) == 50


def test_truncate_replaces_the_rows(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    run = Run(db, settings([7], columns_of(9001), existing_table_rows="truncate"), files={7: two_people()})
    assert run.outcome.rows_loaded == 2
    assert [row[0] for row in rows(db, "demo", "people")] == [1, 51]
    assert "Truncating table demo.people (50 existing rows)." in run.text


def test_append_adds_rows(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    run = Run(db, settings([9001], columns_of(9001), existing_table_rows="append"))
    assert run.outcome.rows_loaded == 50
    assert len(rows(db, "demo", "people")) == 100


def test_append_maps_reordered_columns_by_name(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    reordered = csv_bytes("age,id,name,email,signup_date", "33,77,Reordered,r@example.com,2024-03-03")
    run = Run(db, settings([8], None, existing_table_rows="append"), files={8: reordered})
    assert run.outcome.state == "succeeded", run.text
    assert rows(db, "demo", "people", order="id DESC")[0] == (77, "Reordered", "r@example.com", "2024-03-03", 33)


def test_append_with_different_columns_fails(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    renamed = csv_bytes("id,full_name,email,signup_date,age", "77,A,a@example.com,2024-01-01,3")
    run = Run(db, settings([8], None, existing_table_rows="append"), files={8: renamed})
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert "do not match the existing table demo.people" in run.outcome.error
    assert "in the file but not the table: full_name; in the table but not the file: name)" in run.outcome.error
    assert 'existing_table_rows="drop"' in run.outcome.error
    assert len(rows(db, "demo", "people")) == 50


def test_drop_recreates_the_table_with_the_new_columns(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    corrected = DEMO_CORRECTED_TABLE_COLUMNS["customers_header_mismatch.csv"]
    run = Run(db, settings([9005], corrected, existing_table_rows="drop"))
    assert run.outcome.rows_loaded == 15
    assert [name for name, _ in column_types(db, "demo", "people")] == [
        "customer_id",
        "full_name",
        "email_address",
        "created_on",
    ]
    assert len(rows(db, "demo", "people")) == 15


def test_upsert_replaces_rows_with_the_same_key(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    run = Run(
        db,
        settings([7], columns_of(9001), existing_table_rows="upsert", primary_keys=["id"]),
        files={7: two_people()},
    )
    assert run.outcome.state == "succeeded", run.text
    assert run.outcome.rows_loaded == 2
    loaded = rows(db, "demo", "people")
    assert len(loaded) == 51
    assert loaded[0] == (1, "Maria Updated", "maria@example.com", "2023-01-02", 20)
    assert loaded[-1][0] == 51
    assert "Upsert: 1 existing row replaced by key, 1 new row added." in run.text


def test_upsert_keeps_newer_rows_by_last_modified_key(db: sqlite3.Connection) -> None:
    declared = [{"name": "id", "sql_type": "INTEGER"}, {"name": "updated", "sql_type": "DATE"}]
    first = {1: csv_bytes("id,updated", "1,2024-05-01", "2,2024-01-01")}
    Run(db, settings([1], declared, table="m"), files=first)
    second = {1: csv_bytes("id,updated", "1,2024-02-01", "2,2024-03-01")}
    upsert = settings(
        [1], declared, table="m", existing_table_rows="upsert", primary_keys=["id"], last_modified_keys=["updated"]
    )
    run = Run(db, upsert, files=second)
    assert run.outcome.rows_loaded == 1
    assert rows(db, "demo", "m") == [(1, "2024-05-01"), (2, "2024-03-01")]


def test_upsert_without_primary_keys_fails(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    run = Run(db, settings([9001], columns_of(9001), existing_table_rows="upsert"))
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert run.outcome.error.startswith('existing_table_rows is "upsert" but destination.primary_keys is not set')
    assert len(rows(db, "demo", "people")) == 50


def test_upsert_with_an_unknown_primary_key_fails(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9001], columns_of(9001), existing_table_rows="upsert", primary_keys=["person_id"]))
    assert run.outcome.error is not None
    assert "destination.primary_keys names 'person_id', not a column of demo.people" in run.outcome.error
    assert not table_exists(db, "demo", "people")


def test_upsert_rejects_rows_with_an_empty_key(db: sqlite3.Connection) -> None:
    data = {1: csv_bytes("id,name,email,signup_date,age", ",Nobody,n@example.com,2024-01-01,1")}
    run = Run(db, settings([1], columns_of(9001), existing_table_rows="upsert", primary_keys=["id"]), files=data)
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert "a primary key column is empty" in run.outcome.error


# --- all or nothing ---------------------------------------------------------------------------------------------------


def big_people(count: int) -> bytes:
    lines = ["id,name,email,signup_date,age"]
    lines += [f"{i},Person {i},p{i}@example.com,2024-01-01,{20 + i % 50}" for i in range(1, count + 1)]
    return csv_bytes(*lines)


def cancel_after(calls: int) -> tuple[Callable[[], bool], list[int]]:
    seen: list[int] = []

    def should_cancel() -> bool:
        seen.append(1)
        return len(seen) >= calls

    return should_cancel, seen


def test_cancel_mid_load_leaves_no_table(db: sqlite3.Connection) -> None:
    should_cancel, seen = cancel_after(2)
    run = Run(db, settings([1], columns_of(9001)), files={1: big_people(1000)}, should_cancel=should_cancel)
    assert run.outcome == CsvOutcome("cancelled", None, 0, 0, "demo.people")
    assert len(seen) == 2  # cancelled at the second check (row 400), long before the end
    assert ("warn", "Run cancelled by user; no rows were loaded.") in run.logs
    assert not table_exists(db, "demo", "people")
    assert not db.in_transaction


def test_cancel_before_commit_leaves_existing_rows(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    run = Run(
        db,
        settings([7], columns_of(9001), existing_table_rows="truncate"),
        files={7: two_people()},
        should_cancel=lambda: True,
    )
    assert run.outcome.state == "cancelled"
    assert len(rows(db, "demo", "people")) == 50


def test_cancel_mid_append_leaves_no_partial_rows(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    should_cancel, _ = cancel_after(3)
    appended = Run(
        db,
        settings([1], columns_of(9001), existing_table_rows="append"),
        files={1: big_people(1000)},
        should_cancel=should_cancel,
    )
    assert appended.outcome.state == "cancelled"
    assert len(rows(db, "demo", "people")) == 50


def test_failed_truncate_leaves_the_old_rows(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    bad = big_people(500).replace(b"p450@example.com,2024-01-01", b"p450@example.com,2024-13-01")
    run = Run(db, settings([1], columns_of(9001), existing_table_rows="truncate"), files={1: bad})
    assert run.outcome.state == "failed"
    assert run.outcome.error is not None
    assert "row 451, column 'signup_date': '2024-13-01' is not a valid DATE" in run.outcome.error
    loaded = rows(db, "demo", "people")
    assert len(loaded) == 50
    assert loaded[0][1] == "Maria Wang"


def test_failed_drop_keeps_the_old_table(db: sqlite3.Connection) -> None:
    Run(db, settings([9001], columns_of(9001)))
    corrected = DEMO_CORRECTED_TABLE_COLUMNS["customers_header_mismatch.csv"]
    bad = FILES[9005] + b"999,Bad Date,b@example.org,yesterday\n"
    run = Run(db, settings([1], corrected, existing_table_rows="drop"), files={1: bad})
    assert run.outcome.state == "failed"
    assert [name for name, _ in column_types(db, "demo", "people")][1] == "name"
    assert len(rows(db, "demo", "people")) == 50


def test_load_nests_in_a_caller_transaction(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE other (x INTEGER)")
    db.execute("INSERT INTO other VALUES (1)")  # opens the caller's transaction
    assert db.in_transaction
    run = Run(db, settings([9001], columns_of(9001)))
    assert run.outcome.state == "succeeded"
    assert db.in_transaction  # the engine did not commit the caller's work
    db.rollback()
    assert not table_exists(db, "demo", "people")


def test_success_commits_when_no_transaction_was_open(db: sqlite3.Connection) -> None:
    run = Run(db, settings([9001], columns_of(9001)))
    assert run.outcome.state == "succeeded"
    assert not db.in_transaction
    db.rollback()  # nothing to roll back: the load is committed
    assert len(rows(db, "demo", "people")) == 50
