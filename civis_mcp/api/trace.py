"""What one tool call did, gathered while it runs, for its log line (``hosted.calls``).

The hosted mode's call middleware opens a ``CallTrace`` for each ``tools/call``; the Civis client notes each answer's
status and request id in it, and the guard's audit notes its decision. Outside a traced call, noting does nothing.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["CallTrace", "current_trace", "end_trace", "note_decision", "note_upstream", "traced"]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,80}")
"""What a request id from upstream may look like to be logged; anything else is dropped (it is upstream text)."""


@dataclass
class CallTrace:
    upstream_status: int | None = None
    civis_request_id: str | None = None
    upstream_calls: int = 0
    decision: str | None = None


_current: ContextVar[CallTrace | None] = ContextVar("civis_mcp_call_trace", default=None)


def traced() -> tuple[CallTrace, object]:
    """Start tracing a call: its trace, and the token that ``_current.reset`` takes to end it."""
    trace = CallTrace()
    return trace, _current.set(trace)


def end_trace(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def current_trace() -> CallTrace | None:
    return _current.get()


def note_upstream(status: int, request_id: str | None) -> None:
    trace = _current.get()
    if trace is None:
        return
    trace.upstream_status = status
    trace.upstream_calls += 1
    if request_id is not None:
        trace.civis_request_id = request_id if _REQUEST_ID.fullmatch(request_id) else None


def note_decision(decision: str) -> None:
    trace = _current.get()
    if trace is not None:
        trace.decision = decision
