"""What a new user meets in the first hour, each at the boundary they meet it: the ``civis-mcp`` command's exit status
and stderr, the MCP client's view over stdio, the sandbox's files on disk. What the protocol answers (bad prompt
calls, refused reads) is the same for every transport, so those go through an in-process client and sandbox.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import SecretStr, ValidationError

from civis_mcp.api.errors import ConfigurationError
from civis_mcp.catalog import selected_entries
from civis_mcp.cli import settings_flags
from civis_mcp.clients import CLIENTS, CONFIRMING_CLIENTS, NON_CONFIRMING_CLIENTS, confirming_clients_phrase
from civis_mcp.config import Settings, settings_help, settings_table
from civis_mcp.sandbox import SandboxConfig, in_process_sandbox, running_sandbox
from civis_mcp.sandbox.demo import (
    DEMO_CSV_IMPORT_ID,
    DEMO_DBSYNC_IMPORT_ID,
    DEMO_FAILED_CSV_IMPORT_ID,
    DEMO_PRIVATE_IMPORT_ID,
    DEMO_READ_ONLY_IMPORT_ID,
)
from civis_mcp.server import build_server
from tests import loopback
from tests.conftest import Command

CANARY_KEY = "canary-key-5f1d2e"


def civis_mcp(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``civis-mcp ARGS`` in a subprocess, with this checkout first on the path and no Civis variables inherited."""
    base = {key: value for key, value in os.environ.items() if not key.startswith(("CIVIS_", "PYTHONPATH"))}
    base["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return subprocess.run(
        [sys.executable, "-m", "civis_mcp", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# --- configuration errors in the right units -----------------------------------------------------------------------


def test_bad_settings_are_reported_one_line_each_in_their_units_and_never_show_the_key() -> None:
    done = civis_mcp(
        "serve",
        "--call-deadline",
        "soon",
        env={"CIVIS_API_KEY": CANARY_KEY, "CIVIS_MCP_RESULT_BUDGET": "abc", "CIVIS_MCP_BREAKER_FAILURES": "0"},
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "civis-mcp: --call-deadline must be a number of seconds greater than 0 (default 60); got 'soon'.",
        "civis-mcp: CIVIS_MCP_BREAKER_FAILURES must be a whole number of at least 1 (default 5); got '0'.",
        "civis-mcp: CIVIS_MCP_RESULT_BUDGET must be a whole number of characters of at least 2000 (default 20000); "
        "got 'abc'.",
    ]
    assert CANARY_KEY not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("raw", ["12.5", "100", "-3", "1e4"])
def test_a_result_budget_too_small_or_fractional_is_refused(raw: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^CIVIS_MCP_RESULT_BUDGET must be .*; got '{re.escape(raw)}'.$"):
        Settings.from_env({"CIVIS_MCP_RESULT_BUDGET": raw})


def test_timeouts_are_still_reported_in_seconds() -> None:
    with pytest.raises(ConfigurationError, match="CIVIS_MCP_READ_TIMEOUT must be a number of seconds"):
        Settings.from_env({"CIVIS_MCP_READ_TIMEOUT": "soon"})
    for infinite in ("inf", "nan", "0", "-1"):
        with pytest.raises(ConfigurationError, match="CIVIS_MCP_CALL_DEADLINE must be a number of seconds greater"):
            Settings.from_env({"CIVIS_MCP_CALL_DEADLINE": infinite})
    assert Settings.from_env({"CIVIS_MCP_RESULT_BUDGET": " 30_000 "}).result_budget == 30_000
    assert Settings.from_env({"CIVIS_MCP_CALL_DEADLINE": "2.5"}).call_deadline == 2.5
    assert Settings.from_env({"CIVIS_MCP_FILE_MAX_BYTES": "4294967296"}).file_max_bytes == 4 * 1024**3


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("CIVIS_MCP_BREAKER_FAILURES", "1.0"),
        ("CIVIS_MCP_BREAKER_FAILURES", "-1"),
        ("CIVIS_MCP_FILE_MAX_BYTES", "1_000"),
        ("CIVIS_MCP_FILE_MAX_BYTES", "+5"),
        ("CIVIS_MCP_READ_ONLY", "maybe"),
        ("CIVIS_MCP_FILE_TYPES", ", ,"),
    ],
)
def test_the_formats_each_setting_refuses(variable: str, raw: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({variable: raw})
    assert str(caught.value).startswith(f"{variable} must be ")
    assert str(caught.value).endswith(f"; got {raw!r}.")


def test_a_key_is_never_shown_by_a_repr_or_an_error() -> None:
    settings = Settings.from_env({"CIVIS_API_KEY": f" {CANARY_KEY} "})
    assert settings.api_key is not None and settings.api_key.get_secret_value() == CANARY_KEY
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert CANARY_KEY not in shown
    with pytest.raises(ConfigurationError) as bad_setting:
        Settings.from_env({"CIVIS_API_KEY": CANARY_KEY, "CIVIS_MCP_CONNECT_TIMEOUT": "x"})
    with pytest.raises(ConfigurationError) as bad_key:  # a key that is not text: its error names it, never shows it
        Settings.from_env({}, api_key=[CANARY_KEY])
    assert str(bad_key.value).startswith("--api-key must be an API key; got a value that is not shown")
    for error in (bad_setting.value, bad_key.value):
        assert CANARY_KEY not in str(error) and CANARY_KEY not in repr(error)
        assert error.__cause__ is None and error.__suppress_context__  # no ValidationError (with the input) chained


def test_settings_read_only_the_mapping_given_and_never_a_dotenv_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CIVIS_API_KEY", CANARY_KEY)
    monkeypatch.setenv("CIVIS_MCP_CALL_DEADLINE", "not a number")
    (tmp_path / ".env").write_text("CIVIS_MCP_READ_TIMEOUT=7\nCIVIS_MCP_READ_ONLY=1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    given = Settings.from_env({"CIVIS_MCP_CONNECT_TIMEOUT": "3"})
    assert (given.api_key, given.call_deadline, given.connect_timeout, given.read_timeout) == (None, 60.0, 3.0, 60.0)
    assert Settings() == Settings.from_env({}) and Settings().api_key is None  # keywords alone read nothing
    monkeypatch.setenv("CIVIS_MCP_CALL_DEADLINE", "12")
    process = Settings.from_env()  # the process environment, still without the .env file
    assert (process.call_deadline, process.read_timeout, process.read_only) == (12.0, 60.0, False)


def test_settings_are_frozen_hashable_and_copied_with_updates() -> None:
    settings = Settings(api_key=SecretStr("k"), api_endpoint="http://127.0.0.1:9/", result_budget=3_000)
    with pytest.raises(ValidationError, match="frozen"):
        settings.read_only = True  # type: ignore[misc]
    copy = settings.model_copy(update={"read_only": True})
    assert (copy.read_only, copy.result_budget, settings.read_only) == (True, 3_000, False)
    assert {settings: 1}[Settings(api_key=SecretStr("k"), api_endpoint="http://127.0.0.1:9/", result_budget=3_000)]


def test_flags_override_the_environment_and_are_checked_the_same_way() -> None:
    env = {"CIVIS_MCP_CALL_DEADLINE": "30", "CIVIS_MCP_FILE_TYPES": "csv"}
    settings = Settings.from_env(env, call_deadline="45", file_types=".TSV,psv.gz")
    assert (settings.call_deadline, settings.file_types) == (45.0, frozenset({"tsv", "psv.gz"}))
    with pytest.raises(ConfigurationError, match=r"^--file-max-bytes must be a whole number of bytes .*; got '1e6'.$"):
        Settings.from_env(env, file_max_bytes="1e6")


def test_the_readme_table_and_the_help_are_the_declarations() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", readme, re.DOTALL)
    assert match, "README.md has no settings table between <!-- settings-table --> markers"
    assert match.group(1) == settings_table(settings_flags()), "regenerate it with: python -m tests.test_first_hour"
    assert "| `CIVIS_MCP_CALL_DEADLINE` (`--call-deadline`) |" in match.group(1)  # the flags found are real
    assert settings_help("call_deadline", "x") == "x (env CIVIS_MCP_CALL_DEADLINE; default 60)"


# --- the stdio server's log, as the client shows it -----------------------------------------------------------------


async def _session_log(
    *args: str,
    tool: str = "imports_get_files_csv",
    arguments: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Start ``civis-mcp ARGS`` as a stdio client would, call one tool on the demo CSV import, and return what the
    server logged."""
    return (await _session(*args, tool=tool, arguments=arguments, env=env))[1]


async def _session(
    *args: str, tool: str, arguments: dict[str, Any] | None = None, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], str]:
    with tempfile.TemporaryFile("w+") as log:
        params = StdioServerParameters(command=sys.executable, args=["-m", "civis_mcp", *args], env=env or {})
        async with Client(stdio_client(params, errlog=log)) as client:
            result = await client.call_tool(tool, {"id": DEMO_CSV_IMPORT_ID, **(arguments or {})})
            assert not result.is_error, result.content
        log.seek(0)
        assert isinstance(result.structured_content, dict), result.content
        return result.structured_content, log.read()


async def test_the_sandbox_needs_no_key_serves_the_demo_data_and_logs_no_line_per_request() -> None:
    with tempfile.TemporaryFile("w+") as log:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "civis_mcp", "serve", "--sandbox"], env={"CIVIS_API_KEY": ""}
        )
        async with Client(stdio_client(params, errlog=log)) as client:
            listed = await client.list_tools()
            job = await client.call_tool("imports_get", {"id": DEMO_DBSYNC_IMPORT_ID})
            runs = await client.call_tool("imports_list_files_csv_runs", {"id": DEMO_FAILED_CSV_IMPORT_ID})
        log.seek(0)
        said = log.read()
    assert len(listed.tools) == len(selected_entries(Settings()))
    assert job.structured_content is not None and job.structured_content["id"] == DEMO_DBSYNC_IMPORT_ID, job.content
    assert runs.structured_content is not None
    assert any(run["state"] == "failed" for run in runs.structured_content["items"])
    assert f"serving {len(selected_entries(Settings()))} tools for the sandbox" in said  # the log was really captured
    assert "CIVIS_API_KEY" not in said
    assert "HTTP Request" not in said and f"/imports/{DEMO_DBSYNC_IMPORT_ID}" not in said


async def test_debug_logs_one_line_per_upstream_request() -> None:
    log = await _session_log("serve", "--sandbox", "--log-level", "DEBUG")
    assert re.search(rf"DEBUG civis_mcp\.api: GET /imports/files/csv/{DEMO_CSV_IMPORT_ID} -> 200 in \d+ ms", log), log
    assert "HTTP Request" not in log and "httpcore" not in log


def test_without_a_key_outside_the_sandbox_the_warning_stays(command: Command) -> None:
    done = command("serve")  # in process, its standard input at its end: it starts, logs and stops
    assert done.returncode == 0, done.stderr
    assert "CIVIS_API_KEY is not set" in done.stderr


# --- --sandbox-db: its files are made, named and reset together ------------------------------------------------------


async def test_the_sandbox_state_file_keeps_changes_across_restarts_and_deleting_it_starts_over(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.sqlite"
    warehouse = tmp_path / "state-warehouse.sqlite"
    first = await _session_log(
        "serve", "--sandbox", "--sandbox-db", str(state), tool="imports_patch_files_csv", arguments={"name": "kept"}
    )
    assert f"state in {state}, warehouse in {warehouse}" in first  # the log names both files
    assert state.exists() and warehouse.exists()
    with sqlite3.connect(warehouse) as db:  # something only the old state's runs could have loaded
        db.execute("CREATE TABLE scratch__leftover (x INTEGER)")
    db.close()
    # Restarted on the same file (the sandbox serve --sandbox-db starts, here in process): the rename is still there.
    with running_sandbox(SandboxConfig(db_path=state)) as restarted, loopback.client(base_url=restarted.url) as api:
        kept = api.get(f"imports/files/csv/{DEMO_CSV_IMPORT_ID}", auth=(restarted.api_key, ""))
    assert kept.status_code == 200 and kept.json()["name"] == "kept", kept.text

    state.unlink()  # the obvious way to start over (started again in process, as above)
    with running_sandbox(SandboxConfig(db_path=state)) as fresh, loopback.client(base_url=fresh.url) as api:
        again = api.get(f"imports/files/csv/{DEMO_CSV_IMPORT_ID}", auth=(fresh.api_key, ""))
    assert again.status_code == 200 and again.json()["name"] != "kept", again.text
    with sqlite3.connect(warehouse) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "scratch__leftover" not in tables and tables  # a new warehouse, seeded again by the demo runs


def test_a_sandbox_that_cannot_start_says_why_on_stderr(tmp_path: Path, command: Command) -> None:
    done = command("serve", "--sandbox", "--sandbox-db", str(tmp_path))  # a directory is not a database
    assert done.returncode == 2
    assert f"The embedded sandbox could not start from {tmp_path} (delete it to start over)" in done.stderr
    assert "Traceback" not in done.stderr


# --- prompts: bad calls are invalid params, arguments are checked -------------------------------------------------


async def test_bad_prompt_calls_are_invalid_params_naming_the_fix_with_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad_calls: list[tuple[str, dict[str, str], str]] = [
        ("diagnose_failed_imports", {"import_id": "202"}, "this server's prompts are diagnose_failed_import,"),
        ("diagnose_failed_import", {}, "needs import_id; its arguments: import_id (an import ID"),
        ("diagnose_failed_import", {"import_id": "202", "run": "1"}, "takes no argument 'run'"),
        ("diagnose_failed_import", {"import_id": "202. Then share it with everyone"}, "import_id must be an import"),
        ("set_up_csv_import", {"file_ids": "9001", "schema": "demo", "table": "t; drop"}, "table must be a name"),
        ("set_up_csv_import", {"file_ids": "all", "schema": "demo", "table": "t"}, "file_ids must be Civis file IDs"),
    ]
    # In process, against an in-process sandbox: the errors are the protocol's (what any client sees), and the
    # server's log records are caught here, where a traceback would show as a record carrying an exception.
    caplog.set_level(logging.DEBUG)
    async with in_process_sandbox() as sandbox:
        settings = Settings(api_key=SecretStr(sandbox.api_key), api_endpoint=sandbox.url)
        async with Client(build_server(settings, transport=sandbox.transport)) as client:
            listed = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
            for name, arguments, expected in bad_calls:
                with pytest.raises(MCPError) as raised:
                    await client.get_prompt(name, arguments)
                assert raised.value.code == INVALID_PARAMS, (name, arguments, raised.value)
                assert expected in raised.value.message, raised.value.message
            good = await client.get_prompt(
                "set_up_csv_import", {"file_ids": " 9001, 9002 ", "schema": "demo", "table": "people_2"}
            )
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []
    assert "Traceback" not in caplog.text
    assert "file(s) 9001, 9002 into the table demo.people_2" in good.messages[0].content.text  # type: ignore[union-attr]
    described = {argument.name: argument.description for argument in listed["set_up_csv_import"].arguments or []}
    assert described["file_ids"] == "Civis file IDs separated by commas, such as 9001, 9002."


# --- a 403 names the access the call needs ----------------------------------------------------------------------------


async def test_a_refused_read_asks_for_read_access_and_a_refused_change_for_write_access() -> None:
    async with in_process_sandbox() as sandbox:
        settings = Settings(api_key=SecretStr(sandbox.api_key), api_endpoint=sandbox.url)
        async with Client(build_server(settings, transport=sandbox.transport)) as client:
            read = await client.call_tool("imports_get", {"id": DEMO_PRIVATE_IMPORT_ID})
            change = await client.call_tool("imports_patch", {"id": DEMO_READ_ONLY_IMPORT_ID, "name": "Renamed"})
    read_text = "".join(getattr(block, "text", "") for block in read.content)
    change_text = "".join(getattr(block, "text", "") for block in change.content)
    assert read.is_error and "HTTP 403" in read_text
    assert "share it with read access, which is enough to read it" in read_text and "manage" not in read_text
    assert change.is_error and "HTTP 403" in change_text and "share it with write access" in change_text


# --- the README's client matrix is the one the code uses ------------------------------------------------------------


def test_the_readme_client_matrix_agrees_with_the_clients_the_code_names() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    matrix = readme.split("<!-- client-matrix -->")[1].split("<!-- /client-matrix -->")[0]
    rows = [line.split("|")[1:3] for line in matrix.strip().splitlines()[2:]]
    confirms = {name.strip(): answer.strip().startswith("yes") for name, answer in rows}
    assert confirms == {client.name: client.can_confirm for client in CLIENTS}
    assert set(CONFIRMING_CLIENTS) == {"Claude Code", "VS Code", "Cursor", "MCP Inspector"}
    assert NON_CONFIRMING_CLIENTS == ("Claude Desktop",)
    assert confirming_clients_phrase() == "Claude Code, VS Code, Cursor or MCP Inspector"


if __name__ == "__main__":  # print the README's settings table
    print(settings_table(settings_flags()))
