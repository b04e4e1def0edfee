"""``civis-mcp demo``: a short scripted session through a real MCP client, against the embedded sandbox.

It starts a sandbox on 127.0.0.1, starts ``civis-mcp serve`` as a subprocess over stdio (as Claude Desktop or an IDE
would) and plays what a person asks an assistant: which imports failed, why, fix it, run it again, is it done. The
transcript shows each tool call and the part of its answer that matters. No Civis account or key is needed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio
from mcp import Client, StdioServerParameters

from civis_mcp.sandbox import SandboxConfig, running_sandbox
from civis_mcp.sandbox.demo import (
    DEMO_FAILURES,
)

__all__ = ["DemoOutcome", "clip", "list_failures", "main_demo", "play"]


class DemoError(RuntimeError):
    """A step of the demo did not go as scripted."""


@dataclass
class DemoOutcome:
    repaired_import_id: int | None = None
    final_state: str | None = None
    steps: list[str] = field(default_factory=list)


class _Transcript:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def say(self, who: str, text: str) -> None:
        self.out.write(f"{who:<9} {text}\n")
        self.out.flush()

    def detail(self, text: str) -> None:
        self.out.write(f"{'':<9}   {text}\n")
        self.out.flush()


def clip(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else cut at the last word boundary before it and ended with an
    ellipsis, so a cut line reads as cut."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if " " in head and not text[limit - 1].isspace():
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:") + "…"


def _arguments(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in arguments.items())


async def _call(client: Client, talk: _Transcript, outcome: DemoOutcome, tool: str, **arguments: Any) -> Any:
    talk.say("tool", f"{tool}({_arguments(arguments)})")
    outcome.steps.append(tool)
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = "".join(getattr(block, "text", "") for block in result.content)
        raise DemoError(f"{tool} failed: {text}")
    return result.structured_content or {}


async def play(out: TextIO, run_step_seconds: float = 0.1) -> DemoOutcome:
    """Play the scripted session; the outcome says which import was repaired and how its new run ended."""
    talk = _Transcript(out)
    outcome = DemoOutcome()
    with running_sandbox(SandboxConfig(run_step_seconds=run_step_seconds)) as sandbox:
        out.write(f"civis-mcp demo: a local Civis sandbox at {sandbox.url} (no Civis account needed)\n\n")
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "civis_mcp", "serve", "--log-level", "WARNING"],
            env={"CIVIS_API_KEY": sandbox.api_key, "CIVIS_API_ENDPOINT": sandbox.url},
        )
        async with Client(server) as client:
            tools = await client.list_tools()
            talk.say("client", f"connected to civis-mcp over stdio: {len(tools.tools)} tools")

            talk.say("you", "One of my CSV imports failed recently. Which one?")
            found = await _call(client, talk, outcome, "imports_find", state=["failed"])
            for item in found.get("items", []):
                last = item.get("last_run") or {}
                talk.detail(f"{item['kind']:<6} import {item['id']:>4}  {item.get('name')!s:<28} {last.get('at')}")
            failed = next((item["id"] for item in found.get("items", []) if item.get("kind") == "csv"), None)
            if failed is None:
                raise DemoError("no CSV import has a failed run")
            talk.say("assistant", f"CSV import {failed} failed most recently.")

            talk.say("you", f"Why did CSV import {failed} fail?")
            errors = await _call(client, talk, outcome, "imports_tail_logs", import_id=failed, level="error", lines=3)
            for line in errors.get("lines", []):
                talk.detail(f"log {line['id']} [{line.get('level')}] {clip(line['message'], 160)}")
            diagnosis = await _call(client, talk, outcome, "imports_diagnose_run", import_id=failed)
            talk.detail(f"cause: {diagnosis['cause']}: {clip(diagnosis['summary'], 200)}")
            fix = diagnosis.get("fix")
            if not fix:
                raise DemoError(f"the diagnosis of CSV import {failed} suggests no fix")
            talk.say("assistant", f"{fix['explanation']} That is {fix['tool']}({_arguments(fix['arguments'])}).")

            talk.say("you", "Yes, fix it and run it again. Tell me when it is done.")
            await _call(client, talk, outcome, fix["tool"], **fix["arguments"])
            started = await _call(client, talk, outcome, "imports_post_files_csv_runs", id=failed)
            talk.detail(f"run {started.get('id')} is {started.get('state')}")
            waited = await _call(
                client,
                talk,
                outcome,
                "imports_wait_for_run",
                import_id=failed,
                run_id=started.get("id"),
                timeout_seconds=60,
            )
            run = waited.get("run") or {}
            talk.detail(waited.get("note", ""))
            tail = await _call(
                client, talk, outcome, "imports_tail_logs", import_id=failed, run_id=run.get("id"), lines=1
            )
            for line in tail.get("lines", []):
                talk.detail(f"log {line['id']} [{line.get('level')}] {clip(line['message'], 160)}")
            outcome.repaired_import_id, outcome.final_state = failed, run.get("state")
            talk.say("assistant", f"CSV import {failed} is repaired: its new run {run.get('id')} {run.get('state')}.")
    return outcome


def list_failures(out: TextIO) -> int:
    """``civis-mcp demo --list``: the demo imports whose runs really failed, with the cause the diagnosis names and
    the tool that fixes each (try ``imports_diagnose_run`` on any of them with ``civis-mcp serve --sandbox``)."""
    out.write(f"{'import':<13} {'kind':<18} {'cause':<25} {'fix offered':<24} what happened\n")
    for failure in DEMO_FAILURES:
        where = f"{failure.import_id}" + (f" run {failure.run_id}" if failure.run_id else "")
        fix = failure.fix_tool or "none (see the summary)"
        out.write(f"{where:<13} {failure.kind:<18} {failure.cause:<25} {fix:<24} {failure.note}\n")
    return 0


def main_demo() -> int:
    failures: list[str] = []
    outcome = DemoOutcome()
    try:
        outcome = anyio.run(play, sys.stdout)
    except* DemoError as group:  # raised inside the client's task group, so it arrives in a group
        failures.extend(str(exc) for exc in group.exceptions)
    for failure in failures:
        print(f"\ndemo failed: {failure}", file=sys.stderr)
    return 0 if not failures and outcome.final_state == "succeeded" else 1
