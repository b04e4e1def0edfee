"""How civis-mcp's own HTTP clients to the outside are made: one TLS context per process, one identity.

httpx builds a new TLS context, loading the whole CA bundle, for each client it creates: about 20 ms of CPU each
time. civis-mcp opens a client per server, per key check and per upload; sharing one context makes that cost a
one-off. The context is built on first use with httpx's own defaults (certifi, or ``SSL_CERT_FILE`` /
``SSL_CERT_DIR``).
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import httpx

from civis_mcp import __version__

__all__ = ["AGENT_HEADERS", "outbound_client", "tls_context"]

AGENT_HEADERS = {"User-Agent": f"civis-mcp/{__version__}", "Accept": "application/json"}
"""What every request civis-mcp makes says about itself, and that it wants JSON back."""


@cache
def tls_context() -> ssl.SSLContext:
    """The process's shared client TLS context (verifying, as httpx's default is)."""
    return httpx.create_ssl_context()


def outbound_client(
    *, transport: httpx.AsyncBaseTransport | None = None, timeout: httpx.Timeout | None = None, **more: Any
) -> httpx.AsyncClient:
    """A client for a service civis-mcp calls on its own (Civis's ``/users/me``, an identity provider): the shared
    TLS context, civis-mcp's headers, 10 s to answer (5 to connect) unless told, and no redirects followed (an
    answer that moves is an error, never a hop to somewhere else). ``transport`` replaces the network, for tests."""
    return httpx.AsyncClient(
        timeout=timeout or httpx.Timeout(10.0, connect=5.0),
        headers=AGENT_HEADERS,
        transport=transport,
        verify=tls_context(),
        follow_redirects=False,
        **more,
    )
