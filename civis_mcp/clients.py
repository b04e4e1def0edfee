"""The MCP clients civis-mcp is used from: where each keeps its configuration, whether it can confirm a destructive
call, and the configuration to paste into it.

Destructive tools ask a human through MCP elicitation (see ``guard``). A client that cannot answer elicitation gets a
refusal instead: for those, the README's client matrix and ``civis-mcp doctor`` point to the read-only profile or to
an operator's ``--allow-unconfirmed`` with an audit log. ``CONFIRMING_CLIENTS`` and ``NON_CONFIRMING_CLIENTS`` are the
names to use wherever that is said (the refusal message included); the README's matrix is checked against them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CLIENTS",
    "CONFIRMING_CLIENTS",
    "NON_CONFIRMING_CLIENTS",
    "Client",
    "confirming_clients_phrase",
    "http_configuration",
    "stdio_configuration",
]

KEY_PLACEHOLDER = "your-civis-api-key"


Style = Literal["command", "vscode", "mcpServers", "inspector"]
"""How the configuration is written: a ``claude mcp add`` command, VS Code's ``servers``, the ``mcpServers`` JSON
most clients share, or the inspector's command line."""


@dataclass(frozen=True)
class Client:
    name: str
    style: Style
    can_confirm: bool
    """Answers MCP elicitation, so destructive tools can ask its user to confirm."""
    config_file: str
    """Where the configuration goes (macOS and Linux; Windows in ``windows_config_file``)."""
    windows_config_file: str
    reload: str
    """What makes the client read a changed configuration."""
    http: bool = True
    """Can connect to ``civis-mcp serve --http`` from its configuration."""


CLIENTS: tuple[Client, ...] = (
    Client(
        "Claude Code",
        style="command",
        can_confirm=True,
        config_file="`claude mcp add` (stored in ~/.claude.json, or .mcp.json with --scope project)",
        windows_config_file="`claude mcp add` (stored in %USERPROFILE%\\.claude.json)",
        reload="start a new session; `/mcp` shows the server",
    ),
    Client(
        "VS Code",
        style="vscode",
        can_confirm=True,
        config_file=".vscode/mcp.json in the workspace (or MCP: Open User Configuration)",
        windows_config_file=".vscode\\mcp.json in the workspace",
        reload="MCP: List Servers > civis > Restart",
    ),
    Client(
        "Cursor",
        style="mcpServers",
        can_confirm=True,
        config_file="~/.cursor/mcp.json (or .cursor/mcp.json in a project)",
        windows_config_file="%USERPROFILE%\\.cursor\\mcp.json",
        reload="restart Cursor, or toggle the server in Settings > MCP",
    ),
    Client(
        "MCP Inspector",
        style="inspector",
        can_confirm=True,
        config_file="the command line: npx @modelcontextprotocol/inspector <command> (Node 22.19 or newer)",
        windows_config_file="the same command line",
        reload="run it again",
    ),
    Client(
        "Claude Desktop",
        style="mcpServers",
        can_confirm=False,
        config_file="~/Library/Application Support/Claude/claude_desktop_config.json (macOS)",
        windows_config_file="%APPDATA%\\Claude\\claude_desktop_config.json",
        reload="quit it completely (also from the menu bar or tray) and open it again",
        http=False,
    ),
)

CONFIRMING_CLIENTS: tuple[str, ...] = tuple(client.name for client in CLIENTS if client.can_confirm)
"""Clients that answer MCP elicitation: a destructive call asks their user to confirm."""
NON_CONFIRMING_CLIENTS: tuple[str, ...] = tuple(client.name for client in CLIENTS if not client.can_confirm)
"""Clients that cannot answer it today: every destructive call is refused there, nothing is sent."""


def confirming_clients_phrase() -> str:
    """``"Claude Code, VS Code, Cursor or MCP Inspector"``: for sentences such as a refusal."""
    *rest, last = CONFIRMING_CLIENTS
    return f"{', '.join(rest)} or {last}" if rest else last


def stdio_configuration(client: Client, command: Sequence[str], env: dict[str, str]) -> str:
    """What to paste into ``client`` to start civis-mcp over stdio: ``command`` is the program and its arguments
    (``serve`` ...); ``env`` the variables to set (values as they should appear, placeholders for secrets)."""
    program, *arguments = command
    if client.style == "command":
        flags = "".join(f" --env {name}={value}" for name, value in env.items())
        return f"claude mcp add civis{flags} -- {_shell(command)}"
    if client.style == "inspector":
        assignments = "".join(f" -e {name}={value}" for name, value in env.items())
        return f"npx @modelcontextprotocol/inspector{assignments} {_shell(command)}"
    server: dict[str, object] = {"command": program, "args": arguments}
    if client.style == "vscode":
        server = {"type": "stdio", **server}
        if KEY_PLACEHOLDER in env.values():  # VS Code asks for the key once and keeps it in its secret storage
            env = {name: "${input:civis-api-key}" if value == KEY_PLACEHOLDER else value for name, value in env.items()}
            prompt = {"type": "promptString", "id": "civis-api-key", "description": "Civis API key", "password": True}
            return _json({"inputs": [prompt], "servers": {"civis": {**server, "env": env}}})
        return _json({"servers": {"civis": {**server, **({"env": env} if env else {})}}})
    return _json({"mcpServers": {"civis": {**server, **({"env": env} if env else {})}}})


def http_configuration(client: Client, url: str) -> str | None:
    """What to paste into ``client`` to reach ``civis-mcp serve --http`` at ``url``; None when it cannot."""
    if not client.http:
        return None
    if client.style == "command":
        return f"claude mcp add --transport http civis {url}"
    if client.style == "inspector":
        return f"npx @modelcontextprotocol/inspector {url}"
    if client.style == "vscode":
        return _json({"servers": {"civis": {"type": "http", "url": url}}})
    return _json({"mcpServers": {"civis": {"url": url}}})


def _json(value: object) -> str:
    return json.dumps(value, indent=2)


def _shell(words: Sequence[str]) -> str:
    """Words for a POSIX shell or PowerShell command line: quoted only when they need it."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,\\")
    return " ".join(word if word and set(word) <= safe else "'" + word.replace("'", "'\"'\"'") + "'" for word in words)
