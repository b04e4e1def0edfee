"""Settings, read once from the environment (and overridden by command-line flags in ``cli``)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

DEFAULT_API_ENDPOINT = "https://api.civisanalytics.com/"
DEFAULT_FILE_MAX_BYTES = 1024**3
DEFAULT_FILE_TYPES = frozenset({"csv", "tsv", "txt", "psv", "csv.gz", "tsv.gz", "txt.gz", "psv.gz"})
"""File name endings ``imports_load_file`` reads by default (compared in lower case)."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the server needs to talk to Civis. The key is a ``SecretStr`` so a repr never shows it."""

    api_key: SecretStr | None = field(default=None, repr=False)
    api_endpoint: str = DEFAULT_API_ENDPOINT
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retry_budget: float = 60.0
    """Seconds that one tool call may spend waiting between retries, in total."""
    max_attempts: int = 6
    call_deadline: float = 60.0
    """Seconds one call to Civis may take in all, its retries and the waits between them included."""
    breaker_failures: int = 5
    """Calls to Civis failing in a row (no answer, or a 5xx status) after which calls are paused."""
    breaker_cooldown: float = 30.0
    """Seconds calls stay paused once ``breaker_failures`` is reached; they are refused at once meanwhile."""
    read_only: bool = False
    """Offer only read tools; write and destructive tools are neither listed nor callable."""
    profile: str = "full"
    """Which tools are listed: ``full``, ``read-only`` or ``compact`` (see ``profiles``; checked at start-up)."""
    toolsets: frozenset[str] | None = None
    """Offer only the tools of these toolsets (None: all)."""
    tools: frozenset[str] | None = None
    """Offer only these tools (None: all)."""
    allow_unconfirmed: frozenset[str] = frozenset()
    """Destructive tools an operator allows to run without a human's confirmation."""
    confirm_timeout: float = 300.0
    audit_log: Path | None = None
    audit_required: bool = False
    """Refuse a write whose audit intent line cannot be written (needs ``audit_log``)."""
    result_budget: int = 20_000
    """JSON characters one tool result may take before it is cut (and says how to get the rest)."""
    transport: Literal["stdio", "http"] = "stdio"
    """How the server is reached. Over HTTP the caller is remote, so no tool reads the server's own disk."""
    allow_files: tuple[Path, ...] = ()
    """Directories an operator lets ``imports_load_file`` read, besides the client's MCP roots (``--allow-files``)."""
    file_max_bytes: int = DEFAULT_FILE_MAX_BYTES
    """The largest local file ``imports_load_file`` uploads."""
    file_types: frozenset[str] = DEFAULT_FILE_TYPES
    """File name endings (without the first dot, lower case) ``imports_load_file`` accepts."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        key = env.get("CIVIS_API_KEY", "").strip()
        return cls(
            api_key=SecretStr(key) if key else None,
            api_endpoint=env.get("CIVIS_API_ENDPOINT", "").strip() or DEFAULT_API_ENDPOINT,
            connect_timeout=_float(env, "CIVIS_MCP_CONNECT_TIMEOUT", 10.0),
            read_timeout=_float(env, "CIVIS_MCP_READ_TIMEOUT", 60.0),
            retry_budget=_float(env, "CIVIS_MCP_RETRY_BUDGET", 60.0),
            call_deadline=_float(env, "CIVIS_MCP_CALL_DEADLINE", 60.0),
            breaker_failures=_count(env, "CIVIS_MCP_BREAKER_FAILURES", 5),
            breaker_cooldown=_float(env, "CIVIS_MCP_BREAKER_COOLDOWN", 30.0),
            read_only=_flag(env, "CIVIS_MCP_READ_ONLY"),
            profile=env.get("CIVIS_MCP_PROFILE", "").strip().lower() or "full",
            toolsets=_names(env, "CIVIS_MCP_TOOLSETS"),
            tools=_names(env, "CIVIS_MCP_TOOLS"),
            allow_unconfirmed=_names(env, "CIVIS_MCP_ALLOW_UNCONFIRMED") or frozenset(),
            confirm_timeout=_float(env, "CIVIS_MCP_CONFIRM_TIMEOUT", 300.0),
            audit_log=Path(env["CIVIS_MCP_AUDIT_LOG"]) if env.get("CIVIS_MCP_AUDIT_LOG", "").strip() else None,
            audit_required=_flag(env, "CIVIS_MCP_AUDIT_REQUIRED"),
            result_budget=_budget(env, "CIVIS_MCP_RESULT_BUDGET", 20_000),
            allow_files=split_paths(env.get("CIVIS_MCP_ALLOW_FILES", "")),
            file_max_bytes=_bytes(env, "CIVIS_MCP_FILE_MAX_BYTES", DEFAULT_FILE_MAX_BYTES),
            file_types=split_file_types(env.get("CIVIS_MCP_FILE_TYPES", "")) or DEFAULT_FILE_TYPES,
        )


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}.") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be greater than 0, got {raw!r}.")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {raw!r}.")
    return int(raw)


def _bytes(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a whole number of bytes greater than 0, got {raw!r}.")
    return int(raw)


MIN_RESULT_BUDGET = 2_000
"""Below this, a result cannot keep even its identifying fields and the note saying what was cut."""


def _budget(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ValueError(
            f"{name} must be a whole number of characters (the JSON size one tool result may take), got {raw!r}; "
            f"the default is {default}."
        ) from None
    if value < MIN_RESULT_BUDGET:
        raise ValueError(f"{name} must be at least {MIN_RESULT_BUDGET} characters, got {raw!r}.")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be true or false, got {raw!r}.")


def _names(env: Mapping[str, str], name: str) -> frozenset[str] | None:
    """A comma-separated list; None when the variable is unset or empty."""
    return split_names(env.get(name, ""))


def split_names(raw: str) -> frozenset[str] | None:
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    return names or None


def split_paths(raw: str) -> tuple[Path, ...]:
    """Directories separated by the platform's path separator (``:`` on Unix), as in ``PATH``; ``~`` is expanded."""
    return tuple(Path(part.strip()).expanduser() for part in raw.split(os.pathsep) if part.strip())


def split_file_types(raw: str) -> frozenset[str] | None:
    """Comma-separated file name endings such as ``csv,tsv.gz`` (a leading dot is allowed); None when empty."""
    names = split_names(raw.lower())
    return frozenset(name.lstrip(".") for name in names) if names else None
