"""What the server's lifespan owns and every tool call reaches through its context.

Kept apart from the tools and models so that starting the server (and answering the first ``tools/list``) imports
neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civis_mcp.api.client import CivisClient
from civis_mcp.api.trace import note_decision
from civis_mcp.audit import AuditLog, Decision, Phase
from civis_mcp.config import DEFAULT_FILE_MAX_BYTES, DEFAULT_FILE_TYPES, Settings
from civis_mcp.confirmations import ConfirmationStore, MemoryConfirmationStore

if TYPE_CHECKING:
    from civis_mcp.operations import Operation

__all__ = ["DEFAULT_BUDGET", "AppState", "GuardPolicy", "LocalFilePolicy"]

DEFAULT_BUDGET = 20_000


@dataclass(frozen=True, kw_only=True)
class GuardPolicy:
    """How destructive calls are confirmed; see ``guard``."""

    allow_unconfirmed: frozenset[str] = frozenset()
    """Tools an operator allowed to run without a human's yes (never a default)."""
    confirm_timeout: float = 300.0
    """Seconds to wait for the human's answer before refusing."""


@dataclass(frozen=True, kw_only=True)
class LocalFilePolicy:
    """Which local files ``imports_load_file`` may read besides the client's MCP roots (``workflows.local_files``)."""

    enabled: bool = True
    """False when the server is reached over HTTP: a remote caller never gets the server's disk."""
    directories: tuple[Path, ...] = ()
    """The operator's ``--allow-files`` directories."""
    max_bytes: int = DEFAULT_FILE_MAX_BYTES
    types: frozenset[str] = DEFAULT_FILE_TYPES


@dataclass(frozen=True, kw_only=True)
class AppState:
    client: CivisClient
    policy: GuardPolicy = field(default_factory=GuardPolicy)
    audit: AuditLog | None = None
    result_budget: int = DEFAULT_BUDGET
    """JSON characters one tool result may take; see ``results.bound``."""
    confirmations: ConfirmationStore = field(default_factory=MemoryConfirmationStore)
    """Where confirmation tickets are spent, once each; see ``guard``."""
    local_files: LocalFilePolicy = field(default_factory=LocalFilePolicy)
    settings: Settings = field(default_factory=Settings)
    """The operator's settings; a request may narrow them (``profiles.narrow``), e.g. what the gateway reaches."""

    def record(
        self,
        op: Operation,
        arguments: dict[str, Any],
        decision: Decision,
        status: int | None = None,
        detail: str | None = None,
        phase: Phase = Phase.REFUSED,
    ) -> bool:
        """Write an audit line; False only when a required audit log could not take it (then nothing is sent)."""
        note_decision(decision.value)  # for the hosted mode's per-call log line
        if self.audit is None:
            return True
        written = self.audit.record(op.tool_name, arguments, decision, status, detail, phase)
        return written or not self.audit.required
