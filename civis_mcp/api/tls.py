"""One TLS context for every HTTP client civis-mcp opens in a process.

httpx builds a new context, loading the whole CA bundle, for each client it creates: about 20 ms of CPU each time.
civis-mcp opens a client per server, per key check and per upload; sharing one context makes that cost a one-off.
The context is built on first use with httpx's own defaults (certifi, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``).
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    """The process's shared client TLS context (verifying, as httpx's default is)."""
    return httpx.create_ssl_context()
