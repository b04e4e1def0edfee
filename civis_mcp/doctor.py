"""``civis-mcp doctor``: does this install work, with this configuration, and what to paste into each client.

It checks, in order: Python and the install (the catalog, the command a client will run); the configuration (the
same environment variables and flags as ``serve``); the endpoint and the key (``GET /users/me``: who the key belongs
to); which tools are offered and why the others are not (``--expect TOOL`` fails when one you need is switched off);
and a real MCP handshake with the command, over stdio, as a client would start it (not tried while the key or the
endpoint fails: every call would fail, so a passing handshake would only mislead). Then it prints ready-to-paste
configurations for every client with the absolute command path of this install; the key is never printed.

The exit status is 0 when every check passed and 1 otherwise, so CI can run it. ``--sandbox`` checks against an
embedded sandbox instead of Civis (no account needed).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

import anyio
import httpx
from pydantic import SecretStr

from civis_mcp import __version__
from civis_mcp.api.redaction import Redactor
from civis_mcp.api.tls import AGENT_HEADERS, tls_context
from civis_mcp.catalog import CatalogEntry, load_catalog, not_offered_reason, profile_entries, selected_entries
from civis_mcp.clients import (
    CLIENTS,
    KEY_PLACEHOLDER,
    confirming_clients_phrase,
    http_configuration,
    stdio_configuration,
)
from civis_mcp.config import DEFAULT_API_ENDPOINT, Settings
from civis_mcp.untrusted import one_line

__all__ = ["Check", "Doctor", "command_of_this_install", "run_doctor"]

Status = Literal["ok", "warn", "skip", "FAIL"]
_HANDSHAKE_TIMEOUT = 60.0
_KEY_HELP = (
    "Create one in Civis Platform (your name, top right > My Profile > API Keys); it needs read access to the "
    "imports you want to see, write access to change them. Set it as CIVIS_API_KEY in the client's configuration "
    "(below), or try everything without an account: civis-mcp doctor --sandbox."
)


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    detail: str


@dataclass
class Doctor:
    """The checks made so far, printed as they are made."""

    out: TextIO
    checks: list[Check] = field(default_factory=list)

    def report(self, status: Status, name: str, detail: str) -> None:
        check = Check(status, name, detail)
        self.checks.append(check)
        lines = detail.splitlines() or [""]  # a detail of several lines (one per bad setting) stays in its column
        self.out.write(f"  {status:<4}  {name:<9} " + f"\n{' ' * 18}".join(lines) + "\n")
        self.out.flush()

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status == "FAIL"]


def command_of_this_install() -> list[str]:
    """The absolute command that starts this install's civis-mcp: the script beside this Python, else ``python -m``."""
    scripts = Path(sys.executable).parent
    for name in ("civis-mcp.exe", "civis-mcp") if os.name == "nt" else ("civis-mcp",):
        if (scripts / name).is_file():
            return [str(scripts / name)]
    return [sys.executable, "-m", "civis_mcp"]


def run_doctor(
    settings: Settings | Exception,
    *,
    serve_flags: Sequence[str] = (),
    sandbox: bool = False,
    expect: Sequence[str] = (),
    out: TextIO | None = None,
) -> int:
    """Make every check, print the configurations; 0 when every check passed, else 1.

    ``settings`` is what ``serve`` would run with, or the error that reading them raised; ``serve_flags`` are the
    ``serve`` flags that made them, repeated in the printed configurations. ``out`` defaults to ``sys.stdout`` as it
    is when called (not as it was at import), so a redirected stdout is honoured."""
    out = sys.stdout if out is None else out
    doctor = Doctor(out)
    out.write(f"civis-mcp doctor {'(against an embedded sandbox)' if sandbox else ''}\n")
    command = [*command_of_this_install(), "serve", *(["--sandbox"] if sandbox else []), *serve_flags]
    _check_install(doctor, command)
    if isinstance(settings, Exception):
        doctor.report("FAIL", "config", f"{settings} Nothing else can be checked until it is fixed.")
    else:
        doctor.report("ok", "config", "the embedded sandbox and its key" if sandbox else _describe(settings))
        with ExitStack() as stack:
            checked = settings
            if sandbox:
                from civis_mcp.sandbox import SandboxConfig, running_sandbox

                running = stack.enter_context(running_sandbox(SandboxConfig()))
                checked = settings.model_copy(
                    update={"api_key": SecretStr(running.api_key), "api_endpoint": running.url}
                )
            _check_key(doctor, checked, sandbox)
        offered = _check_tools(doctor, settings, expect)
        unusable = [check.name for check in doctor.failed if check.name in ("endpoint", "key")]
        if unusable:
            doctor.report("skip", "mcp", f"not tried: every tool call would fail until the {unusable[0]} is fixed.")
        else:
            _check_handshake(doctor, command, len(offered))
    failures = doctor.failed
    out.write(
        f"\n{len(failures)} problem(s): {', '.join(check.name for check in failures)}.\n"
        if failures
        else "\nEverything works.\n"
    )
    _print_configurations(out, command, settings, sandbox)
    return 1 if failures else 0


