"""The foreground sandbox command: it prints where it listens and which key to use, serves, and stops on Ctrl-C."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from civis_mcp.sandbox import add_arguments
from civis_mcp.sandbox.server import config_from_args
from tests import loopback


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_listen_on_loopback_only() -> None:
    args = parse()
    assert (args.host, args.port, args.db) == ("127.0.0.1", 8765, None)


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CIVIS_SANDBOX_RATE_LIMIT", "50")
    monkeypatch.setenv("CIVIS_SANDBOX_ERROR_RATE", "0.25")
    config = config_from_args(parse("--port", "0", "--db", str(tmp_path / "s.db"), "--rate-limit", "7"))
    assert config.rate_limit_per_minute == 7
    assert config.faults.error_rate == 0.25
    assert config.db_path == tmp_path / "s.db" and config.port == 0


def test_serves_in_the_foreground_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("CIVIS_API_ENDPOINT", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civis_mcp.sandbox.server",
            "--port",
            "0",
            "--db",
            str(tmp_path / "cli.sqlite"),
            "--api-key",
            "cli-key",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        banner = ""
        deadline = time.monotonic() + 30
        while "Press Ctrl-C" not in banner and time.monotonic() < deadline:
            banner += process.stderr.readline()
        match = re.search(r"CIVIS_API_ENDPOINT=(http://127\.0\.0\.1:\d+/)", banner)
        assert match, banner
        assert "CIVIS_API_KEY=cli-key" in banner
        url = match.group(1)
        deadline = time.monotonic() + 10
        while True:
            try:
                response = loopback.get(f"{url}imports/101", auth=("cli-key", ""))
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 200 and response.json()["name"] == "Nightly CRM sync"
        assert loopback.get(f"{url}imports/101", auth=("sandbox-key", "")).status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert stdout == ""  # stdout stays clean (it carries MCP messages under `serve --sandbox`)
    assert (tmp_path / "cli.sqlite").exists()
