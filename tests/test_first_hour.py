"""What a new user meets in the first hour, each at the boundary they meet it: the ``civis-mcp`` command's exit status
and stderr, the MCP client's view over stdio, the sandbox's files on disk.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from civis_mcp.config import Settings


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


def test_a_result_budget_that_is_not_a_number_is_reported_in_characters() -> None:
    done = civis_mcp("serve", env={"CIVIS_MCP_RESULT_BUDGET": "abc"})
    assert done.returncode == 2
    assert "CIVIS_MCP_RESULT_BUDGET must be a whole number of characters" in done.stderr
    assert "seconds" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("raw", ["12.5", "100", "-3"])
def test_a_result_budget_too_small_or_fractional_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="CIVIS_MCP_RESULT_BUDGET must be"):
        Settings.from_env({"CIVIS_MCP_RESULT_BUDGET": raw})


def test_timeouts_are_still_reported_in_seconds() -> None:
    with pytest.raises(ValueError, match="CIVIS_MCP_READ_TIMEOUT must be a number of seconds"):
        Settings.from_env({"CIVIS_MCP_READ_TIMEOUT": "soon"})
    assert Settings.from_env({"CIVIS_MCP_RESULT_BUDGET": "30_000"}).result_budget == 30_000
