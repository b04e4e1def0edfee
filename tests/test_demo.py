"""The one-command experience: `civis-mcp demo` and `civis-mcp serve --sandbox`, with no Civis credentials."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from civis_mcp.cli import main
from civis_mcp.demo import clip
from civis_mcp.sandbox.demo import DEMO_FAILED_CSV_IMPORT_ID, DEMO_FAILURES


def _environment_without_civis() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("CIVIS_API", "CIVIS_MCP"))}


def test_clip_cuts_at_a_word_boundary_and_says_so() -> None:
    assert clip("short enough", 20) == "short enough"
    assert clip("exactly twenty chars", 20) == "exactly twenty chars"
    assert clip("set column_delimiter to pipe and run again", 30) == "set column_delimiter to pipe…"
    assert clip("one, two, three four", 12) == "one, two…"
    assert clip("x" * 50, 10) == "x" * 9 + "…"  # one long word: cut inside it, still marked
    assert all(len(clip("word " * 40, limit)) <= limit for limit in range(2, 120))


def test_demo_command_repairs_the_failed_csv_import_without_credentials() -> None:
    """The demo, run once, end to end: the command a new user types, a sandbox, civis-mcp over stdio, the scripted
    session."""
    done = subprocess.run(
        [sys.executable, "-m", "civis_mcp", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        env=_environment_without_civis(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    transcript = done.stdout
    assert "Run succeeded: loaded 30 rows" in transcript
    assert transcript.rstrip().endswith("succeeded.")
    assert f"CSV import {DEMO_FAILED_CSV_IMPORT_ID} is repaired" in transcript
    # The scripted session: find the failed CSV import (in one call, no ID guessed), read its logs, diagnose, fix,
    # rerun, wait.
    steps = [line.split()[1].split("(")[0] for line in transcript.splitlines() if line.startswith("tool ")]
    assert steps[:1] == ["imports_find"], steps
    expected = [
        "imports_tail_logs",
        "imports_diagnose_run",
        "imports_patch_files_csv",
        "imports_post_files_csv_runs",
        "imports_wait_for_run",
    ]
    remaining = iter(steps)
    assert all(step in remaining for step in expected), steps  # in this order, other calls between
    assert "column_delimiter='pipe'" in transcript
    # The long error line is cut for the transcript, and reads as cut.
    (mismatch,) = [line for line in transcript.splitlines() if "Column count mismatch" in line]
    assert mismatch.endswith("…") and len(mismatch) < 200, mismatch


def test_demo_list_shows_one_failed_import_per_kind_and_class(capsys: Any) -> None:
    assert main(["demo", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["import", "kind", "cause"]
    shown = [line.split() for line in lines[1:]]
    assert [int(row[0]) for row in shown] == [failure.import_id for failure in DEMO_FAILURES]
    kinds = {row[1] for row in shown}
    assert {"CSV", "Dbsync", "GdocImport", "GdocExport", "AutoImport", "Batch"} <= kinds
    for row, failure in zip(shown, DEMO_FAILURES, strict=True):
        assert failure.cause in row and (failure.fix_tool is None or failure.fix_tool in row)


def _text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)
