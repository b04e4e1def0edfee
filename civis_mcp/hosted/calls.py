"""Around every ``tools/call`` over HTTP: the caller's rate limit (with ``--auth civis-key``, where each caller is
known), one JSON log line, one duration metric.

The log line says when, which replica, which tool, whose call (a hash of the Civis user id), what was decided, the
last upstream status and Civis request id, and how long it took. It never holds a key or the call's arguments.
The duration goes to the OpenTelemetry histogram ``mcp.server.operation.duration`` (seconds), recorded through the
OpenTelemetry API: it goes nowhere until the OpenTelemetry SDK is installed (``pip install 'civis-mcp[otel]'``)
and a meter provider configured (for example with ``opentelemetry-instrument``).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CallToolResult, TextContent
from mcp_types.methods import is_input_required
from opentelemetry import metrics

from civis_mcp.api.callers import current_caller
from civis_mcp.api.trace import end_trace, traced
from civis_mcp.hosted.limits import RateLimiter

__all__ = ["CallMiddleware"]

call_log = logging.getLogger("civis_mcp.calls")
_TOOL_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_duration = metrics.get_meter("civis_mcp").create_histogram(
    "mcp.server.operation.duration", unit="s", description="Duration of MCP tool calls served by civis-mcp"
)


class CallMiddleware:
    def __init__(self, limiter: RateLimiter | None, replica: str) -> None:
        self._limiter = limiter
        self._replica = replica

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        raw_name = (ctx.params or {}).get("name")
        # The name is the client's text: logged only when it looks like a tool name.
        tool = raw_name if isinstance(raw_name, str) and _TOOL_NAME.fullmatch(raw_name) else "(not a tool name)"
        caller = current_caller()
        principal = caller.principal if caller is not None else "server-key"
        started = time.perf_counter()
        trace, token = traced()
        result: HandlerResult = None
        error: str | None = None
        try:
            verdict = await self._limiter.hit(principal) if self._limiter is not None else None
            if verdict is not None and not verdict.allowed:
                trace.decision = "rate_limited"
                result = CallToolResult(
                    content=[
                        TextContent(
                            type="text",
                            text=f"{tool} was not run: you made more than {verdict.limit} tool calls in "
                            f"this minute, the limit per user of this civis-mcp service. Nothing was sent to Civis. "
                            f"Retry in {verdict.retry_after} s.",
                        )
                    ],
                    is_error=True,
                )
                return result
            result = await call_next(ctx)
            return result
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            end_trace(token)
            seconds = time.perf_counter() - started
            decision = trace.decision or _outcome(result, error)
            call_log.info(
                "tool call",
                extra={
                    "call": {
                        "replica": self._replica,
                        "tool": tool,
                        "principal": principal,
                        "decision": decision,
                        "upstream_status": trace.upstream_status,
                        "upstream_calls": trace.upstream_calls,
                        "civis_request_id": trace.civis_request_id,
                        "latency_ms": round(seconds * 1000, 1),
                    }
                },
            )
            attributes = {"mcp.method.name": "tools/call", "gen_ai.tool.name": tool}
            if error is not None or decision in ("error", "rate_limited"):
                attributes["error.type"] = error or decision
            _duration.record(seconds, attributes)


def _outcome(result: HandlerResult, error: str | None) -> str:
    if error is not None:
        return "failed"
    if result is not None and is_input_required(result):
        return "asked"
    failed = result.get("isError") if isinstance(result, dict) else getattr(result, "is_error", False)
    return "error" if failed else "ok"
