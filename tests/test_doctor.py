"""``civis-mcp doctor`` at its boundary, the command's exit status and output: it passes on a working setup and fails
with a precise reason on each broken one (no key, rejected key, unreachable endpoint, a tool switched off, a bad
setting), and never prints the key. A run whose key works also makes a real MCP handshake with the command it prints
(a subprocess, as a client starts it); one whose key or endpoint fails says the handshake was not tried.

Each case calls the command's entry point (``civis_mcp.cli.main``) in this process with the environment it names,
which spares a Python start each; the process's own exit status is checked in tests/test_first_hour.py.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from civis_mcp.catalog import profile_entries, selected_entries
from civis_mcp.clients import CLIENTS
from civis_mcp.config import Settings
from civis_mcp.doctor import command_of_this_install
from civis_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from tests.conftest import Command, Done

SECRET = "doctor-secret-key-5150"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(api_key=SECRET)) as running:
        yield running


Doctor = Callable[..., Done]


@pytest.fixture
def doctor(command: Command) -> Doctor:
    """``civis-mcp doctor ARGS`` in this process, with no Civis variables but those given."""

    def run(*args: str, env: dict[str, str] | None = None) -> Done:
        return command("doctor", *args, env=env)

    return run


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_working_sandbox_setup_passes_and_prints_a_configuration_per_client(doctor: Doctor) -> None:
    done = doctor("--sandbox")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Everything works." in done.stdout
    assert "accepted: you are Riley Analyst (ranalyst, user 1001)" in done.stdout
    assert f"answers over stdio and lists {len(selected_entries(Settings()))} tools" in done.stdout
    command = command_of_this_install()[0]
    for client in CLIENTS:
        assert f"== {client.name} (" in done.stdout
    assert f'"command": "{command}"' in done.stdout  # the absolute path of this install
    assert f"claude mcp add civis -- {command} serve --sandbox" in done.stdout
    assert '"--read-only"' in done.stdout.split("== Claude Desktop (")[1]  # it cannot confirm


def test_a_working_key_and_endpoint_pass_and_the_key_is_never_printed(sandbox: RunningSandbox, doctor: Doctor) -> None:
    done = doctor(env={"CIVIS_API_KEY": SECRET, "CIVIS_API_ENDPOINT": sandbox.url})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok    key       accepted: you are Riley Analyst" in done.stdout
    assert SECRET not in done.stdout + done.stderr
    assert '"CIVIS_API_KEY": "your-civis-api-key"' in done.stdout
    assert f'"CIVIS_API_ENDPOINT": "{sandbox.url}"' in done.stdout


def test_no_key_fails_and_says_where_to_get_one(doctor: Doctor) -> None:
    done = doctor()
    assert done.returncode == 1
    assert "FAIL  key       CIVIS_API_KEY is not set" in done.stdout
    assert "My Profile > API Keys" in done.stdout
    assert "1 problem(s): key." in done.stdout
    assert "skip  mcp       not tried: every tool call would fail until the key is fixed." in done.stdout


def test_a_rejected_key_fails_as_rejected(sandbox: RunningSandbox, doctor: Doctor) -> None:
    done = doctor(env={"CIVIS_API_KEY": "not-the-key-1234", "CIVIS_API_ENDPOINT": sandbox.url})
    assert done.returncode == 1
    assert "FAIL  key       Civis rejected the key (HTTP 401)" in done.stdout
    assert "skip  mcp       not tried: every tool call would fail until the key is fixed." in done.stdout
    assert "not-the-key-1234" not in done.stdout + done.stderr


def test_an_unreachable_endpoint_fails_as_unreachable(doctor: Doctor) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/"
    done = doctor(env={"CIVIS_API_KEY": SECRET, "CIVIS_API_ENDPOINT": url})
    assert done.returncode == 1
    assert f"FAIL  endpoint  could not reach {url} (ConnectError" in done.stdout
    assert "skip  mcp       not tried: every tool call would fail until the endpoint is fixed." in done.stdout
    assert SECRET not in done.stdout + done.stderr


def test_a_tool_switched_off_fails_with_the_reason(doctor: Doctor) -> None:
    done = doctor("--sandbox", "--read-only", "--expect", "imports_post_cancel", "--expect", "imports_get")
    assert done.returncode == 1
    assert "FAIL  expect    imports_post_cancel is switched off: the server runs read-only" in done.stdout
    assert "ok    expect    imports_get is offered" in done.stdout
    reads = sum(entry.safety == "read" for entry in profile_entries(Settings()))
    total = len(profile_entries(Settings()))
    assert f"ok    tools     {reads} of {total} offered ({reads} read, 0 write, 0 destructive)" in done.stdout
    assert f"ok    tools     {total - reads} not offered: the server runs read-only" in done.stdout
    assert "serve --sandbox --read-only" in done.stdout  # the printed configurations carry the flags checked


def test_a_bad_setting_fails_as_configuration(doctor: Doctor) -> None:
    done = doctor(env={"CIVIS_MCP_RESULT_BUDGET": "abc", "CIVIS_MCP_READ_ONLY": "maybe"})
    assert done.returncode == 1
    assert "FAIL  config    CIVIS_MCP_READ_ONLY must be one of true/false" in done.stdout
    assert f"\n{' ' * 18}CIVIS_MCP_RESULT_BUDGET must be a whole number of characters" in done.stdout
