"""The audit log: one JSON line per write or destructive call, confirmed or refused.

Each line holds the UTC time, the tool, its arguments (secrets redacted), the decision (who allowed it, or why it was
refused) and the upstream HTTP status when a request was sent. Writing a line never breaks the call: a failure is
logged and the call goes on. A path that cannot be written is reported when the server starts.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from civis_mcp.api.redaction import REDACTED, Redactor

__all__ = ["AuditLog", "Decision"]

logger = logging.getLogger("civis_mcp.audit")

# Argument names whose values are never written, whatever the tool (e-mail bodies can carry anything).
_SENSITIVE_NAMES = ("password", "secret", "token", "api_key", "email_body", "share_email_body")


class Decision(StrEnum):
    """Why a guarded or audited call went ahead, or why it did not."""

    NOT_GUARDED = "not_guarded"  # a write tool: no confirmation is asked
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


@dataclass(frozen=True)
class AuditLog:
    """Appends audit lines to ``path``; thread-safe within one process."""

    path: Path
    redact: Redactor
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def check_writable(self) -> None:
        """Raise ``OSError`` with the reason when the log cannot be appended to."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8"):
            pass

    def record(
        self,
        tool: str,
        arguments: dict[str, Any],
        decision: Decision,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "tool": tool,
            "arguments": self._clean(arguments),
            "decision": decision.value,
            "upstream_status": status,
        }
        if detail:
            entry["detail"] = self.redact(detail)
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
        except OSError as exc:
            logger.error("could not write the audit line for %s to %s: %s", tool, self.path, exc)

    def _clean(self, value: Any, key: str = "") -> Any:
        if any(name in key.lower() for name in _SENSITIVE_NAMES):
            return REDACTED
        if isinstance(value, dict):
            return {k: self._clean(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._clean(item, key) for item in value]
        if isinstance(value, str):
            return self.redact(value)
        return value
