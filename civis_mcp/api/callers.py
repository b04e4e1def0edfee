"""Whose Civis key a request uses, in the hosted mode where every caller brings their own (``--auth civis-key``).

The HTTP layer (``hosted.auth``) checks the caller's key and sets it here for the request; the SDK carries context
variables from the HTTP request into the tool's task, so every Civis call of that request reads the same key through
``CallerAuth``. Nothing falls back to another key: a call made without a caller is refused, never sent.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import httpx

from civis_mcp.api.redaction import Redactor

__all__ = ["CALLER_KEYS", "Caller", "CallerAuth", "as_caller", "current_caller", "key_digest"]

CALLER_KEYS = Redactor(None)
"""Every caller key this process has checked: the redactor of tool results and of every log line in hosted mode."""


@dataclass(frozen=True)
class Caller:
    """The Civis user a request acts for, and their key (never in a repr)."""

    user_id: int
    key: str = field(repr=False)

    @property
    def principal(self) -> str:
        """A stable name for logs and limits: a hash of the user id, so logs do not list who used the service."""
        return hashlib.sha256(f"civis-user:{self.user_id}".encode()).hexdigest()[:16]


_current: ContextVar[Caller | None] = ContextVar("civis_mcp_caller", default=None)


def current_caller() -> Caller | None:
    return _current.get()


@contextmanager
def as_caller(caller: Caller) -> Iterator[None]:
    """Run a block (one HTTP request) as ``caller``."""
    CALLER_KEYS.remember(caller.key)
    token = _current.set(caller)
    try:
        yield
    finally:
        _current.reset(token)


def key_digest(key: str) -> str:
    """What caches and logs may hold instead of a key."""
    return hashlib.sha256(b"civis-mcp/key:" + key.encode()).hexdigest()


class CallerAuth(httpx.Auth):
    """HTTP Basic with the current caller's key (``<key>:``, as Civis takes it). Without a caller, nothing is sent."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        caller = _current.get()
        if caller is None:
            raise RuntimeError("no caller is set for this request; refusing to call Civis without the caller's key")
        token = base64.b64encode(f"{caller.key}:".encode()).decode()
        request.headers["Authorization"] = f"Basic {token}"
        yield request
