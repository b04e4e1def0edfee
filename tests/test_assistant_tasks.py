"""Everyday requests to an assistant, scripted as the calls a model makes, so the tool surface cannot regress silently.

Each test is one session over the SDK ``Client`` against the sandbox on 127.0.0.1. The script reads only what the
tools answer (descriptions, results, error texts), never an ID it was not shown: ``Session.ask`` fails the test when
an ``id``, ``import_id`` or ``run_id`` argument did not appear in an earlier answer or in the user's own request.
Each test asserts the outcome in the sandbox's state and the number of calls the direct path takes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mcp import Client

from civis_mcp.sandbox import demo as d
from civis_mcp.sandbox.access import job_level
from civis_mcp.sandbox.views import next_run_at
from tests.test_sandbox_support import http
from tests.workflow_support import Recorded, accept_everything, client, recorded_sandbox, text_of

_ID_ARGUMENTS = ("id", "import_id", "run_id")
_NUMBER = re.compile(r"\d+")


@dataclass
class Session:
    """A model's side of a conversation: the calls it made and every number it has been shown."""

    mcp: Client
    known: set[int] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def user_says(self, *ids: int) -> None:
        """IDs the user gave in the request (the only ones the model may use without having seen them)."""
        self.known.update(ids)

    async def ask(self, tool: str, **arguments: Any) -> tuple[bool, Any, str]:
        """Call a tool; (ok, structured result, text). Fails the test on a guessed ID."""
        for name in _ID_ARGUMENTS:
            if name in arguments:
                assert arguments[name] in self.known, f"{tool}: {name}={arguments[name]} was guessed, not read"
        result = await self.mcp.call_tool(tool, arguments)
        self.calls.append(tool)
        text = text_of(result)
        self.known.update(int(number) for number in _NUMBER.findall(text))
        self._remember(result.structured_content)
        return not result.is_error, result.structured_content, text

    async def must(self, tool: str, **arguments: Any) -> Any:
        ok, data, text = await self.ask(tool, **arguments)
        assert ok, f"{tool} failed: {text}"
        return data

    def _remember(self, value: Any) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            self.known.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                self._remember(item)
        elif isinstance(value, list):
            for item in value:
                self._remember(item)


@pytest.fixture
def rec() -> Iterator[Recorded]:
    with recorded_sandbox(run_step_seconds=0.01) as recorded:
        yield recorded


def failed_imports_in_state(rec: Recorded) -> set[int]:
    """Every import of any kind the caller can see (hidden ones too) whose last run failed, from the sandbox's store."""
    store, caller = rec.sandbox.state.store, rec.sandbox.state.caller_id
    found = set()
    for kind in ("import", "csv_import", "batch"):
        for job in store.list_jobs(kind):  # type: ignore[arg-type]
            last = store.last_run(job.id)
            if job.archived or last is None or last.state != "failed":
                continue
            if job_level(store, job, caller) is not None:
                found.add(job.id)
    return found


@pytest.mark.parametrize("which", [0, 1, 2], ids=["latest-failure", "second", "third"])
async def test_one_of_my_csv_imports_failed_which_why_fix_it_in_five_calls(rec: Recorded, which: int) -> None:
    """ "One of my CSV imports failed: which, why, fix it." Find, diagnose, fix, re-run, wait: five calls."""
    async with client(rec.sandbox) as mcp:
        session = Session(mcp)
        found = await session.must("imports_find", state=["failed"], kind="csv")
        target = found["items"][which]
        assert target["kind"] == "csv" and target["last_run"]["state"] == "failed"
        diagnosis = await session.must("imports_diagnose_run", import_id=target["id"])
        fix = diagnosis["fix"]
        assert fix is not None, diagnosis
        await session.must(fix["tool"], **fix["arguments"])
        start = re.search(r"(imports_\w+) \(id=(\d+)\)", fix["then"])
        assert start is not None, fix["then"]
        await session.must(start.group(1), id=int(start.group(2)))
        waited = await session.must("imports_wait_for_run", import_id=target["id"], timeout_seconds=60)
    assert len(session.calls) == 5, session.calls
    assert waited["run"]["state"] == "succeeded"
    store = rec.sandbox.state.store
    job = store.get_job(target["id"])
    assert job is not None
    last = store.last_run(job.id)
    assert last is not None and last.state == "succeeded" and last.id == waited["run"]["id"]
    table = job.doc["destination"]
    loaded = rec.sandbox.warehouse_rows(table["schema"], table["table"])
    # "How many rows did it load" needs no further call: the wait's answer says, and the warehouse agrees.
    assert loaded and waited["rows"]["rows_loaded"] == loaded