def _check_install(doctor: Doctor, command: list[str]) -> None:
    version = sys.version_info
    where = f"Python {version.major}.{version.minor}.{version.micro} at {sys.executable}"
    if version < (3, 11):
        doctor.report("FAIL", "python", f"{where}; civis-mcp needs 3.11 or newer.")
    else:
        doctor.report("ok", "python", where)
    try:
        tools = len(load_catalog())
    except RuntimeError as exc:
        doctor.report("FAIL", "install", f"civis-mcp {__version__}: {exc} Reinstall it.")
        return
    package = Path(__file__).resolve().parent
    doctor.report("ok", "install", f"civis-mcp {__version__} in {package}, {tools} tools; a client runs {command[0]}")
    on_path = shutil.which("civis-mcp")
    if on_path is None or Path(on_path).resolve() != Path(command[0]).resolve():
        doctor.report(
            "warn",
            "path",
            "`civis-mcp` on PATH is "
            + (f"another install ({on_path})" if on_path else "not found")
            + ": give clients the absolute path, as the configurations below do.",
        )


def _describe(settings: Settings) -> str:
    parts = [f"endpoint {settings.api_endpoint}", "key set" if settings.api_key else "no key"]
    if settings.read_only:
        parts.append("read-only")
    if settings.toolsets is not None:
        parts.append(f"toolsets {','.join(sorted(settings.toolsets))}")
    if settings.tools is not None:
        parts.append(f"{len(settings.tools)} tool(s) allowed by --tools")
    if settings.allow_unconfirmed:
        parts.append(f"unconfirmed: {','.join(sorted(settings.allow_unconfirmed))}")
    if settings.audit_log is not None:
        parts.append(f"audit log {settings.audit_log}")
    return "; ".join(parts)


