"""``OPERATIONS`` is the only table: one throw-away entry (plus its models, assessor and handler, in
``tests/one_table_probe.py``) gives a tool, its manifest and catalog entry, its annotations and effect policy, its
place among the tools of its kind of import, and its sandbox route; nothing else is declared anywhere.

The probe runs in a fresh interpreter, so the entry is in the table before any module reads it, as if written there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from civis_mcp.operations import OPERATIONS, kind_tool
from civis_mcp.sandbox.handlers import resolve
from civis_mcp.vocabulary import Kind, Role

ROOT = Path(__file__).resolve().parents[1]
TOOL = "imports_post_batches_halt"


def test_one_entry_gives_the_tool_its_listing_its_policy_and_its_sandbox_route(tmp_path: Path) -> None:
    assert all(op.tool_name != TOOL for op in OPERATIONS)  # really new
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", f"from tests.one_table_probe import main; main({str(tmp_path)!r})"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])

    # The manifest and catalog, as `civis-mcp manifest` writes them; the safety class follows the effect policy.
    assert report["catalog"] == {"safety": "destructive", "toolset": "files"}
    assert report["manifest"] is True
    assert report["index"] == {
        "name": TOOL,
        "title": "Halt a batch import",
        "safety": "destructive",
        "toolset": "files",
        "verb": "POST",
        "path": "/imports/batches/{id}/halt",
        "profiles": ["full"],  # a destructive tool: not in read-only; compact reaches it through imports_call
    }
    # Its role for its kind of import: the workflows' tool table now names it.
    assert report["batch_cancel_tool"] == TOOL

    # Over MCP: listed with the destructive hint; the guard asks the human with the assessor's sentence; a "no"
    # sends nothing, a "yes" reaches the sandbox route, whose handler answers through the response model.
    declined, confirmed = report["declined"], report["confirmed"]
    for outcome in (declined, confirmed):
        assert outcome["listed"] is True
        assert outcome["destructive_hint"] is True
        assert len(outcome["questions"]) == 1
        assert "halt batch import #4242" in outcome["questions"][0]
        assert "stops or hides work" in outcome["questions"][0]
    assert declined["reached_sandbox"] == 0
    assert confirmed["reached_sandbox"] == 1
    assert confirmed["is_error"] is False
    assert confirmed["structured"] == {"id": 4242, "state": "halted"}


def test_the_kind_tables_come_from_the_roles_in_the_table() -> None:
    # No two entries claim the same role for the same kind (the workflows would pick one silently).
    claims = [(kind, op.role) for op in OPERATIONS if op.role for kind in {op.kind, *op.also_for} if kind]
    assert len(claims) == len(set(claims))
    assert kind_tool(Kind.CSV, Role.LOGS) == "imports_list_files_csv_runs_logs"
    assert kind_tool(Kind.FILE, Role.FIX_SYNC) == kind_tool(Kind.IMPORT, Role.FIX_SYNC) == "imports_patch_syncs"
    assert kind_tool(Kind.BATCH, Role.LIST_RUNS) is None


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("csv.no_such_handler", "civis_mcp.sandbox.handlers.csv has no function 'no_such_handler'"),
        ("nowhere.get_csv_import", "there is no module civis_mcp.sandbox.handlers.nowhere"),
        ("civis_mcp.vocabulary:ENDED_RUN_STATES", "has no function 'ENDED_RUN_STATES'"),  # not callable
    ],
)
def test_a_sandbox_binding_that_names_nothing_fails_clearly(name: str, says: str) -> None:
    with pytest.raises(RuntimeError, match="no sandbox handler") as caught:
        resolve(name)
    assert says in str(caught.value)