async def test_find_every_failed_import_of_any_kind_in_one_call(rec: Recorded) -> None:
    with http(rec.sandbox) as api:  # a failing import job too, made behind the assistant's back
        job = api.post("/imports", json={"name": "Broken sync", "syncType": "Dbsync", "isOutbound": False}).json()
        api.post(f"/imports/{job['id']}/runs")
        deadline = time.monotonic() + 15
        while api.get(f"/imports/{job['id']}").json()["state"] != "failed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    async with client(rec.sandbox) as mcp:
        session = Session(mcp)
        found = await session.must("imports_find", state=["failed"])
    assert session.calls == ["imports_find"]
    assert {item["id"] for item in found["items"]} == failed_imports_in_state(rec)
    assert {item["kind"] for item in found["items"]} == {"import", "csv", "batch"}  # hidden ones too


async def test_show_me_the_error_lines_including_the_rejected_rows(rec: Recorded) -> None:
    """ "Show me the error lines of Web events": the error filter says the rejections are at warn; one more call."""
    async with client(rec.sandbox) as mcp:
        session = Session(mcp)
        found = await session.must("imports_find", q="Web events")
        (item,) = found["items"]
        errors = await session.must("imports_tail_logs", import_id=item["id"], level="error")
        hinted = re.search(r"level='(\w+)' shows", errors["note"] or "")
        assert hinted is not None, errors
        warnings = await session.must("imports_tail_logs", import_id=item["id"], level=hinted.group(1))
    assert len(session.calls) == 3
    logged = rec.sandbox.state.store.list_logs(item["last_run"]["id"], last_id=0, limit=10_000)
    rejected = {line.message for line in logged if line.message.startswith("Rejected row")}
    assert rejected and rejected <= {line["message"] for line in warnings["lines"]}
    assert not rejected & {line["message"] for line in errors["lines"]}


async def test_which_imports_are_scheduled_and_when_do_they_run_next_in_one_call(rec: Recorded) -> None:
    async with client(rec.sandbox) as mcp:
        session = Session(mcp)
        found = await session.must("imports_find", scheduled=True)
    assert session.calls == ["imports_find"]
    store = rec.sandbox.state.store
    scheduled = {
        job.id
        for job in store.list_jobs("import")
        if (job.doc.get("schedule") or {}).get("scheduled") and not job.hidden and not job.archived
    }
    assert {item["id"] for item in found["items"]} == scheduled
    for item in found["items"]:
        job = store.get_job(item["id"])
        assert job is not None and item["next_run_at"] == next_run_at(job.doc)


async def test_cancel_what_is_running_in_two_calls(rec: Recorded) -> None:
    async with client(rec.sandbox, elicitation=accept_everything) as mcp:
        session = Session(mcp)
        found = await session.must("imports_find", state=["running"])
        (item,) = found["items"]
        cancel = next(tool for tool in found["tools"][item["kind"]].split(", ") if "cancel" in tool)
        await session.must(cancel, id=item["id"])
    assert len(session.calls) == 2
    run = rec.sandbox.state.store.get_run(item["last_run"]["id"])
    assert run is not None and run.state == "cancelled"


async def test_a_wrong_tool_lands_on_the_right_one_in_two_calls(rec: Recorded) -> None:
    """The user names import 202, and the model reaches for the import-job tool first."""
    async with client(rec.sandbox) as mcp:
        session = Session(mcp)
        session.user_says(d.DEMO_FAILED_CSV_IMPORT_ID)
        ok, _, text = await session.ask("imports_get", id=d.DEMO_FAILED_CSV_IMPORT_ID)
        assert not ok
        pointer = re.search(r"use (imports_\w+) with id=(\d+)", text)
        assert pointer is not None, text
        csv_import = await session.must(pointer.group(1), id=int(pointer.group(2)))
    assert len(session.calls) == 2
    assert csv_import["id"] == d.DEMO_FAILED_CSV_IMPORT_ID and csv_import["column_delimiter"] == "comma"


async def test_a_refused_change_says_whom_to_ask_in_one_call(rec: Recorded) -> None:
    async with client(rec.sandbox) as mcp:
        session = Session(mcp)
        session.user_says(d.DEMO_READ_ONLY_IMPORT_ID)
        ok, _, text = await session.ask("imports_patch", id=d.DEMO_READ_ONLY_IMPORT_ID, name="Ledger v2")
    assert not ok and len(session.calls) == 1
    store = rec.sandbox.state.store
    job = store.get_job(d.DEMO_READ_ONLY_IMPORT_ID)
    assert job is not None and job.doc["name"] != "Ledger v2"  # nothing changed
    owner = store.get_entry("user", job.owner_id)
    assert owner is not None and f"{owner['name']} (user {owner['id']})" in text


async def test_an_empty_answer_is_never_a_silent_nothing_failed(rec: Recorded) -> None:
    """imports_list covers import jobs only; its description sends a model looking for failures to imports_find."""
    async with client(rec.sandbox) as mcp:
        listing = {tool.name: tool for tool in (await mcp.list_tools()).tools}
        instructions = mcp.instructions or ""
        session = Session(mcp)
        only_jobs = await session.must("imports_list", status="failed")
        everything = await session.must("imports_find", state=["failed"])
    assert only_jobs["items"] == [] and everything["items"]
    assert "imports_find" in (listing["imports_list"].description or "")
    assert "imports_find" in instructions