def _check_key(doctor: Doctor, settings: Settings, sandbox: bool) -> None:
    if settings.api_key is None:
        doctor.report("FAIL", "key", f"CIVIS_API_KEY is not set, so every tool call would fail. {_KEY_HELP}")
        return
    key = settings.api_key.get_secret_value()
    redact = Redactor(key)
    endpoint = settings.api_endpoint if settings.api_endpoint.endswith("/") else settings.api_endpoint + "/"
    shown = "the embedded sandbox" if sandbox else endpoint
    try:
        response = httpx.get(
            f"{endpoint}users/me",
            auth=httpx.BasicAuth(key, ""),  # as every tool call sends it
            timeout=httpx.Timeout(min(settings.read_timeout, 30.0), connect=settings.connect_timeout),
            headers={**AGENT_HEADERS, "User-Agent": f"{AGENT_HEADERS['User-Agent']} doctor"},
            verify=tls_context(),
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        doctor.report(
            "FAIL",
            "endpoint",
            f"could not reach {shown} ({type(exc).__name__}: {one_line(redact(str(exc)), 200)}). Check "
            "CIVIS_API_ENDPOINT, the network and any proxy.",
        )
        return
    if response.status_code == 401:
        doctor.report("ok", "endpoint", f"{shown} answers")
        doctor.report(
            "FAIL",
            "key",
            "Civis rejected the key (HTTP 401): it is wrong, expired or revoked. Make a new one in Civis Platform "
            "(My Profile > API Keys) and put it in CIVIS_API_KEY.",
        )
        return
    me = _json_object(response) if response.status_code == 200 else None
    if me is None:
        doctor.report(
            "FAIL",
            "endpoint",
            f"{shown} answered GET /users/me with HTTP {response.status_code}"
            f"{'' if response.status_code != 200 else ' and no JSON object'}: is CIVIS_API_ENDPOINT the Civis API "
            f"(default {DEFAULT_API_ENDPOINT})?",
        )
        return
    doctor.report("ok", "endpoint", f"{shown} answers")

    def text(name: str) -> str:
        return one_line(redact(str(me.get(name) or "?")), 80)

    doctor.report("ok", "key", f"accepted: you are {text('name')} ({text('username')}, user {text('id')})")


def _json_object(response: httpx.Response) -> dict[str, object] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _check_tools(doctor: Doctor, settings: Settings, expect: Sequence[str]) -> list[CatalogEntry]:
    catalog = profile_entries(settings)
    offered = selected_entries(settings)
    classes = Counter(entry.safety for entry in offered)
    doctor.report(
        "ok" if offered else "FAIL",
        "tools",
        f"{len(offered)} of {len(catalog)} offered ("
        + ", ".join(f"{classes[name]} {name}" for name in ("read", "write", "destructive"))
        + ")"
        + ("" if offered else ": --tools, --toolsets and --read-only leave nothing; widen them."),
    )
    reasons = Counter(reason for entry in catalog if (reason := not_offered_reason(entry.name, settings)) is not None)
    for reason, count in sorted(reasons.items()):
        doctor.report("ok", "tools", f"{count} not offered: {reason}")
    if classes["destructive"]:
        unconfirmed = ", ".join(sorted(settings.allow_unconfirmed))
        doctor.report(
            "ok",
            "confirm",
            f"{classes['destructive']} destructive tool(s) ask a human first: use {confirming_clients_phrase()}; "
            "other clients get a refusal (use --read-only there)"
            + (f". Running WITHOUT confirmation: {unconfirmed}" if unconfirmed else ""),
        )
    names = {entry.name for entry in load_catalog()}
    for name in expect:
        if name not in names:
            doctor.report("FAIL", "expect", f"{name} is not a civis-mcp tool; `civis-mcp tools` lists them.")
        elif (reason := not_offered_reason(name, settings)) is not None:
            doctor.report("FAIL", "expect", f"{name} is switched off: {reason}.")
        else:
            doctor.report("ok", "expect", f"{name} is offered")
    return offered


def _check_handshake(doctor: Doctor, command: list[str], expected: int) -> None:
    """Start the server with the very command a client will run, over stdio, and list its tools."""
    from mcp import Client, StdioServerParameters

    async def handshake() -> int:
        params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
        with open(os.devnull, "w") as quiet, anyio.fail_after(_HANDSHAKE_TIMEOUT):
            from mcp.client.stdio import stdio_client

            async with Client(stdio_client(params, errlog=quiet)) as client:
                return len((await client.list_tools()).tools)

    try:
        listed = anyio.run(handshake)
    except BaseException as exc:  # a failed start arrives as a group from the client's task group
        if isinstance(exc, KeyboardInterrupt):
            raise
        doctor.report(
            "FAIL",
            "mcp",
            f"`{' '.join(command)}` did not complete an MCP handshake ({type(exc).__name__}); run it by hand to "
            "see its error.",
        )
        return
    status: Status = "ok" if listed == expected else "FAIL"
    doctor.report(status, "mcp", f"`{' '.join(command)}` answers over stdio and lists {listed} tools")


def _print_configurations(out: TextIO, command: list[str], settings: Settings | Exception, sandbox: bool) -> None:
    env: dict[str, str] = {}
    if not sandbox:
        env["CIVIS_API_KEY"] = KEY_PLACEHOLDER
        if isinstance(settings, Settings) and settings.api_endpoint != DEFAULT_API_ENDPOINT:
            env["CIVIS_API_ENDPOINT"] = settings.api_endpoint
    out.write(
        "\nConfigurations for this install (paste one; "
        + ("the sandbox needs no key" if sandbox else f"replace {KEY_PLACEHOLDER} with your key")
        + "):\n"
    )
    for client in CLIENTS:
        confirm = "can confirm destructive calls"
        configured = command
        if not client.can_confirm:  # it would refuse every destructive call: offer it only what it can do
            confirm = "cannot confirm destructive calls, so this configuration is --read-only"
            configured = command if "--read-only" in command else [*command, "--read-only"]
        out.write(f"\n== {client.name} ({confirm}) ==\n")
        out.write(f"   where: {client.windows_config_file if os.name == 'nt' else client.config_file}; then ")
        out.write(f"{client.reload}\n")
        out.write(stdio_configuration(client, configured, env) + "\n")
    url = "http://127.0.0.1:8000/mcp"
    out.write(
        f"\nOver HTTP instead: start `{' '.join(command)} --http 127.0.0.1:8000` yourself (with the key in its "
        f"environment), then point the client at {url}:\n"
    )
    for client in CLIENTS:
        configuration = http_configuration(client, url)
        out.write(f"\n== {client.name} over HTTP ==\n{configuration or 'not from its configuration file: use stdio'}\n")
