"""httpx for the servers the tests start on 127.0.0.1, sharing the process's one TLS context.

Plain HTTP on loopback never uses TLS, but httpx builds a context for every client it makes (``httpx.get`` makes a
client per call), loading the whole CA bundle: about 20 ms of CPU each, and the tests' polling loops and per-test
clients made thousands. Verification stays on; only the loading is shared (``civis_mcp.api.tls``).
"""

from __future__ import annotations

from typing import Any

import httpx

from civis_mcp.api.tls import tls_context


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, verify=tls_context(), **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, verify=tls_context(), **kwargs)


def put(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.put(url, verify=tls_context(), **kwargs)


def client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(verify=tls_context(), **kwargs)


def async_client(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=tls_context(), **kwargs)
