"""The audit log: JSON lines for every write and guarded call, confirmed or refused.

A call that writes leaves two lines: an ``intent`` line before the request is sent and an ``outcome`` line after
(with the upstream status), so a crash between the two still shows what was about to happen. A refused call leaves
one ``refused`` line. Each line holds the UTC time, the phase, the tool, its arguments (secrets redacted, long values
cut), the decision and any detail; a line never exceeds ``MAX_LINE`` bytes. The file is created readable by its owner
only (0600). A line that cannot be written is logged; with ``required`` set, a write whose intent line cannot be
written is refused instead of sent.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from civis_mcp.api.redaction import REDACTED, Redactor

__all__ = ["MAX_LINE", "AuditLog", "Decision", "Phase"]

MAX_LINE = 8_192
"""Bytes one audit line may take; longer arguments are cut (``…``) and then dropped, never the decision."""
_MAX_VALUE = 500

logger = logging.getLogger("civis_mcp.audit")

# Argument names whose values are never written, whatever the tool (e-mail bodies can carry anything).
_SENSITIVE_NAMES = ("password", "secret", "token", "api_key", "email_body", "share_email_body")


class Decision(StrEnum):
    """Why a guarded or audited call went ahead, or why it did not."""

    NOT_GUARDED = "not_guarded"  # a write tool without an effect policy: no confirmation is asked
    NO_EFFECT = "no_effect"  # a guarded tool whose assessment found no effect for this call
    CONFIRMED = "confirmed"  # the human said yes through the client
    ALLOWED_UNCONFIRMED = "allowed_unconfirmed"  # the operator allowed this tool without confirmation
    DECLINED = "declined"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    NO_ELICITATION = "no_elicitation"  # the client cannot ask a human
    NOTHING_TO_DO = "nothing_to_do"  # the preview showed there was nothing to change (e.g. the run already ended)
    TARGET_CHANGED = "target_changed"  # the target changed between the preview and the yes
    PREVIEW_FAILED = "preview_failed"  # the live state could not be read, so nothing could be shown
    INVALID_ARGUMENTS = "invalid_arguments"
    ALREADY_USED = "already_used"  # a replayed confirmation round: its ticket was spent
    CONFIRMATION_UNAVAILABLE = "confirmation_unavailable"  # hosted: the shared ticket store cannot be reached
    CLIENT_FAILED = "client_failed"  # the client, not the human, failed to answer (error, empty or malformed answer)
    NOT_PERMITTED = "not_permitted"  # the caller's level on the import is below what the call needs
    TOO_LONG_TO_CONFIRM = "too_long_to_confirm"  # what the call does is too long to show in full
    NOT_OFFERED = "not_offered"  # the tool is switched off on this server
    AUDIT_FAILED = "audit_failed"  # --audit-required and the intent line could not be written
    MALFORMED_ANSWER = "malformed_answer"  # the write went through but its answer does not fit the documented one


class Phase(StrEnum):
    INTENT = "intent"  # about to send the write
    OUTCOME = "outcome"  # the write was sent; its upstream status (or error)
    REFUSED = "refused"  # nothing was sent


@dataclass(frozen=True)
class AuditLog:
    """Appends audit lines to ``path``; thread-safe within one process."""

    path: Path
    redact: Redactor
    required: bool = False
    """Refuse a write whose intent line cannot be written (``--audit-required``)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def check_writable(self) -> None:
        """Raise ``OSError`` with the reason when the log cannot be appended to."""
        self._append(b"")

    def record(
        self,
        tool: str,
        arguments: dict[str, Any],
        decision: Decision,
        status: int | None = None,
        detail: str | None = None,
        phase: Phase = Phase.REFUSED,
    ) -> bool:
        """Append one line; False when it could not be written (the reason is logged)."""
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "phase": phase.value,
            "tool": tool,
            "arguments": self._clean(arguments),
            "decision": decision.value,
            "upstream_status": status,
        }
        if detail:
            entry["detail"] = _cut(self.redact(detail), 2_000)
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str).encode()
        if len(line) > MAX_LINE:
            entry["arguments"] = "(left out: longer than an audit line may be)"
            line = json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str).encode()
        try:
            self._append(line + b"\n")
        except OSError as exc:
            logger.error("could not write the audit line for %s to %s: %s", tool, self.path, exc)
            return False
        return True

    def _append(self, data: bytes) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # 0600 at creation: arguments name people, tables and hosts.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if data:
                    os.write(fd, data)
            finally:
                os.close(fd)

    def _clean(self, value: Any, key: str = "", depth: int = 0) -> Any:
        if depth > 20:
            return "(nested too deep)"
        if any(name in key.lower() for name in _SENSITIVE_NAMES):
            return REDACTED
        if isinstance(value, dict):
            return {_cut(str(k), 100): self._clean(v, str(k), depth + 1) for k, v in list(value.items())[:100]}
        if isinstance(value, list):
            return [self._clean(item, key, depth + 1) for item in value[:100]]
        if isinstance(value, str):
            return _cut(self.redact(value), _MAX_VALUE)
        return value


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
